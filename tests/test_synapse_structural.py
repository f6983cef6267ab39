"""Structural plasticity of the synapse envs: the sleep phase prunes, grows and is logged."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from envs.synapse import SCENARIO_IDS
from envs.synapse.config import tiny_kwargs
from envs.synapse.groups import SynapseGroup
from envs.synapse.structural import restructure

SLEEP = dict(sleep_every=2, sleep_replay=3, prune_fraction=0.1, grow_fraction=0.05)


def make(name: str, **overrides) -> gym.Env:
    return gym.make(SCENARIO_IDS[name], **{**tiny_kwargs(name), **overrides})


def run_episodes(env: gym.Env, n: int, seed: int) -> tuple[list[dict], list[int]]:
    sleeps, counts = [], []
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(n):
        done = False
        while not done:
            _, _, done, _, info = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
        counts.append(info["synapse_count"])
        _, reset_info = env.reset()
        sleeps.append(reset_info.get("sleep"))
    return sleeps, counts


def test_restructure_prunes_weak_idle_synapses_and_grows_only_where_allowed():
    weight = torch.tensor([[0.8, 0.05, -0.6], [0.02, 0.9, 0.5]])
    group = SynapseGroup("g", "a", "b", weight, -1.0, 1.0, 0.1)
    allowed = torch.tensor([[True, True, True], [True, True, False]])  # (1, 2) may never exist
    usage = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 9.0]])
    pruned, grown = restructure(group, allowed, usage, 0.4, 0.0, np.random.default_rng(0))
    assert (pruned, grown) == (2, 0)  # 40% of the 5 allowed synapses: the two weakest
    assert group.connectivity.tolist() == [[True, False, True], [False, True, True]]
    assert group.weight[0, 1] == 0 and group.weight[1, 0] == 0
    pruned, grown = restructure(group, allowed, usage, 0.0, 0.4, np.random.default_rng(0))
    assert (pruned, grown) == (0, 2)  # both absent allowed synapses grow back, near 0 and inside the bounds
    assert group.connectivity[0, 1] and group.connectivity[1, 0]
    assert abs(float(group.weight[0, 1])) <= 0.1 and abs(float(group.weight[1, 0])) <= 0.1


@pytest.mark.parametrize("name", ["unsup_single", "semi"])
def test_sleep_phases_prune_and_grow_and_the_count_is_logged(name):
    env = make(name, **SLEEP)
    sleeps, counts = run_episodes(env, 6, seed=0)
    assert [s is not None for s in sleeps] == [False, True, False, True, False, True]  # every 2 episodes
    first, second = sleeps[1], sleeps[3]
    assert first["pruned"] > 0 and first["grown"] == 0  # nothing absent yet at the first sleep
    assert second["grown"] > 0  # counts[i]: at the end of episode i; the sleep after episode i shows in i + 1
    assert counts[4] == second["synapse_count"] < counts[2] == first["synapse_count"] < counts[0] == counts[1]
    network = env.unwrapped.network
    for group in network.groups:
        absent = ~group.connectivity
        assert torch.all(group.weight[absent] == 0)
        assert torch.all((group.weight >= group.w_min) & (group.weight <= group.w_max))
    if name == "unsup_single":  # inhibitory self-connections never grow
        assert not network.group("inh_exc").connectivity.diagonal().any()


def test_sleep_is_deterministic_and_off_by_default():
    a = run_episodes(make("semi", **SLEEP), 4, seed=3)
    b = run_episodes(make("semi", **SLEEP), 4, seed=3)
    assert a == b
    sleeps, counts = run_episodes(make("semi"), 4, seed=3)
    assert sleeps == [None] * 4 and len(set(counts)) == 1


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"sleep_every": -1}, "sleep_every"),
        ({"prune_fraction": 1.5}, "prune_fraction"),
        ({"sleep_replay": 0}, "sleep_replay"),
    ],
)
def test_invalid_sleep_kwargs_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make("semi", **kwargs)
