"""Evaluate compute-allocation policies on every input of a MetaUtility-v0 split (held-out ``test`` by default).

Used by ``eval/experiments/meta_utility_curves.py``; importable on its own:

    >>> from agents.meta_utility import AllBlocksAgent
    >>> from envs.meta_utility.env import MetaUtilityEnv
    >>> env = MetaUtilityEnv(split="test")
    >>> row = evaluate(AllBlocksAgent(env), env, n_inputs=20)
    >>> row["blocks_run"], row["flops_saved"] < 0
    (6.0, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.meta_utility.env import MetaUtilityEnv


def evaluate(agent: Any, env: MetaUtilityEnv, n_inputs: int | None = None, deterministic: bool = True) -> dict:
    """Accuracy, FLOPs saved, block share and return of ``agent`` over the first ``n_inputs`` inputs of ``env``.

    Args:
        agent: anything with SB3's ``predict(obs, deterministic=...)``.
        env: an (unwrapped) MetaUtility env; its ``eta`` only affects the reported return.
        n_inputs: how many inputs of the split, in order (all by default).
        deterministic: passed to ``predict``.
    """
    n_inputs = env.n_inputs if n_inputs is None else n_inputs
    correct, saved, cost, blocks, returns = (np.zeros(n_inputs) for _ in range(5))
    for index in range(n_inputs):
        obs, _ = env.reset(options={"index": index})
        terminated, total = False, 0.0
        while not terminated:
            action, _ = agent.predict(obs, deterministic=deterministic)
            obs, reward, terminated, _, info = env.step(int(action))
            total += reward
        correct[index], saved[index], cost[index] = info["correct"], info["flops_saved"], info["compute_cost"]
        blocks[index], returns[index] = info["blocks_run"].sum(), total
    return {
        "accuracy": float(correct.mean()),
        "flops_saved": float(saved.mean()),
        "block_share": float(cost.mean()),
        "blocks_run": float(blocks.mean()),
        "return": float(returns.mean()),
        "n_inputs": n_inputs,
    }


def oracle_cheapest_correct(env: MetaUtilityEnv) -> dict:
    """The label-aware upper reference: per input, the cheapest subset of blocks that classifies it correctly.

    An input that no subset gets right runs no block. It reads the labels, so no policy can match
    it; it bounds what any allocation can reach with this backbone.
    """
    n = env.n_blocks
    leaves = np.arange(2**n - 1, 2 ** (n + 1) - 1)  # tree nodes after the last decision
    runs = np.array([[(leaf + 1 - 2**n) >> (n - 1 - i) & 1 for i in range(n)] for leaf in leaves])
    share = runs @ (env.block_flops / env.block_flops.sum())
    labels = env._outcomes.labels
    correct = env._outcomes.probabilities[:, leaves].argmax(axis=2) == labels[:, None]
    best = np.argmax(correct - 1e-3 * share[None], axis=1)
    used = env.stem_flops + runs[best] @ env.block_flops + env.head_flops * (1 + runs[best].sum(axis=1))
    return {
        "accuracy": float(correct[np.arange(len(labels)), best].mean()),
        "flops_saved": float(np.mean(1 - used / env.flops_full)),
        "block_share": float(share[best].mean()),
        "blocks_run": float(runs[best].sum(axis=1).mean()),
        "n_inputs": len(labels),
    }
