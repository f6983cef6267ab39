"""Throughput of NoisyCartPole, as ratios against references measured in the same process.

    python benchmarks/bench_noisy_cartpole.py

Prints:
1. single env steps/s at defaults relative to Gymnasium's CartPole-v1 (target >= 0.5);
2. the vector env with 1,024 copies: steps/s, and its noisy bits/s relative to numpy drawing the same
   number of Bernoulli samples (``rng.random(n) < p``) in this process (target >= 0.5);
3. the vector env with the one-bit ``sign`` code: steps/s (target 1M).

Each ratio is the median over interleaved repeats, so a machine that slows down mid-run affects
both sides of it alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import envs  # noqa: F401

VECTOR_ENVS = 1024


def steps_per_second(env: gym.Env, steps: int) -> float:
    env.reset(seed=0)
    start = time.perf_counter()
    for t in range(steps):
        _, _, terminated, truncated, _ = env.step(t & 1)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def vector_steps_per_second(steps: int, **kwargs) -> float:
    vec = gym.make_vec("NoisyCartPole-v0", num_envs=VECTOR_ENVS, vectorization_mode="vector_entry_point", **kwargs)
    vec.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, (steps, VECTOR_ENVS))
    start = time.perf_counter()
    for t in range(steps):
        vec.step(actions[t])
    return steps * VECTOR_ENVS / (time.perf_counter() - start)


def numpy_bernoulli_per_second(n: int, repeats: int, p: float = 0.45) -> float:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(repeats):
        _ = rng.random(n) < p
    return n * repeats / (time.perf_counter() - start)


def median_ratio(numerator: Callable[[], float], denominator: Callable[[], float], repeats: int) -> tuple:
    pairs = [(numerator(), denominator()) for _ in range(repeats)]
    return statistics.median(a / b for a, b in pairs), statistics.median(a for a, _ in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20_000, help="single-env steps per measurement")
    parser.add_argument("--vector-steps", type=int, default=100, help="vector steps per measurement")
    args = parser.parse_args()

    noisy, plain = gym.make("NoisyCartPole-v0"), gym.make("CartPole-v1")
    ratio, rate = median_ratio(lambda: steps_per_second(noisy, args.steps), lambda: steps_per_second(plain, args.steps), args.repeats)
    bits = noisy.observation_space.n
    print(f"single env (K=1024, {bits} bits, flip 0.45, delay 0-2): {rate:,.0f} steps/s = {ratio:.2f} x CartPole-v1 (target >= 0.5)")

    ratio, rate = median_ratio(
        lambda: vector_steps_per_second(args.vector_steps) * bits,
        lambda: numpy_bernoulli_per_second(VECTOR_ENVS * bits, args.vector_steps // 4),
        args.repeats,
    )
    print(f"vector env x{VECTOR_ENVS}: {rate / bits:,.0f} steps/s, {rate / 1e6:,.0f} Mbit/s of noisy bits = "
          f"{ratio:.2f} x numpy Bernoulli draws (rng.random(n) < p) (target >= 0.5)")

    rates = [vector_steps_per_second(args.vector_steps * 10, encoding="sign", bits_per_variable=1) for _ in range(args.repeats)]
    print(f"vector env x{VECTOR_ENVS}, sign code (4 bits): {statistics.median(rates):,.0f} steps/s (target 1,000,000)")


if __name__ == "__main__":
    main()
