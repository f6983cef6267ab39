"""Multi-agent synapse plasticity (DESIGN §2.4, docs/synapse_multi.md): every synapse group is a PettingZoo agent.

* :mod:`~envs.synapse_multi.env`: the ``ParallelEnv`` and the ``parallel_env`` / ``env`` / ``raw_env`` factories;
* :mod:`~envs.synapse_multi.vec_adapter`: the ``ParallelEnv`` as an SB3 ``VecEnv`` (one slot per agent).

``MULTI_AGENT_ENVS`` maps the ids that ``train/run.py`` accepts to the env's default arguments (PettingZoo envs
are not Gymnasium envs, so they are not in ``gymnasium.registry``).
"""

MULTI_AGENT_ENVS: dict[str, dict] = {
    "SynapseMultiUnsup-v0": {"scenario": "unsup_single"},
}


def make_multi_agent_vec_env(env_id: str, n_envs: int, seed: int | None, env_kwargs: dict | None = None):
    """The SB3 ``VecEnv`` (:class:`~envs.synapse_multi.vec_adapter.ParallelVecEnv`) of a multi-agent id:
    ``n_envs`` copies of the ``ParallelEnv``, one slot per agent, copy ``c`` seeded ``seed + c``."""
    if env_id not in MULTI_AGENT_ENVS:
        raise ValueError(f"env_id={env_id!r} is not a multi-agent id; allowed: {', '.join(MULTI_AGENT_ENVS)}")
    from envs.synapse_multi.env import parallel_env
    from envs.synapse_multi.vec_adapter import make_parallel_vec_env

    return make_parallel_vec_env(parallel_env, n_envs, seed, **{**MULTI_AGENT_ENVS[env_id], **(env_kwargs or {})})
