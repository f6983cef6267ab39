"""Agent registry: a name resolves to a builder of an SB3 model or a non-learning reference agent."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

AgentBuilder = Callable[..., Any]


@dataclass(frozen=True)
class AgentEntry:
    """How to build and load one agent.

    Attributes:
        target: dotted path of an SB3 algorithm class or of a :class:`agents.reference.ReferenceAgent`.
        learns: False for reference agents (``learn`` is a no-op and training is skipped).
        description: one line for ``--help`` and the README.
    """

    target: str
    learns: bool
    description: str

    def resolve(self) -> Any:
        module_name, _, attribute = self.target.rpartition(".")
        return getattr(importlib.import_module(module_name), attribute)


AGENTS: dict[str, AgentEntry] = {
    "ppo": AgentEntry("stable_baselines3.PPO", True, "Proximal Policy Optimization (SB3)"),
    "a2c": AgentEntry("stable_baselines3.A2C", True, "Advantage Actor-Critic (SB3)"),
    "dqn": AgentEntry("stable_baselines3.DQN", True, "Deep Q-Network (SB3)"),
    "recurrent_ppo": AgentEntry("sb3_contrib.RecurrentPPO", True, "PPO with an LSTM policy (sb3-contrib)"),
    "ppo_fast": AgentEntry("stable_baselines3.PPO", True, "PPO with the CPU-fast Atari CNN (channels-last, bfloat16)"),
    "ppo_frontend": AgentEntry("stable_baselines3.PPO", True, "PPO on SCAL-RL's front end (4 frames, block means)"),
    "a2c_frontend": AgentEntry("stable_baselines3.A2C", True, "A2C on SCAL-RL's front end (4 frames, block means)"),
    "dqn_frontend": AgentEntry("stable_baselines3.DQN", True, "DQN on SCAL-RL's front end (4 frames, block means)"),
    "recurrent_ppo_frontend": AgentEntry(
        "sb3_contrib.RecurrentPPO", True, "RecurrentPPO on SCAL-RL's front end (4 frames, block means)"
    ),
    "ppo_frontend_history": AgentEntry(
        "stable_baselines3.PPO", True, "PPO on SCAL-RL's front end plus its last 2 actions"
    ),
    "ppo_frontend_8frames": AgentEntry(
        "stable_baselines3.PPO", True, "PPO on SCAL-RL's NoisyCartPole input: 8 frames (block means), last 8 actions"
    ),
    "scal_rl": AgentEntry(
        "stable_baselines3.PPO", True, "SCAL-RL: spiking perception, memory, UCB value (algo per env: scal_rl.yml)"
    ),
    "scal_dqn": AgentEntry("agents.scal.algorithms.SCALDQN", True, "SCAL-RL Q policy on DQN with spiking TD"),
    "scal_rl_no_prototypes": AgentEntry(
        "stable_baselines3.PPO", True, "SCAL-RL ablation: LIF neurons driven by the projection, not prototypes"
    ),
    "scal_rl_no_lif": AgentEntry(
        "stable_baselines3.PPO", True, "SCAL-RL ablation: prototype similarities as features, no LIF neurons"
    ),
    "scal_rl_no_subspace": AgentEntry("stable_baselines3.PPO", True, "SCAL-RL ablation: no principal subspace"),
    "scal_rl_no_memory": AgentEntry(
        "stable_baselines3.PPO", True, "SCAL-RL ablation: no episodic memory, spiking TD or UCB bonus"
    ),
    "scal_rl_no_frame_features": AgentEntry(
        "stable_baselines3.PPO", True, "SCAL-RL ablation: no per-frame projections (rates and potentials only)"
    ),
    "scal_rl_subspace_only": AgentEntry(
        "stable_baselines3.PPO", True, "SCAL-RL ablation: front end and subspace only (no prototypes, LIF or memory)"
    ),
    "scal_rl_no_population": AgentEntry(
        "stable_baselines3.PPO", True, "SCAL-RL ablation: no per-variable prototypes or population codes"
    ),
    "scal_rl_mlp_actor": AgentEntry(
        "stable_baselines3.PPO", True, "SCAL-RL ablation: a two-layer actor in place of NoisyCartPole's linear one"
    ),
    "scal_rl_no_history": AgentEntry(
        "stable_baselines3.PPO", True, "SCAL-RL ablation: without its last 2 actions (NoisyCartPole)"
    ),
    "scal_rl_history": AgentEntry(
        "stable_baselines3.PPO", True, "SCAL-RL that also sees its last 2 actions (the delayed ones in flight)"
    ),
    "scal_rl_stateful": AgentEntry(
        "agents.scal.stateful.SCALRecurrentPPO", True, "SCAL-RL with membranes carried across env steps (RecurrentPPO)"
    ),
    "scal_ppo": AgentEntry("stable_baselines3.PPO", True, "SCAL-RL actor-critic policy on PPO"),
    "random": AgentEntry("agents.reference.RandomAgent", False, "uniform random actions (chance level)"),
    "oracle": AgentEntry(
        "agents.noisy_pong_oracle.Oracle", False,
        "the env's oracle: NoisyCartPole (bit decoding + Kalman + LQR), NoisyPong (Bayesian tracking + intercept)",
    ),
    "pong_clean_reference": AgentEntry(
        "agents.noisy_pong_oracle.PongCleanReference", False,
        "NoisyPong oracle's controller fed true positions (clean pipeline only: flip_prob 0, obs_delay null)",
    ),
    "all_blocks": AgentEntry("agents.meta_utility.AllBlocksAgent", False, "MetaUtility: run every block"),
    "random_skip": AgentEntry(
        "agents.meta_utility.RandomSkipAgent", False, "MetaUtility: run each block with probability keep_prob"
    ),
    "confidence_exit": AgentEntry(
        "agents.meta_utility.ConfidenceExitAgent", False, "MetaUtility: early exit once confidence >= threshold"
    ),
    "stdp": AgentEntry("agents.synapse.reference.STDPAgent", False, "synapse envs: Diehl–Cook pair-based STDP"),
    "pair_rule": AgentEntry(
        "agents.synapse.pair_rule.PairRuleAgent", False,
        "synapse envs: pair-based rule, parameters learned without labels (eval/experiments/synapse_rule_search.py)",
    ),
    "zero": AgentEntry("agents.synapse.reference.ZeroAgent", False, "synapse envs: no plasticity (Δd = 0)"),
    "three_factor": AgentEntry(
        "agents.synapse.reference.ThreeFactorAgent", False, "synapse envs: Hebbian pre × third factor (teacher)"
    ),
    "true_gradient": AgentEntry(
        "agents.synapse.reference.TrueGradientAgent", False, "SynapseGradMimicry: the BPTT gradient step"
    ),
}


def register_agent(name: str, entry: AgentEntry) -> None:
    """Add an agent under ``name`` (an existing name raises ``ValueError``)."""
    if name in AGENTS:
        raise ValueError(f"agent {name!r} is already registered")
    AGENTS[name] = entry


def get_entry(name: str) -> AgentEntry:
    """The registry entry of ``name``; an unknown name raises ``ValueError`` listing the known ones."""
    if name not in AGENTS:
        raise ValueError(f"agent={name!r} is not registered; allowed: {', '.join(sorted(AGENTS))}")
    return AGENTS[name]


def make_agent(
    name: str,
    env: Any,
    hyperparams: dict[str, Any] | None = None,
    *,
    seed: int | None = None,
    tensorboard_log: str | None = None,
    device: str = "auto",
    verbose: int = 0,
) -> Any:
    """Build agent ``name`` on ``env`` with resolved ``hyperparams`` (algorithm keyword arguments).

    Example:
        >>> import gymnasium as gym, envs
        >>> model = make_agent("ppo", gym.make("NoisyCartPole-v0"), {"policy": "MlpPolicy"}, seed=0)
        >>> type(model).__name__
        'PPO'
    """
    entry = get_entry(name)
    hyperparams = dict(hyperparams or {})
    algo = hyperparams.pop("algo", None)  # an agent may run on another registered algorithm per env
    cls = get_entry(algo).resolve() if algo else entry.resolve()
    if not entry.learns:
        return cls(env, seed=seed)
    policy = hyperparams.pop("policy", "MlpPolicy")
    return cls(
        policy, env, seed=seed, tensorboard_log=tensorboard_log, device=device, verbose=verbose, **hyperparams
    )


def load_agent(
    name: str,
    path: str,
    env: Any = None,
    device: str = "auto",
    algo: str | None = None,
    env_seed: int | None = None,
    **kwargs: Any,
) -> Any:
    """Load a saved agent ``name`` from ``path`` (``algo``: the algorithm it ran on, if not its own).

    SB3's ``load`` seeds ``env`` (a VecEnv) with the training seed saved in the model, so the episodes it plays
    next would be the first training episodes; ``env_seed`` seeds it again after loading (e.g. evaluation seeds).
    ``kwargs`` go to SB3's ``load`` (e.g. ``force_reset=False`` to continue from the saved observation).
    """
    entry = get_entry(name)
    cls = get_entry(algo).resolve() if algo else entry.resolve()
    model = cls.load(path, env=env) if not entry.learns else cls.load(path, env=env, device=device, **kwargs)
    if env is not None and env_seed is not None:
        env.seed(env_seed)
    return model
