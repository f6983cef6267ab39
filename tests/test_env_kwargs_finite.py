"""Every float argument of every env id, multi-agent env and wrapper rejects nan and ±inf with a ValueError naming it."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import ale_py
import gymnasium as gym
import numpy as np
import pytest

import envs
from envs.meta_utility.env import MetaUtilityEnv
from envs.noisy_cartpole_config import NoisyCartPoleConfig
from envs.noisy_pong_config import NoisyPongConfig
from envs.synapse import SCENARIO_IDS
from envs.synapse.config import SynapseEnvConfig, tiny_kwargs
from envs.synapse.variants import make_synapse_env
from envs.synapse_multi import MULTI_AGENT_ENVS, make_multi_agent_env
from wrappers import BinaryEncoding, BitFlipNoise
from wrappers.frames import BinarizeFrames, FrameBitFlipNoise
from wrappers.validation import check_finite

gym.register_envs(ale_py)

BAD = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
FLOAT_TYPES = ("float", "float | None", float)  # annotations, as strings where a module postpones them


def float_fields(config: type) -> list[str]:
    return [f.name for f in fields(config) if f.type in FLOAT_TYPES]


def float_parameters(function: Callable) -> list[str]:
    return [p.name for p in inspect.signature(function).parameters.values() if p.annotation in FLOAT_TYPES]


# the synapse ids take every float field of SynapseEnvConfig and the float arguments of their variants
SYNAPSE_FLOATS = float_fields(SynapseEnvConfig) + float_parameters(make_synapse_env)
# env id -> its float kwargs
FLOAT_KWARGS: dict[str, list[str]] = {
    "NoisyCartPole-v0": ["flip_prob"],
    "NoisyCartPoleStream-v0": ["flip_prob"],
    "NoisyPong-v0": ["flip_prob", "repeat_action_probability"],
    "MetaUtility-v0": ["eta"],
    **{env_id: SYNAPSE_FLOATS for env_id in SCENARIO_IDS.values()},
}
SCENARIOS = {env_id: scenario for scenario, env_id in SCENARIO_IDS.items()}


def base_kwargs(env_id: str) -> dict[str, Any]:
    """Valid arguments besides the one under test: test-size networks for the synapse ids."""
    return tiny_kwargs(SCENARIOS[env_id]) if env_id in SCENARIOS else {}


def assert_rejected(name: str, make: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """``make(*args, **kwargs)`` raises a ValueError whose message names ``name`` (``name=value``)."""
    with pytest.raises(ValueError, match=rf"(^|\W){re.escape(name)}="):
        make(*args, **kwargs)


def registered_ids() -> set[str]:
    return {env_id for env_id, spec in gym.registry.items() if str(spec.entry_point).startswith("envs.")}


def test_the_table_covers_every_registered_id_and_every_float_argument():
    assert envs.__name__ == "envs" and set(FLOAT_KWARGS) == registered_ids()
    assert FLOAT_KWARGS["NoisyCartPole-v0"] == float_fields(NoisyCartPoleConfig)
    assert FLOAT_KWARGS["NoisyPong-v0"] == float_fields(NoisyPongConfig)
    assert FLOAT_KWARGS["MetaUtility-v0"] == float_parameters(MetaUtilityEnv.__init__)
    assert {"eta", "margin_shaping"} <= set(SYNAPSE_FLOATS) and len(SYNAPSE_FLOATS) >= 20


ENV_CASES = [
    pytest.param(env_id, name, value, id=f"{env_id}-{name}-{label}")
    for env_id, names in FLOAT_KWARGS.items()
    for name in names
    for label, value in BAD.items()
]


@pytest.mark.parametrize(("env_id", "name", "value"), ENV_CASES)
def test_env_rejects_a_non_finite_float_argument(env_id, name, value):
    assert_rejected(name, gym.make, env_id, **{**base_kwargs(env_id), name: value})


@pytest.mark.parametrize("env_id", list(SCENARIO_IDS.values()))
@pytest.mark.parametrize("label", list(BAD))
def test_synapse_reward_weights_reject_a_non_finite_weight(env_id, label):
    weights = (1.0, BAD[label], 1.0)
    assert_rejected("reward_weights", gym.make, env_id, **{**base_kwargs(env_id), "reward_weights": weights})


@pytest.mark.parametrize("label", list(BAD))
def test_noisy_cartpole_vector_env_rejects_a_non_finite_flip_prob(label):
    vector = dict(num_envs=2, vectorization_mode="vector_entry_point")
    assert_rejected("flip_prob", gym.make_vec, "NoisyCartPole-v0", **vector, flip_prob=BAD[label])


@pytest.mark.parametrize("env_id", list(MULTI_AGENT_ENVS))
@pytest.mark.parametrize("label", list(BAD))
def test_multi_agent_env_rejects_a_non_finite_synapse_argument(env_id, label):
    # the PettingZoo envs have no float arguments of their own; they pass the synapse ones to the simulator
    scenario = MULTI_AGENT_ENVS[env_id][1]["scenario"]
    assert_rejected("eta", make_multi_agent_env, env_id, {**tiny_kwargs(scenario), "eta": BAD[label]})


def pendulum_code(**kwargs: Any) -> BinaryEncoding:
    return BinaryEncoding(gym.make("Pendulum-v1"), "sign", 4, **kwargs)


WRAPPER_CASES = [  # (case, argument, build the wrapper with that argument set to a value)
    ("BitFlipNoise", "flip_prob", lambda v: BitFlipNoise(pendulum_code(), flip_prob=v)),
    (
        "FrameBitFlipNoise",
        "flip_prob",
        lambda v: FrameBitFlipNoise(BinarizeFrames(gym.make("ALE/Pong-v5", obs_type="grayscale")), flip_prob=v),
    ),
    ("BinaryEncoding", "low", lambda v: pendulum_code(low=v, high=10.0)),
    ("BinaryEncoding", "high", lambda v: pendulum_code(low=-10.0, high=v)),
    ("BinaryEncoding-one-variable", "low", lambda v: pendulum_code(low=[-1.0, v, -8.0])),
]


@pytest.mark.parametrize(
    ("name", "make", "value"),
    [
        pytest.param(name, make, value, id=f"{case}-{name}-{label}")
        for case, name, make in WRAPPER_CASES
        for label, value in BAD.items()
    ],
)
def test_wrapper_rejects_a_non_finite_float_argument(name, make, value):
    assert_rejected(name, make, value)


@pytest.mark.parametrize("value", [0, 2.5, -3, np.float32(0.25), np.int64(7)])
def test_check_finite_passes_real_numbers_as_floats(value):
    result = check_finite("x", value)
    assert type(result) is float and result == float(value)


@pytest.mark.parametrize("value", [*BAD.values(), np.float64("nan"), True, "0.5", None, [0.5]])
def test_check_finite_names_the_argument_the_value_and_what_is_allowed(value):
    with pytest.raises(ValueError, match=r"^eta=.* is invalid; allowed: a finite number$"):
        check_finite("eta", value)
