"""Start-up checks of a run: each mistake on the command line becomes one :class:`UsageError` that names the
flag, the bad value and what is allowed, raised before a run folder exists.

The training CLI and the leaderboard print such an error as one line and exit with code 2.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import io
import numbers
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from agents.registry import AGENTS, get_entry, make_agent
from train.config import RUN_KEYS, RunConfig


class UsageError(ValueError):
    """A command-line mistake: the message names the flag, the bad value and the allowed values."""


def check_device(device: str) -> None:
    """``--device``: ``auto`` or a torch device string (``cpu``, ``cuda``, ``cuda:1``, ``mps``)."""
    if device == "auto":
        return
    try:
        torch.device(device)
    except RuntimeError as error:
        raise UsageError(f"--device {device}: not a torch device; allowed: auto, cpu, cuda, cuda:N, mps") from error


def check_budget(config: RunConfig) -> None:
    """A learning agent needs a positive step budget and at least one training env."""
    if get_entry(config.agent).learns and config.n_timesteps <= 0:
        raise UsageError(
            f"-n/--n-timesteps {config.n_timesteps}: {config.agent} on {config.env_id} needs a budget > 0 "
            "(the hyperparameter file gives none here); give -n N or --until-stopped"
        )
    if config.n_envs < 1:
        raise UsageError(f"--n-envs {config.n_envs}: must be >= 1")


def _explicit_parameters(function: Callable) -> dict[str, inspect.Parameter]:
    parameters = inspect.signature(function).parameters
    return {name: p for name, p in parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _takes_any_keyword(function: Callable) -> bool:
    return any(p.kind == p.VAR_KEYWORD for p in inspect.signature(function).parameters.values())


def _value_fits_default(value: Any, default: Any) -> bool:
    """False where a number or a flag is expected and text (or a number for a flag) was given; schedules pass.

    Values of other kinds pass through (e.g. DQN's ``train_freq`` takes ``4`` or ``[1, "episode"]``).
    """
    if default is None or default is inspect.Parameter.empty or callable(value):
        return True
    if isinstance(default, bool):
        return isinstance(value, (bool, np.bool_))
    if isinstance(default, numbers.Real):
        return not isinstance(value, (str, bool))
    return True


# Keyword arguments of an algorithm that the CLI sets from its own flags.
FLAG_PARAMETERS = {"seed": "--seed", "device": "--device", "verbose": "--verbose",
                   "tensorboard_log": "-tb/--tensorboard-log", "env": "--env"}
NOT_HYPERPARAMETERS = {"self", "policy", *FLAG_PARAMETERS}


def check_hyperparameters(agent: str, algorithm: type, resolved: dict[str, Any], given: dict[str, Any]) -> None:
    """Keys of ``-params``/``-conf`` must be keyword arguments of the algorithm; values must have their kind.

    Args:
        agent: agent name (for the message).
        algorithm: the SB3 class the agent is built with.
        resolved: hyperparameters after schedules and dotted paths were resolved (``policy`` and ``algo`` removed).
        given: the raw ``-params`` overrides, to name the value as the user wrote it.
    """
    parameters = _explicit_parameters(algorithm.__init__)
    clash = sorted(set(resolved) & set(FLAG_PARAMETERS))
    if clash:
        raise UsageError(f"-params {clash[0]}: set by {FLAG_PARAMETERS[clash[0]]}, not as a hyperparameter")
    if not _takes_any_keyword(algorithm.__init__):
        allowed = sorted(name for name in parameters if not name.startswith("_") and name not in NOT_HYPERPARAMETERS)
        unknown = sorted(set(resolved) - set(allowed))
        if unknown:
            raise UsageError(
                f"-params {unknown[0]}: not a hyperparameter of {agent} ({algorithm.__name__}); allowed: {', '.join(allowed)}"
            )
    for key, value in resolved.items():
        default = parameters[key].default if key in parameters else None
        if not _value_fits_default(value, default):
            shown = given.get(key, value)
            raise UsageError(
                f"-params {key}:{shown!r}: must be a {type(default).__name__} (or a schedule such as lin_0.001 where "
                f"the algorithm takes one), like {algorithm.__name__}'s default {default!r}"
            )


def build_agent(config: RunConfig, train_env: Any, hyperparams: dict[str, Any], given: dict[str, Any], **kwargs: Any) -> Any:
    """``agents.registry.make_agent``, with its mistakes as :class:`UsageError`\\ s naming ``-params`` or ``--agent``."""
    entry = get_entry(config.agent)
    if not entry.learns:
        algorithm_keys = [key for key in given if key not in RUN_KEYS]  # run keys (env_wrapper, ...) still apply
        if algorithm_keys:
            raise UsageError(
                f"-params {' '.join(algorithm_keys)}: agent {config.agent} does not learn and takes no hyperparameters; "
                f"allowed: {', '.join(RUN_KEYS)}"
            )
        return make_agent(config.agent, train_env, hyperparams, seed=config.seed, **kwargs)
    algo = hyperparams.get("algo")
    algorithm = get_entry(algo).resolve() if algo else entry.resolve()
    check_hyperparameters(config.agent, algorithm, {k: v for k, v in hyperparams.items() if k not in ("policy", "algo")},
                          given)
    try:
        return make_agent(config.agent, train_env, hyperparams, seed=config.seed, **kwargs)
    except (AssertionError, TypeError, ValueError) as error:
        if given:
            raise UsageError(f"-params {format_pairs(given)}: {config.agent} rejects them ({_describe(error)})") from error
        raise mismatch_error(config, _describe(error)) from error


def format_pairs(pairs: dict[str, Any]) -> str:
    return " ".join(f"{key}:{value}" for key, value in pairs.items())


def check_reference_agent_fits(config: RunConfig, model: Any, eval_env: Any) -> None:
    """A non-learning agent must act on one observation of the env (a copy acts; nothing is consumed)."""
    if get_entry(config.agent).learns:
        return
    problem = _reference_agent_problem(model, eval_env)
    if problem is not None:
        raise mismatch_error(config, problem)


def _reference_agent_problem(model: Any, env: Any) -> str | None:
    """None if a copy of ``model`` returns a valid action for a sample observation, else what went wrong."""
    from train.checkpoint import capture_rng, restore_rng

    space = copy.deepcopy(env.observation_space)
    space.seed(0)
    sample = space.sample()
    observation = np.expand_dims(sample, 0) if isinstance(sample, np.ndarray) else sample
    rng = capture_rng()
    try:
        action, _ = copy.deepcopy(model).predict(observation, deterministic=True)
        valid = env.action_space.contains(np.asarray(action).reshape(-1, *env.action_space.shape)[0].astype(
            env.action_space.dtype))
    except Exception as error:  # noqa: BLE001 - any failure means the agent cannot act here
        return _describe(error)
    finally:
        restore_rng(rng)
    return None if valid else f"its action {action!r} is not in the action space {env.action_space}"


def fitting_agents(config: RunConfig) -> list[str]:
    """Registered agents that can be built on (and, if they do not learn, act in) ``config``'s env."""
    from train.environments import make_env

    fitting = []
    env = make_env(dataclasses.replace(config, n_envs=1), evaluation=True)
    try:
        for name in sorted(AGENTS):
            if agent_problem(name, config.env_id, env) is None:
                fitting.append(name)
    finally:
        env.close()
    return fitting


def agent_problem(name: str, env_id: str, env: Any) -> str | None:
    """None if agent ``name``, with its hyperparameter file's settings, can be built on ``env`` and act in it;
    else what went wrong."""
    from agents.hyperparams import load_hyperparams, resolve_hyperparams

    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            hyperparams = {k: v for k, v in resolve_hyperparams(load_hyperparams(name, env_id)).items() if k not in RUN_KEYS}
            model = make_agent(name, env, hyperparams, seed=0)
    except Exception as error:  # noqa: BLE001 - whatever the algorithm refuses, the agent does not fit
        return _describe(error)
    return None if get_entry(name).learns else _reference_agent_problem(model, env)


def check_env_kwargs(env_id: str, env_kwargs: dict[str, Any]) -> None:
    """Raise a :class:`UsageError` unless ``env_id`` can be built with ``env_kwargs``."""
    build_env(RunConfig(env_id=env_id, agent="random", seed=0, n_timesteps=0, n_envs=1, env_kwargs=dict(env_kwargs)),
              evaluation=True).close()


def check_agent_fits_env(env_id: str, agent: str, env_kwargs: dict[str, Any], *, agent_flag: str = "--agent",
                         env_flag: str = "--env") -> None:
    """Raise a :class:`UsageError` unless ``agent`` can be built on ``env_id`` with ``env_kwargs`` and act in it."""
    config = RunConfig(env_id=env_id, agent=agent, seed=0, n_timesteps=0, n_envs=1, env_kwargs=dict(env_kwargs))
    env = build_env(config, evaluation=True)
    try:
        problem = agent_problem(agent, env_id, env)
    finally:
        env.close()
    if problem is not None:
        raise mismatch_error(config, problem, agent_flag, env_flag)


def mismatch_error(config: RunConfig, problem: str, agent_flag: str = "--agent", env_flag: str = "--env") -> UsageError:
    return UsageError(
        f"{agent_flag} {config.agent} does not fit {env_flag} {config.env_id} ({problem}); "
        f"agents that fit it: {', '.join(fitting_agents(config)) or 'none'}"
    )


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0]


UNEXPECTED_KEYWORD = re.compile(r"unexpected keyword argument '(\w+)'")


def env_keywords(env: Any) -> list[str]:
    """Keyword arguments an env takes: its class's explicit ones and the fields of its ``config`` dataclass."""
    unwrapped = env.get_attr("unwrapped", [0])[0]
    names = set(_explicit_parameters(type(unwrapped).__init__)) - {"self"}
    config = getattr(unwrapped, "config", None)
    if dataclasses.is_dataclass(config):
        names |= {field.name for field in dataclasses.fields(config)}
    return sorted(names)


def build_env(config: RunConfig, *, evaluation: bool) -> Any:
    """``train.environments.make_env``, with bad ``--env-kwargs`` as a :class:`UsageError` naming them."""
    from train.environments import make_env

    try:
        return make_env(config, evaluation=evaluation)
    except (TypeError, ValueError) as error:
        message = str(error).split(" was raised from the environment creator")[0]
        unknown = UNEXPECTED_KEYWORD.search(message)
        if unknown is None:
            raise UsageError(f"--env-kwargs {format_pairs(config.env_kwargs)}: {message}") from error
        try:
            default_env = make_env(dataclasses.replace(config, env_kwargs={}, n_envs=1), evaluation=True)
            allowed = ", ".join(env_keywords(default_env))
            default_env.close()
        except Exception:  # noqa: BLE001 - listing is a courtesy
            allowed = "see the env's docstring"
        raise UsageError(f"--env-kwargs {unknown.group(1)}: not an argument of {config.env_id}; allowed: {allowed}") from error
