"""Short learning tests: the baselines actually learn the clean version of the problem."""

from __future__ import annotations

from train.run import main


def test_ppo_solves_noisy_cartpole_without_noise(log_folder):
    """RL Zoo's CartPole PPO settings reach the 195 threshold with flip_prob=0 (delays still on)."""
    summary = main(["--agent", "ppo", "--seed", "0", "-f", log_folder, "--verbose", "0", "--no-tensorboard",
                    "--eval-freq", "0", "--save-freq", "0", "--final-eval-episodes", "20",
                    "--env-kwargs", "flip_prob:0.0"])
    assert summary["eval_mean"] >= 195, summary
