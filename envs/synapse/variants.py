"""Reward and rollout variants of the synapse envs, as Gymnasium wrappers of
:class:`~envs.synapse.env.SynapsePlasticityEnv`.

The env pays the scenario's reward; each wrapper here changes what the agent is paid, or when the network is
renewed, and leaves the network's dynamics alone (same seed and actions: the same weights):

* :class:`ReplayReward` (``replay_reward``): R of the episode's spike train presented again, frozen, after it;
* :class:`PairedBaseline` (``paired_baseline``): ``R − R_0``, R_0 the frozen reward of the same train at reset;
* :class:`ProbeProgress` (``progress_probes``, ``progress_only``): adds the change of the reward on probe images;
* :class:`MarginShaping` (``margin_shaping``): potential-based shaping from the label margin of output counts;
* :class:`RenewNetwork` (``renew_every``): a fresh network after every N episodes.

The first three act inside the image's episode (frozen presentations before and after the plastic one) through
the env's ``image_hooks`` (:class:`~envs.synapse.env.ImageHook`); the first three are ``semi`` only, as is
margin shaping. :func:`make_synapse_env` (the registered ids' entry point) builds the env and applies the
wrappers named by its keyword arguments in this order, so ``gymnasium.make("SynapseSemi-v0",
paired_baseline=True)`` is ``PairedBaseline(SynapsePlasticityEnv(scenario="semi"))`` under Gymnasium's own
wrappers. Reference: docs/synapse_variants.md.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from envs.synapse.config import check_names
from envs.synapse.env import SynapsePlasticityEnv
from envs.synapse.evaluation import encode
from wrappers.validation import check_finite

VARIANT_ARGUMENTS = (
    "replay_reward",
    "paired_baseline",
    "progress_probes",
    "progress_only",
    "margin_shaping",
    "renew_every",
)


def _invalid(name: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{name}={value!r} is invalid; allowed: {allowed}")


def _synapse_env(env: gym.Env, argument: str, semi_only: bool) -> SynapsePlasticityEnv:
    """The :class:`SynapsePlasticityEnv` under ``env``; ``semi_only``: raise unless its scenario is ``semi``."""
    sim = env.unwrapped
    if not isinstance(sim, SynapsePlasticityEnv):
        raise TypeError(f"env={env!r} is invalid for {argument}; allowed: a SynapsePlasticityEnv or a wrapper of one")
    if semi_only and sim.config.scenario != "semi":
        raise ValueError(f"{argument} is invalid for scenario={sim.config.scenario!r}; allowed: the semi scenario only")
    return sim


def frozen_reward(sim: SynapsePlasticityEnv, spikes: torch.Tensor, label: int) -> float:
    """``semi``'s R of one presentation of ``spikes`` with the current weights and no plasticity. The spike counts
    of the image being presented are kept (the network's end-of-image homeostasis answers to them)."""
    history = sim.network.history
    counts, steps = {name: c.clone() for name, c in history.counts.items()}, history.steps
    reward = sim.scenario.frozen_reward(spikes, label)
    history.clear()
    history.counts, history.steps = counts, steps
    return reward


class ImageVariant(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Base of the variants that act inside an image's episode: the wrapper adds itself to the env's
    ``image_hooks``, so the env calls :meth:`begin_image` once the image is drawn and :meth:`end_image` with
    the scenario's reward at its last step; ``reset`` and ``step`` are the env's. ``semi`` only."""

    argument = ""  # the keyword of make_synapse_env that applies the variant

    def __init__(self, env: gym.Env, **kwargs: Any) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, **kwargs)
        gym.Wrapper.__init__(self, env)
        _synapse_env(env, self.argument, semi_only=True).image_hooks.append(self)

    def begin_image(self, sim: SynapsePlasticityEnv, input_spikes: torch.Tensor, label: int) -> None:
        """Called in ``reset`` before the network presents the image (no-op by default)."""

    def end_image(self, sim: SynapsePlasticityEnv, reward: float, info: dict[str, Any]) -> float:
        """The reward to pay for the image, from the reward ``reward`` of the variants below (unchanged here)."""
        return reward


class ReplayReward(ImageVariant):
    """The episode's reward is R of the same spike train presented again after the episode, with the weights the
    episode left and no plasticity: what the image's updates did to the network's answer on it, every update
    counted in full (the last step's updates cannot change the plastic presentation's R). ``info["plastic_reward"]``
    is the plastic presentation's R. It replaces the reward, so it must be the first variant applied.
    """

    argument = "replay_reward"

    def __init__(self, env: gym.Env) -> None:
        if _synapse_env(env, self.argument, semi_only=True).image_hooks:
            raise _invalid("env", env, "an env without other reward variants (ReplayReward replaces the reward)")
        super().__init__(env)

    def end_image(self, sim: SynapsePlasticityEnv, reward: float, info: dict[str, Any]) -> float:
        info["plastic_reward"] = reward
        return frozen_reward(sim, sim.input_spikes, sim.scenario.label)


class PairedBaseline(ImageVariant):
    """The episode's reward is ``R − R_0``, ``R_0`` the reward of the same spike train on the network as it was at
    reset, without plasticity (``info["zero_plasticity_reward"]``): an action-independent baseline, so the best
    rule is unchanged and zero plasticity earns exactly 0. Applied after :class:`ReplayReward`, R is the replayed
    reward and the reward is the frozen R after the episode minus the frozen R before it.
    """

    argument = "paired_baseline"

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.baseline = 0.0

    def begin_image(self, sim: SynapsePlasticityEnv, input_spikes: torch.Tensor, label: int) -> None:
        self.baseline = frozen_reward(sim, input_spikes, label)

    def end_image(self, sim: SynapsePlasticityEnv, reward: float, info: dict[str, Any]) -> float:
        info["zero_plasticity_reward"] = self.baseline
        return reward - self.baseline


class ProbeProgress(ImageVariant):
    """Adds what the image's updates did to other images: at reset ``probes`` training images are drawn (from the
    env's seeded generator) with their spike trains, and the episode's reward gains
    ``mean_probes R(after) − mean_probes R(before)``, each probe presented with frozen weights and the same spike
    train before and after the episode (``info["progress"]``). With ``only=True`` the reward is that change alone
    (a learning-progress reward).

    Args:
        env: a ``semi`` synapse env.
        probes: probe images per episode (>= 1).
        only: pay the probe change alone instead of adding it to the reward.
    """

    argument = "progress_probes"

    def __init__(self, env: gym.Env, probes: int, only: bool = False) -> None:
        if isinstance(probes, bool) or not isinstance(probes, int) or probes < 1:
            raise _invalid("progress_probes", probes, "an integer >= 1")
        if not isinstance(only, bool):
            raise _invalid("progress_only", only, "false or true")
        super().__init__(env, probes=probes, only=only)
        self.n_probes, self.only = probes, only
        self.probes: list[tuple[torch.Tensor, int]] = []
        self.before = 0.0

    def score(self, sim: SynapsePlasticityEnv) -> float:
        """Mean frozen reward of the probe images under the current weights."""
        return float(np.mean([frozen_reward(sim, spikes, label) for spikes, label in self.probes]))

    def begin_image(self, sim: SynapsePlasticityEnv, input_spikes: torch.Tensor, label: int) -> None:
        ids = sim.np_random.integers(len(sim.data.train_x), size=self.n_probes)
        trains = [encode(sim.data.train_x[i], sim.config, sim.np_random) for i in ids]
        self.probes = list(zip(trains, [int(sim.data.train_y[i]) for i in ids], strict=True))
        self.before = self.score(sim)

    def end_image(self, sim: SynapsePlasticityEnv, reward: float, info: dict[str, Any]) -> float:
        info["progress"] = self.score(sim) - self.before
        return info["progress"] + (0.0 if self.only else reward)


class MarginShaping(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Potential-based shaping (Ng et al. 1999): every step adds ``Φ_{t+1} − Φ_t`` with
    ``Φ = weight · (c_y − max_{k≠y} c_k) / T`` from the output spike counts so far and ``Φ = 0`` after the last
    step. An episode's return changes only by the constant ``−Φ_0``, so the optimal rule is unchanged; the
    network's dynamics are untouched. ``semi`` only.

    Args:
        env: a ``semi`` synapse env.
        weight: w > 0.
    """

    def __init__(self, env: gym.Env, weight: float) -> None:
        weight = check_finite("margin_shaping", weight)
        if weight <= 0:
            raise _invalid("margin_shaping", weight, "> 0")
        gym.utils.RecordConstructorArgs.__init__(self, weight=weight)
        gym.Wrapper.__init__(self, env)
        self.sim = _synapse_env(env, "margin_shaping", semi_only=True)
        self.weight, self.phi = weight, 0.0

    def potential(self) -> float:
        counts, label = self.sim.network.history.counts["out"], self.sim.scenario.label
        others = torch.cat([counts[:label], counts[label + 1 :]])
        return self.weight * float(counts[label] - others.max()) / self.sim.config.n_steps

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(**kwargs)
        self.phi = self.potential()
        return obs, info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        phi = 0.0 if terminated else self.potential()
        reward += phi - self.phi
        self.phi = phi
        return obs, float(reward), terminated, truncated, info


class RenewNetwork(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A fresh network (``reset(options={"new_network": True})``) after every ``every`` episodes on one network:
    the rule is trained on the same fresh-network trajectories it is evaluated on. Without it the weights
    persist until a seeded reset.

    Args:
        env: a synapse env.
        every: episodes per network (>= 1).
    """

    def __init__(self, env: gym.Env, every: int) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise _invalid("renew_every", every, "an integer >= 1 (0: no wrapper)")
        gym.utils.RecordConstructorArgs.__init__(self, every=every)
        gym.Wrapper.__init__(self, env)
        self.sim = _synapse_env(env, "renew_every", semi_only=False)
        self.every = every

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        if seed is None and self.sim.network is not None and self.sim.episodes >= self.every:
            options = {**(options or {}), "new_network": True}
        return self.env.reset(seed=seed, options=options)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _invalid(name, value, "false or true")
    return value


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(name, value, "an integer >= 0 (0: off)")
    return value


def make_synapse_env(
    render_mode: str | None = None,
    *,
    replay_reward: bool = False,
    paired_baseline: bool = False,
    progress_probes: int = 0,
    progress_only: bool = False,
    margin_shaping: float = 0.0,
    renew_every: int = 0,
    **kwargs: Any,
) -> gym.Env:
    """:class:`SynapsePlasticityEnv` ``(render_mode, **kwargs)`` with the variants these arguments switch on, in
    the order :class:`ReplayReward`, :class:`PairedBaseline`, :class:`ProbeProgress`, :class:`MarginShaping`,
    :class:`RenewNetwork` (false, 0 or 0.0: not applied). The entry point of the registered synapse ids."""
    check_names(kwargs, VARIANT_ARGUMENTS)
    _flag("replay_reward", replay_reward)
    _flag("paired_baseline", paired_baseline)
    _count("progress_probes", progress_probes)
    if _flag("progress_only", progress_only) and not progress_probes:
        raise _invalid("progress_only", progress_only, "false, or true with progress_probes > 0")
    if check_finite("margin_shaping", margin_shaping) < 0:
        raise _invalid("margin_shaping", margin_shaping, ">= 0 (0: no shaping)")
    _count("renew_every", renew_every)
    env: gym.Env = SynapsePlasticityEnv(render_mode=render_mode, **kwargs)
    if replay_reward:
        env = ReplayReward(env)
    if paired_baseline:
        env = PairedBaseline(env)
    if progress_probes:
        env = ProbeProgress(env, progress_probes, progress_only)
    if margin_shaping:
        env = MarginShaping(env, margin_shaping)
    if renew_every:
        env = RenewNetwork(env, renew_every)
    return env


make_synapse_env.metadata = SynapsePlasticityEnv.metadata  # gymnasium.make reads the creator's render modes
make_synapse_env.env_class = SynapsePlasticityEnv  # the class it builds (for tools that look up an id's env class)
