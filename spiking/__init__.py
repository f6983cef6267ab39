"""Spiking primitives shared by the environments and the agents: LIF neuron models, surrogate gradient, encoding.

Two neuron models, in Norse's functional style (parameters and state as named tuples, a pure step):

- :mod:`spiking.biophysical_lif`: potentials in mV and times in ms, delta-pulse synaptic input, hard reset to
  ``V_reset`` and an optional threshold offset θ (Diehl & Cook 2015); the synapse-plasticity envs' networks.
- :mod:`spiking.soft_reset_lif`: a unitless leaky integrator with a decay per step and a reset by subtraction;
  SCAL-RL's perception.

Both spike through :class:`spiking.surrogate.SuperSpike`. This package imports only torch, so wrappers, envs and
agents can all use it.
"""
