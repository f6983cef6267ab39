"""Agents of the synapse-plasticity environments: the shared per-synapse policy and reference rules."""
