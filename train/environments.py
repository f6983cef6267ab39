"""Training and evaluation VecEnvs for a run (Monitor, optional wrappers, normalisation, frame stack)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import gymnasium as gym
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecFrameStack, VecNormalize, VecTransposeImage

from agents.hyperparams import resolve_dotted_list
from envs.synapse_multi import MULTI_AGENT_ENVS, make_multi_agent_vec_env
from train.config import RunConfig

# Evaluation envs use seeds seed + EVAL_SEED_OFFSET..., disjoint from training seeds below it.
EVAL_SEED_OFFSET = 1_000_000


def import_gym_packages(packages: list[str]) -> None:
    """Import the modules that register env ids (``envs`` always)."""
    for package in ["envs", *packages]:
        importlib.import_module(package)


def check_env_id(env_id: str) -> None:
    if env_id not in gym.registry and env_id not in MULTI_AGENT_ENVS:
        ours = sorted(k for k in gym.registry if not k.startswith(("ALE/", "phys2d/", "tabular/")))
        ours += sorted(MULTI_AGENT_ENVS)
        raise ValueError(f"--env={env_id!r} is not a registered environment id; registered: {', '.join(ours)}")


def _wrapper_class(spec: str | list | None) -> Any:
    """A dotted path, or a list of dotted paths / {path: kwargs} applied in order, as one callable."""
    wrappers = resolve_dotted_list(spec)
    if not wrappers:
        return None

    def wrap(env: gym.Env) -> gym.Env:
        for wrapper, kwargs in wrappers:
            env = wrapper(env, **kwargs)
        return env

    return wrap


def _make_gym_vec_env(config: RunConfig, seed: int, n_envs: int) -> VecEnv:
    return make_vec_env(
        config.env_id,
        n_envs=n_envs,
        seed=seed,
        env_kwargs=config.env_kwargs,
        wrapper_class=_wrapper_class(config.env_wrapper),
        vec_env_cls=DummyVecEnv,
    )


class _PicklableVecEnvWrapper:
    """Mixin for SB3 ``VecEnvWrapper`` subclasses that pickle into run checkpoints.

    SB3 keeps ``class_attributes`` (``inspect.getmembers`` of the class, ABC internals included), which
    cannot be pickled; it is dropped on pickling and rebuilt on unpickling, as ``VecNormalize`` does.
    """

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("class_attributes", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.class_attributes = dict(inspect.getmembers(self.__class__))


class PicklableVecFrameStack(_PicklableVecEnvWrapper, VecFrameStack):
    """SB3's ``VecFrameStack`` that pickles into run checkpoints."""


class PicklableVecTransposeImage(_PicklableVecEnvWrapper, VecTransposeImage):
    """SB3's ``VecTransposeImage`` (channel-last frames to channel-first) that pickles into run checkpoints."""


def make_env(config: RunConfig, *, evaluation: bool, n_envs: int | None = None) -> VecEnv:
    """Build the training VecEnv, or an evaluation VecEnv with disjoint seeds and frozen statistics."""
    seed = config.seed + (EVAL_SEED_OFFSET if evaluation else 0)
    n_envs = n_envs or (config.n_eval_envs if evaluation else config.n_envs)
    if config.env_id in MULTI_AGENT_ENVS:  # PettingZoo: one VecEnv slot per agent (envs.synapse_multi.vec_adapter)
        env = make_multi_agent_vec_env(config.env_id, n_envs, seed, config.env_kwargs)
    else:
        env = _make_gym_vec_env(config, seed, n_envs)
    if config.frame_stack:
        env = PicklableVecFrameStack(env, n_stack=int(config.frame_stack))
    if config.normalize:
        kwargs = config.normalize if isinstance(config.normalize, dict) else {}
        env = VecNormalize(env, training=not evaluation, **({"norm_reward": False} if evaluation else kwargs))
    # SB3 transposes a channel-last training env itself; doing it here gives evaluation envs the same frames
    if is_image_space(env.observation_space) and not is_image_space_channels_first(env.observation_space):
        env = PicklableVecTransposeImage(env)
    return env
