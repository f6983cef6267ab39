"""Synapse-plasticity environments (docs/synapse.md): the agent is a plasticity rule acting on event batches.

Modules, one job each: :mod:`~envs.synapse.data` (digits), :mod:`spiking.biophysical_lif` (neuron step),
:mod:`~envs.synapse.groups` (learnable synapse groups), :mod:`~envs.synapse.history` (spike histories),
:mod:`~envs.synapse.networks` (Diehl–Cook, LIF MLP), :mod:`~envs.synapse.teacher` (BPTT),
:mod:`~envs.synapse.events` (event extraction and observation rows), :mod:`~envs.synapse.rewards`,
:mod:`~envs.synapse.metrics`, :mod:`~envs.synapse.scenarios`, :mod:`~envs.synapse.config`,
:mod:`~envs.synapse.evaluation` and the Gymnasium env :mod:`~envs.synapse.env`.
"""

SCENARIO_IDS = {
    "unsup_single": "SynapseUnsupSingle-v0",
    "unsup_dual": "SynapseUnsupDual-v0",
    "grad_mimicry": "SynapseGradMimicry-v0",
    "semi": "SynapseSemi-v0",
}
