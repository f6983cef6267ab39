"""Policies for the multi-agent synapse env (docs/synapse_multi.md): one policy per synapse group."""
