"""Throughput of NoisyPong-v0 against the same Atari preprocessing of ``ALE/Pong-v5``, in the same process.

    python benchmarks/bench_noisy_pong.py [--steps 2000] [--repeats 5]
    python benchmarks/bench_noisy_pong.py --train [--steps 8192] [--repeats 2]

Prints env steps/s (one step = 4 emulator frames) of:
1. the reference: ``ALE/Pong-v5`` (``frameskip=1``) + ``gymnasium.wrappers.AtariPreprocessing`` (frame skip 4,
   30 no-ops, 84x84 grayscale), the pipeline every Atari agent pays for;
2. ``NoisyPong-v0`` at its defaults (binarised, pixel flips 0.20, delay 1) and with noise and delay off;
and the ratios NoisyPong / reference. Each ratio is the median over interleaved repeats, so a machine that
slows down mid-run affects both sides alike. Actions are a fixed cycle through the 6 actions.
The oracle's speed has its own benchmark: ``benchmarks/bench_noisy_pong_oracle.py``.

``--train``: PPO's training steps/s on NoisyPong-v0 (``train/run.py``, no periodic evaluation, torch's default
threads) for each set-up of ``TRAIN_VARIANTS`` against the reference (``ppo``: SB3's float32 NatureCNN, with
the C library's allocator), each run in a fresh process (the allocator setting is per process),
interleaved; the ratio is total reference time over total variant time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import ale_py
import gymnasium as gym
import torch
from gymnasium.wrappers import AtariPreprocessing
from training_speed import training_fps

import envs  # noqa: F401

gym.register_envs(ale_py)

_NIPS = "policy_kwargs:{features_extractor_class: agents.fast_cnn.FastCNN, features_extractor_kwargs: {precision: bf16, architecture: nips}}"
#: PPO set-ups compared by ``--train`` (``train/run.py`` arguments); the first is the reference.
TRAIN_VARIANTS = {
    "ppo, system allocator (reference)": ["--agent", "ppo", "--allocator", "system"],
    "ppo": ["--agent", "ppo"],
    "ppo_fast (NatureCNN channels-last, bf16)": ["--agent", "ppo_fast"],
    "ppo_fast, nips network (smaller)": ["--agent", "ppo_fast", "-params", _NIPS],
}


def reference_env() -> gym.Env:
    return AtariPreprocessing(gym.make("ALE/Pong-v5", frameskip=1), noop_max=30, frame_skip=4, screen_size=84)


def steps_per_second(env: gym.Env, steps: int, seed: int = 0, clock=time.perf_counter) -> float:
    """Env steps per second of ``clock`` with a fixed cycle through the 6 actions."""
    env.reset(seed=seed)
    start = clock()
    for t in range(steps):
        _, _, terminated, truncated, _ = env.step(t % 6)
        if terminated or truncated:
            env.reset()
    return steps / (clock() - start)


def train_speeds(steps: int, repeats: int) -> None:
    """Print PPO training steps/s of each of ``TRAIN_VARIANTS`` and its ratio to the reference."""
    seconds = dict.fromkeys(TRAIN_VARIANTS, 0.0)
    for _ in range(repeats):
        for name, extra in TRAIN_VARIANTS.items():
            argv = ["--env", "NoisyPong-v0", "-n", str(steps), *extra]
            seconds[name] += steps / training_fps(argv, "logs/bench_noisy_pong")
    reference = next(iter(seconds.values()))
    print(f"PPO on NoisyPong-v0, {steps} steps x {repeats}, torch's default threads ({torch.get_num_threads()})")
    for name, total in seconds.items():
        print(f"{name:50s} {steps * repeats / total:8.0f} steps/s   ratio to reference {reference / total:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="env steps per measurement (2000; --train: 8192)")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (5; --train: 2)")
    parser.add_argument("--train", action="store_true", help="PPO training steps/s of each network instead")
    args = parser.parse_args()
    if args.train:
        train_speeds(args.steps or 8192, args.repeats or 2)
        return
    args.steps, args.repeats = args.steps or 2000, args.repeats or 5
    torch.set_num_threads(1)
    candidates = {
        "NoisyPong-v0 (defaults)": gym.make("NoisyPong-v0"),
        "NoisyPong-v0 (flip_prob=0, obs_delay=None)": gym.make("NoisyPong-v0", flip_prob=0.0, obs_delay=None),
    }
    reference = reference_env()
    rows = {name: [] for name in candidates}
    for _ in range(args.repeats):
        base = steps_per_second(reference, args.steps)
        for name, env in candidates.items():
            rows[name].append((steps_per_second(env, args.steps), base))
    bases = [base for pairs in rows.values() for _, base in pairs]
    print(f"reference ALE/Pong-v5 + AtariPreprocessing: {statistics.median(bases):8.0f} steps/s")
    for name, pairs in rows.items():
        speed = statistics.median(s for s, _ in pairs)
        ratio = statistics.median(s / b for s, b in pairs)
        print(f"{name:45s} {speed:8.0f} steps/s   ratio to reference {ratio:.2f}")


if __name__ == "__main__":
    main()
