"""Multi-agent synapse plasticity (docs/synapse_multi.md) as PettingZoo ``ParallelEnv``\\ s:

* :mod:`~envs.synapse_multi.env`: every synapse group is an agent (``parallel_env`` / ``env`` / ``raw_env``);
* :mod:`~envs.synapse_multi.event_agents`: every event slot of a step is an agent with its own reward share
  (per-event credit; ``grad_mimicry``) or the shared image reward (``semi``);
* :mod:`~envs.synapse_multi.vec_adapter`: a ``ParallelEnv`` as an SB3 ``VecEnv`` (one slot per agent).

``MULTI_AGENT_ENVS`` maps the ids that ``train/run.py`` accepts to the module of their ``parallel_env`` factory
and its default arguments (PettingZoo envs are not Gymnasium envs, so they are not in ``gymnasium.registry``).
"""

import importlib

MULTI_AGENT_ENVS: dict[str, tuple[str, dict]] = {
    "SynapseMultiUnsup-v0": ("envs.synapse_multi.env", {"scenario": "unsup_single"}),
    "SynapseGradMimicryPerEvent-v0": ("envs.synapse_multi.event_agents", {"scenario": "grad_mimicry"}),
    "SynapseSemiPerEvent-v0": ("envs.synapse_multi.event_agents", {"scenario": "semi"}),
}


def multi_agent_kwargs(env_id: str, env_kwargs: dict | None = None) -> dict:
    """The ``parallel_env`` arguments of ``env_id``: its defaults updated with ``env_kwargs``."""
    if env_id not in MULTI_AGENT_ENVS:
        raise ValueError(f"env_id={env_id!r} is not a multi-agent id; allowed: {', '.join(MULTI_AGENT_ENVS)}")
    return {**MULTI_AGENT_ENVS[env_id][1], **(env_kwargs or {})}


def make_multi_agent_env(env_id: str, env_kwargs: dict | None = None):
    """One ``ParallelEnv`` of a multi-agent id (its defaults updated with ``env_kwargs``)."""
    kwargs = multi_agent_kwargs(env_id, env_kwargs)
    return importlib.import_module(MULTI_AGENT_ENVS[env_id][0]).parallel_env(**kwargs)


def make_multi_agent_vec_env(env_id: str, n_envs: int, seed: int | None, env_kwargs: dict | None = None):
    """The SB3 ``VecEnv`` (:class:`~envs.synapse_multi.vec_adapter.ParallelVecEnv`) of a multi-agent id:
    ``n_envs`` copies of the ``ParallelEnv``, one slot per agent, copy ``c`` seeded ``seed + c``."""
    kwargs = multi_agent_kwargs(env_id, env_kwargs)
    from envs.synapse_multi.vec_adapter import make_parallel_vec_env

    factory = importlib.import_module(MULTI_AGENT_ENVS[env_id][0]).parallel_env
    return make_parallel_vec_env(factory, n_envs, seed, **kwargs)
