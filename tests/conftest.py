"""Shared fixtures: every env id this package registers, and a temporary log folder."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch

import envs  # noqa: F401  (registers the ids)
from train.run import main as train_main


def suite_env_ids() -> list[str]:
    """Ids whose entry point lives in this package's ``envs``."""
    return sorted(
        env_id
        for env_id, spec in gym.registry.items()
        if isinstance(spec.entry_point, str) and spec.entry_point.startswith("envs.")
    )


@pytest.fixture
def log_folder(tmp_path):
    return str(tmp_path / "logs")


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a 2-core machine more threads make the tests' small batches slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def random_run(tmp_path_factory):
    """A finished run folder of the random agent on a small NoisyCartPole (nothing to train)."""
    folder = tmp_path_factory.mktemp("logs")
    summary = train_main(["--env", "NoisyCartPole-v0", "--agent", "random", "-f", str(folder), "--final-eval-episodes",
                          "1", "--no-tensorboard", "--verbose", "0", "--env-kwargs", "bits_per_variable:64"])  # fmt: skip
    return summary["run_dir"]
