"""Speed of NoisyPong's oracle (``--agent oracle``) against stepping the env alone, in CPU time on one core.

    python benchmarks/bench_noisy_pong_oracle.py [--steps 3000] [--repeats 3] [--env-kwargs flip_prob:0.3]

In one process, on one thread (numpy's BLAS and torch limited to one), interleaved repeats of:

1. the env alone: ``NoisyPong-v0`` stepped with a fixed cycle through the 6 actions;
2. the oracle playing: each agent step is the oracle's ``predict`` on the frame shown (tracking and
   control) plus the env step with its action.

Times are process CPU time (``time.process_time``), so other jobs on the machine do not distort them. Prints
the medians over the repeats of env steps/s, oracle agent steps/s, the oracle's own milliseconds per step
and the ratio agent steps / env steps (median of the per-repeat ratios). Repeat ``r`` resets with seed ``r``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import torch
from bench_noisy_pong import steps_per_second  # the script's folder is on sys.path
from threadpoolctl import threadpool_limits

import envs  # noqa: F401
from agents.noisy_pong_oracle import PongOracle
from train.cli import parse_key_values

TARGET_STEPS_PER_SECOND = 200  # agent steps/s on one core at the default that a game evaluation needs


def oracle_seconds(env: gym.Env, steps: int, seed: int) -> tuple[float, float]:
    """CPU seconds of the oracle's ``predict`` and of the env steps over ``steps`` agent steps."""
    oracle = PongOracle(env)
    obs, _ = env.reset(seed=seed)
    state, thinking, stepping = None, 0.0, 0.0
    for _ in range(steps):
        start = time.process_time()
        action, state = oracle.predict(obs, state)
        middle = time.process_time()
        obs, _, terminated, truncated, _ = env.step(int(action))
        thinking, stepping = thinking + middle - start, stepping + time.process_time() - middle
        if terminated or truncated:
            obs, _ = env.reset()
            state = None
    return thinking, stepping


def measure(env: gym.Env, steps: int, repeats: int) -> dict[str, float]:
    """Medians over interleaved repeats: env steps/s, agent steps/s, oracle ms per step, agent/env ratio."""
    env_speeds, agent_speeds, thinking_ms, ratios = [], [], [], []
    for repeat in range(repeats):
        env_speed = steps_per_second(env, steps, repeat, clock=time.process_time)
        thinking, stepping = oracle_seconds(env, steps, repeat)
        agent_speed = steps / (thinking + stepping)
        env_speeds.append(env_speed)
        agent_speeds.append(agent_speed)
        thinking_ms.append(1000.0 * thinking / steps)
        ratios.append(agent_speed / env_speed)
    return {
        "env": statistics.median(env_speeds),
        "agent": statistics.median(agent_speeds),
        "oracle_ms": statistics.median(thinking_ms),
        "ratio": statistics.median(ratios),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="agent steps per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (medians reported)")
    parser.add_argument("--env-kwargs", nargs="*", default=[], help="NoisyPong-v0 arguments, e.g. flip_prob:0.1")
    args = parser.parse_args()
    kwargs = parse_key_values(args.env_kwargs, "--env-kwargs")
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        result = measure(gym.make("NoisyPong-v0", **kwargs), args.steps, args.repeats)
    setting = ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) or "defaults"
    print(f"NoisyPong-v0 ({setting}), CPU time on one thread, {args.steps} steps x {args.repeats} repeats (medians)")
    print(f"env alone (fixed actions)          {result['env']:8.0f} steps/s")
    print(f"oracle playing (predict + step)    {result['agent']:8.0f} agent steps/s   "
          f"ratio to the env alone {result['ratio']:.3f}")
    print(f"oracle predict alone               {result['oracle_ms']:8.2f} ms per step")
    verdict = "meets" if result["agent"] >= TARGET_STEPS_PER_SECOND else "misses"
    print(f"target >= {TARGET_STEPS_PER_SECOND} agent steps/s on one core: {verdict}")


if __name__ == "__main__":
    main()
