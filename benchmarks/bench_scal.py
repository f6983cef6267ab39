"""SCAL-RL speed: training FPS against PPO's MlpPolicy on the same env in one process, and memory retrieval.

    nice -n 10 python benchmarks/bench_scal.py --steps 4096 --repeats 2

The two agents alternate (PPO, SCAL, PPO, SCAL, ...) so that load from other processes on a shared
machine hits both alike; the ratio is total SCAL steps/s over total PPO steps/s. Retrieval: top-5
cosine search in a 10,000-entry episodic memory (the spec: under 10 ms).
"""

from __future__ import annotations

import argparse
import time

import torch
from training_speed import training_fps

from agents.scal.memory import EpisodicMemory


def retrieval_ms(entries: int = 10_000, dim: int = 64, repeats: int = 200) -> float:
    memory = EpisodicMemory(capacity=entries, dim=dim)
    memory.add(torch.randn(entries, dim), torch.zeros(entries), torch.zeros(entries))
    query = torch.randn(1, dim)
    memory.retrieve(query, k=5)
    start = time.perf_counter()
    for _ in range(repeats):
        memory.retrieve(query, k=5)
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--agents", nargs=2, default=["ppo", "scal_rl"], help="reference, then the measured agent")
    parser.add_argument("--env-kwargs", nargs="*", default=["flip_prob:0.45"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    env_kwargs = ["--env-kwargs", *args.env_kwargs] if args.env_kwargs else []
    totals = {agent: 0.0 for agent in args.agents}
    for _ in range(args.repeats):
        for agent in args.agents:
            argv = ["--agent", agent, "-n", str(args.steps), *env_kwargs]
            totals[agent] += args.steps / training_fps(argv, "logs/bench_scal")
    reference, measured = args.agents
    fps = {agent: args.steps * args.repeats / seconds for agent, seconds in totals.items()}
    print(f"NoisyCartPole-v0 {' '.join(args.env_kwargs)}: {args.steps} steps x {args.repeats}, torch threads 1")
    for agent, value in fps.items():
        print(f"  {agent:>10}: {value:7.1f} steps/s")
    print(f"  ratio {measured}/{reference}: {fps[measured] / fps[reference]:.2f}")
    print(f"  memory retrieval, top-5 of 10,000 x 64: {retrieval_ms():.2f} ms (target < 10 ms)")


if __name__ == "__main__":
    main()
