"""SynapsePlasticity: the agent is a plasticity rule; its action is a weight change Δd for every event."""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import torch

from envs.synapse.config import SynapseEnvConfig, make_config
from envs.synapse.data import load_digits_split
from envs.synapse.evaluation import encode
from envs.synapse.events import N_SCALARS, EventBatch, column, event_features, find_events
from envs.synapse.groups import centre_per_post
from envs.synapse.render import receptive_fields
from envs.synapse.scenarios import SIGNAL_CLIP, Scenario, make_scenario
from envs.synapse.structural import sleep


def check_delta_d(action: Any, capacity: int) -> torch.Tensor:
    """``action`` as a float tensor of shape ``(capacity,)`` in [-1, 1], or a ``ValueError``."""
    array = np.asarray(action, dtype=np.float64)
    if array.shape != (capacity,):
        raise ValueError(f"action shape {array.shape} is invalid; expected ({capacity},): one Δd per event slot")
    if not np.all(np.isfinite(array)):
        raise ValueError("action contains NaN or inf; Δd must be finite values in [-1, 1]")
    if np.abs(array).max(initial=0.0) > 1.0 + 1e-6:
        raise ValueError(f"action values must lie in [-1, 1]; got min {array.min():.3g}, max {array.max():.3g}")
    return torch.from_numpy(array.astype(np.float32))


class ImageHook(Protocol):
    """What a reward variant (:mod:`envs.synapse.variants`) sees of an image's episode from inside the env.

    ``begin_image`` runs in ``reset`` once the image and its spike train are drawn, before the network presents
    it; ``end_image`` runs at the image's last step with the scenario's reward ``R`` and returns the reward to
    pay, before the network's end-of-image update (homeostasis). Hooks run in the order they were added to
    ``env.image_hooks``; each may add keys to ``info``.
    """

    def begin_image(self, env: SynapsePlasticityEnv, input_spikes: torch.Tensor, label: int) -> None: ...

    def end_image(self, env: SynapsePlasticityEnv, reward: float, info: dict[str, Any]) -> float: ...


class SynapsePlasticityEnv(gym.Env):
    """
    ## Description
    A spiking network (LIF neurons, Poisson-encoded digits) learns through the agent: every simulation step
    the agent receives the *events* of that step (synapses whose pre or post neuron spiked) and returns a
    weight change ``Δd ∈ [-1, 1]`` per event; the env applies ``Δw = η_group·Δd`` clipped to the group's
    bounds. One episode is one image; the weights persist across episodes (that is the learning).
    Scenarios: ``unsup_single`` and ``unsup_dual`` (Diehl–Cook 784→N_E→N_I; groups ``input_exc`` and
    ``inh_exc``), ``grad_mimicry`` (LIF MLP 784-256-128-64-32-10 with a BPTT teacher), ``semi`` (LIF MLP
    784-256-128-10, reward from the label).

    ## Action Space
    ``Box(-1, 1, (capacity,), float32)``: Δd for event slot i; slots beyond the step's events are ignored.

    ## Observation Space
    Flat ``Box((capacity · (2K + 7),), float32)`` (SB3 accepts only flat or image boxes): reshaped to
    ``(capacity, 2K + 7)``, one row per event slot (:mod:`envs.synapse.events`):

    | Num        | Observation                                    | Min | Max |
    |------------|------------------------------------------------|-----|-----|
    | 0..K-1     | pre spikes, oldest first (K-1 = current step)  | 0   | 1   |
    | K..2K-1    | post spikes, same order                        | 0   | 1   |
    | 2K         | mask (1 real event, 0 padding)                 | 0   | 1   |
    | 2K+1       | weight, mapped to [0, 1] in the group bounds   | 0   | 1   |
    | 2K+2, 2K+3 | pre event, post event (spiked at this step)    | 0   | 1   |
    | 2K+4       | group id / (n_groups - 1)                      | 0   | 1   |
    | 2K+5       | l_norm (normalised layer index)                | 0   | 1   |
    | 2K+6       | third factor (0 when ``third_factor="none"``)  | -3  | 3   |

    Above ``capacity`` events a seeded uniform sample is kept (``info["n_events_total"]`` counts all). The third
    factor is ``reward`` = the previous episode's reward, or ``teacher`` = the post neuron's error: the BPTT error
    δ_post(t) (``grad_mimicry``), or ``onehot(y) − softmax(α·rates)`` at the output and its fixed random
    projection in hidden layers (``semi``).

    ## Rewards
    ``unsup_*``: 0 per step, and at the last step the label-free reward named by ``unsup_reward``
    (:func:`envs.synapse.rewards.unsup_candidates`; −1 for a silent network): by default ``discrimination``
    ``cos(c, c_prev) − mean_j cos(c, c_j)`` of the excitatory counts ``c`` on a re-presented image (0 on the others),
    or the design's ``w_s·(1 − |ρ − ρ*|/max(ρ*, 1−ρ*)) + w_d·diversity + w_t·stability`` (``unsup_reward="design"``);
    with ``gamma = 1`` every event's return is R.
    ``semi``: 0 per step, at the last step ``R = ±1 + α_margin·(r_y − max_{k≠y} r_k) − α_spike·Σs_k/(T·10)``.
    ``grad_mimicry``: per step the sum over events of ``−ĝ·Δd − λ·Δd²``, ĝ the BPTT gradient of the event's
    synapse at that step, per layer in running-RMS units clipped to ±3 (the best action is ``−ĝ/2λ``);
    ``info["event_rewards"]`` holds the per-event terms in slot order (0 at padding), for per-event credit
    (:mod:`envs.synapse_multi.event_agents`). Variants of these rewards (paired baseline, replayed reward,
    probe progress, margin shaping) are wrappers: :mod:`envs.synapse.variants`.

    ## Starting State
    Network weights are drawn at the first ``reset``, at every ``reset(seed=...)`` and at
    ``reset(options={"new_network": True})``; otherwise they persist. Each reset picks a training image
    uniformly (``unsup_*``: every ``represent_every``-th episode re-presents a recent one), rests the neurons and
    draws its Poisson spike train. With ``sleep_every > 0`` a reset first runs a sleep phase
    (:mod:`envs.synapse.structural`, ``info["sleep"]``): weak, idle synapses are pruned and new ones grow.

    ## Episode End
    1. Termination: after ``n_steps`` (T) simulation steps, the image has been presented.

    ## Arguments
    The fields of :class:`envs.synapse.config.SynapseEnvConfig`: the scenario, data, simulation, network and
    reward constants, the third factor, how Δd becomes Δw (``weight_normalization``: ``"subtractive"`` gives
    each post neuron's summed change back over its inputs, ``"events"`` centres its events' Δd;
    ``step_centring`` centres each group's Δd over the step), homeostatic thresholds (``homeostasis``) and
    structural plasticity (``sleep_every``). ``render_mode="rgb_array"`` tiles the first layer's receptive
    fields. The registered ids (``gymnasium.make("SynapseSemi-v0", data_source="sklearn", hidden_sizes=[32])``)
    also accept the variants' arguments (:func:`envs.synapse.variants.make_synapse_env`). Held-out accuracy
    with frozen weights: ``env.unwrapped.evaluate(n_images)``.

    ## Version History
    * v0: initial version; the unsupervised scenarios' default reward is ``discrimination``
      (``unsup_reward="design"`` gives the sparsity/diversity/stability reward of earlier releases).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 1}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r} is not supported; allowed: None, 'rgb_array'")
        self.render_mode = render_mode
        self.config: SynapseEnvConfig = make_config(**kwargs)
        c = self.config
        self.data = load_digits_split(c.data_source, c.n_train, c.n_test, c.split_seed, c.data_root)
        self.n_input = self.data.train_x.shape[1]
        width = 2 * c.history + N_SCALARS
        low, high = np.zeros(width, np.float32), np.ones(width, np.float32)
        low[column(c.history, "third_factor")] = -SIGNAL_CLIP
        high[column(c.history, "third_factor")] = SIGNAL_CLIP
        self.observation_space = gym.spaces.Box(np.tile(low, c.capacity), np.tile(high, c.capacity), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (c.capacity,), dtype=np.float32)
        self.scenario: Scenario | None = None
        self.episodes = 0
        self.image_hooks: list[ImageHook] = []

    @property
    def network(self):
        """The spiking network (built at the first reset)."""
        return None if self.scenario is None else self.scenario.network

    @property
    def group_names(self) -> list[str]:
        """Names of the synapse groups, in group-id order (e.g. ``["input_exc", "inh_exc"]``)."""
        if self.scenario is None:
            self.reset()
        return [g.name for g in self.network.groups]

    def _pick_image(self) -> tuple[int, bool]:
        c = self.config
        recent = getattr(self.scenario, "winner_of", None)
        if (
            c.unsupervised
            and c.represent_every
            and self.episodes % c.represent_every == c.represent_every - 1
            and recent
        ):
            keys = list(recent)[-c.diversity_window :]
            return int(keys[self.np_random.integers(len(keys))]), True
        return int(self.np_random.integers(len(self.data.train_x))), False

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Start an image; ``options={"new_network": True}`` first draws a fresh network, as a seed does (other
        option keys are ignored)."""
        super().reset(seed=seed)
        if self.scenario is None or seed is not None or (options or {}).get("new_network"):
            generator = torch.Generator().manual_seed(int(self.np_random.integers(2**62)))
            self.scenario = make_scenario(self.config, self.n_input, generator)
            self.episodes = 0
            self.stored = deque(maxlen=self.config.sleep_replay)
            self.allowed = [
                torch.ones_like(g.weight, dtype=torch.bool) if g.connectivity is None else g.connectivity.clone()
                for g in self.network.groups
            ]
            self.slept_at = 0
        info = self._maybe_sleep()
        image_id, represented = self._pick_image()
        self.input_spikes = encode(self.data.train_x[image_id], self.config, self.np_random)
        if self.config.sleep_every:
            self.stored.append(self.input_spikes)
        label = int(self.data.train_y[image_id])
        for hook in self.image_hooks:
            hook.begin_image(self, self.input_spikes, label)
        self.scenario.begin_image(label, self.input_spikes, represented, image_id)
        self.t = 0
        obs = self._advance()
        return obs, {**info, "image": image_id, "represented": represented}

    def _maybe_sleep(self) -> dict[str, Any]:
        """Run the structural-plasticity sleep phase when one is due (once per ``sleep_every`` episodes)."""
        c = self.config
        if not c.sleep_every or not self.stored or self.episodes % c.sleep_every or self.slept_at == self.episodes:
            return {}
        self.slept_at = self.episodes
        return {
            "sleep": sleep(self.network, self.stored, self.allowed, c.prune_fraction, c.grow_fraction, self.np_random)
        }

    def _advance(self) -> np.ndarray:
        """Simulate step ``t`` and return the observation of its events."""
        spikes = self.network.step(self.input_spikes[self.t])
        self.batch = find_events(self.network.groups, spikes, self.config.capacity, self.np_random)
        factor = self.scenario.third_factor(self.batch, self.t)
        rows = event_features(self.batch, self.network.groups, self.network.history, self.config.capacity, factor)
        return rows.reshape(-1)

    def apply(self, batch: EventBatch, delta_d: torch.Tensor) -> None:
        """Apply ``Δw = η·Δd`` to every event of ``batch`` (group by group, clipped; with
        ``weight_normalization="subtractive"`` each post neuron then gives back its summed change, with
        ``"events"`` its events' Δd are first centred; ``step_centring`` centres each group's Δd over the step)."""
        for group in self.network.groups:
            sel = batch.group == group.index
            if sel.any():
                dd = delta_d[sel]
                if self.config.step_centring:
                    dd = dd - dd.mean()
                if self.config.weight_normalization == "events":
                    dd = centre_per_post(batch.post[sel], dd, group.weight.shape[1])
                applied = group.apply_delta(batch.pre[sel], batch.post[sel], dd)
                if self.config.weight_normalization == "subtractive":
                    group.subtract_mean_change_(batch.post[sel], applied)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.scenario is None:
            raise RuntimeError("call reset() before step()")
        delta_d = check_delta_d(action, self.config.capacity)[: len(self.batch)] * self.scenario.action_scale(
            self.batch
        )
        self.apply(self.batch, delta_d)
        reward = self.scenario.step_reward(self.batch, delta_d, self.t)
        info = {
            "n_events": len(self.batch),
            "n_events_total": self.batch.n_total,
            "synapse_count": sum(g.n_synapses for g in self.network.groups),
        }
        if self.scenario.last_event_rewards is not None:
            info["event_rewards"] = self._padded(self.scenario.last_event_rewards)
        self.t += 1
        terminated = self.t >= self.config.n_steps
        if terminated:
            final, metrics = self.scenario.end_image()
            for hook in self.image_hooks:
                final = hook.end_image(self, final, metrics)
            self.scenario.last_reward = final  # the next episode's ``reward`` third factor
            self.network.end_image()
            reward += final
            info.update(metrics)
            self.episodes += 1
            self.batch = EventBatch.empty()
            obs = np.zeros(self.observation_space.shape, np.float32)
        else:
            obs = self._advance()
        return obs, float(reward), terminated, False, info

    def _padded(self, per_event: torch.Tensor) -> np.ndarray:
        """Per-event values as a ``(capacity,)`` array in event-slot order, 0 at padding slots."""
        out = np.zeros(self.config.capacity, np.float32)
        out[: len(per_event)] = per_event.numpy()
        return out

    def render(self) -> np.ndarray | None:
        """``rgb_array``: receptive fields (input weights) of the first 100 neurons of the first layer."""
        if self.render_mode != "rgb_array" or self.scenario is None:
            return None
        return receptive_fields(self.network.groups[0].weight, self.data.side)

    def evaluate(self, n_images: int | None = None, n_assign: int = 1000) -> float:
        """Accuracy on held-out test images with frozen weights (see :mod:`envs.synapse.evaluation`)."""
        from envs.synapse.evaluation import frozen_accuracy

        if self.scenario is None:
            self.reset()
        return frozen_accuracy(self.scenario, self.data, self.config, n_images, n_assign, seed=12345)
