"""eval.experiments.noisy_cartpole_failures: each episode's end named from the env's true state."""

from __future__ import annotations

import numpy as np
import pytest

from eval.enjoy import replay_run
from eval.experiments.noisy_cartpole_failures import end_cause, episode_ends, main


@pytest.mark.parametrize(
    ("state", "terminated", "cause"),
    [
        (np.array([2.5, 0.0, 0.0, 0.0]), True, "cart"),
        (np.array([-2.41, 0.0, 0.1, 0.0]), True, "cart"),
        (np.array([1.0, 0.0, 0.3, 0.0]), True, "pole"),
        (np.array([2.5, 0.0, 0.3, 0.0]), False, "none"),
    ],
)
def test_end_cause(state, terminated, cause):
    assert end_cause(state, terminated) == cause


def test_episode_ends_match_the_replayed_episodes(random_run):
    ends = episode_ends(random_run, episodes=4, seed=123)
    replay = replay_run(random_run, episodes=4, deterministic=True, seed=123, max_frames=0)
    assert [length for length, _ in ends] == replay.lengths
    assert all(cause in ("cart", "pole") for _, cause in ends)  # a random policy never lasts 200 steps
    assert ends == episode_ends(random_run, episodes=4, seed=123)


def test_bad_episodes_exit_with_a_usage_error(random_run, capsys):
    with pytest.raises(SystemExit) as stop:
        main([random_run, "--episodes", "0"])
    assert stop.value.code == 2
    assert "--episodes" in capsys.readouterr().err
