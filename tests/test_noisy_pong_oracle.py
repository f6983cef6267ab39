"""NoisyPong's oracle: exact likelihoods, tracking on clean frames, determinism, what it may read."""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from agents.noisy_pong_oracle import Oracle, PongCleanReference, PongOracle
from agents.noisy_pong_oracle import geometry as g
from agents.noisy_pong_oracle.agent import delay_probabilities, detect
from agents.noisy_pong_oracle.ball import SPEEDS_Y, BallFilter, centre_x, centre_y
from agents.noisy_pong_oracle.controller import reflect
from agents.noisy_pong_oracle.likelihood import ball_llr_map, field_evidence, paddle_llr
from agents.oracle import CartPoleOracle
from agents.registry import load_agent, make_agent
from envs.noisy_pong_config import NoisyPongConfig
from eval.experiments.noisy_pong_oracle import DEFAULT_CELL, delay_name, plan

CLEAN = {"flip_prob": 0.0, "obs_delay": None}


def log_likelihood(frame: np.ndarray, clean: np.ndarray, flip_prob: float) -> float:
    """Brute force: sum over every field pixel of log P(seen | clean) for independent flips."""
    total = 0.0
    for row in range(g.FIELD_TOP, g.FIELD_BOTTOM + 1):
        for col in range(g.WIDTH):
            agree = (frame[row, col] > 0) == clean[row, col]
            total += np.log(1 - flip_prob) if agree else np.log(flip_prob)
    return total


def test_ball_and_paddle_likelihoods_equal_the_brute_force_ratio():
    rng = np.random.default_rng(0)
    flip_prob = 0.3
    frame = (rng.random((84, 84)) < 0.4).astype(np.uint8) * 255
    evidence = field_evidence(frame, flip_prob)
    empty = np.zeros((84, 84), bool)
    balls = ball_llr_map(evidence)
    for row, col in [(0, 0), (1, 5), (30, 40), (63, 20)]:  # anchors 0 and 63 reach one row into a wall
        with_ball = empty.copy()
        with_ball[g.FIELD_TOP - 1 + row : g.FIELD_TOP + row + 1, col : col + 2] = True
        expected = log_likelihood(frame, with_ball, flip_prob) - log_likelihood(frame, empty, flip_prob)
        assert balls[row, col] == pytest.approx(expected, abs=1e-4)
    paddles = paddle_llr(evidence)
    for top in (-3, 0, 25, 58):  # field rows; a paddle may hide partly behind a wall
        with_paddle = empty.copy()
        rows = slice(g.FIELD_TOP + max(top, 0), g.FIELD_TOP + min(top + g.PADDLE_HEIGHT, g.FIELD_ROWS))
        with_paddle[rows, g.PADDLE_COLUMNS[0] : g.PADDLE_COLUMNS[1]] = True
        expected = log_likelihood(frame, with_paddle, flip_prob) - log_likelihood(frame, empty, flip_prob)
        assert paddles[top + g.PADDLE_HEIGHT - 1] == pytest.approx(expected, abs=1e-4)


def test_ball_posterior_mixes_the_delays_exactly():
    delay_probs = np.array([0.0, 0.5, 0.3, 0.2])
    ball = BallFilter(delay_probs)
    ball.grid[:] = 0.0
    cells = [(0, 5, 30, 40), (1, 0, 2, 60)]  # (vx class, vy class, row, column); the second bounces back in time
    for cell in cells:
        ball.grid[cell] = 0.5
    ball.absent = 0.0
    llr = np.random.default_rng(1).normal(0.0, 2.0, ball_llr_map(np.zeros((g.FIELD_ROWS, g.WIDTH))).shape)
    ball.update(llr)

    def brute_force(i, j, row, col):
        total = 0.0
        for d, prob in enumerate(delay_probs):
            y = float(reflect(centre_y(row) - d * SPEEDS_Y[j]))
            x = centre_x(col) - d * ball.vx[i]
            r, c = int(np.rint(y - g.FIELD_TOP)), int(np.rint(x - 1))  # the anchor of a ball centred at (x, y)
            total += prob * np.exp(llr[r, c] if 0 <= c < llr.shape[1] else 0.0)
        return total

    expected = brute_force(*cells[0]) / brute_force(*cells[1])
    assert ball.grid[cells[0]] / ball.grid[cells[1]] == pytest.approx(expected, rel=1e-3)


def test_tracker_error_on_clean_frames_is_a_few_pixels():
    env = gym.make("NoisyPong-v0", **CLEAN)
    oracle = PongOracle(env)
    ball_errors, paddle_errors, forecasts, seen = [], [], [], []
    obs, _ = env.reset(seed=3)
    state = None
    for _ in range(150):
        action, state = oracle.predict(obs, state)
        ball, centre = detect(obs[..., 0])
        tracker = state[0]
        if ball is not None and tracker.ball.present > 0.5:
            ball_errors.append(np.hypot(*(tracker.ball.estimate()[:2] - ball)))
        if centre is not None and 20 < centre < 70:
            paddle_errors.append(abs(tracker.paddle.mean - centre))
        forecast = copy.deepcopy(tracker.ball)  # where the motion model puts the ball 3 steps on
        for _ in range(3):
            forecast.predict(tracker.paddle.mean)
        forecasts.append(forecast.estimate()[:2] if forecast.present > 0.5 else None)
        seen.append(ball)
        obs, *_ = env.step(int(action))
    assert len(ball_errors) > 50 and np.median(ball_errors) < 1.0 and np.percentile(ball_errors, 90) < 3.0, ball_errors
    assert np.median(paddle_errors) < 1.5
    ahead = [np.hypot(*(f - b)) for f, b in zip(forecasts[:-3], seen[3:], strict=True) if f is not None and b is not None]
    assert len(ahead) > 50 and np.median(ahead) < 2.0, ahead


def play_with_truth(oracle: PongOracle, env_kwargs: dict, steps: int, seed: int = 3) -> dict:
    """Play ``oracle`` on delayed frames beside a clean, undelayed twin of the game (same seed, same actions).

    Returns per step the tracker, the true ball and paddle from the twin's present frame, and the age
    of the frame shown (``info['delay']``, read here by the test only).
    """
    env = gym.make("NoisyPong-v0", **env_kwargs)
    twin = gym.make("NoisyPong-v0", **CLEAN)
    obs, info = env.reset(seed=seed)
    now, _ = twin.reset(seed=seed)
    state, record = None, {"ball": [], "paddle": [], "true_ball": [], "true_paddle": [], "age": [], "probs": []}
    past = [now]
    for _ in range(steps):
        action, state = oracle.predict(obs, state)
        tracker = state[0]
        ball, centre = detect(now[..., 0])
        shown = past[max(len(past) - 1 - info["delay"], 0)]
        if env_kwargs.get("flip_prob") == 0.0:  # the twin reproduces the frames shown
            assert np.array_equal(shown, obs)
        record["ball"].append(tracker.ball.estimate()[:2] if tracker.ball.present > 0.5 else None)
        record["paddle"].append(tracker.paddle.mean)
        record["true_ball"].append(ball)
        record["true_paddle"].append(centre)
        record["age"].append(info["delay"])
        record["probs"].append(tracker.paddle.age_probabilities)
        obs, _, _, _, info = env.step(int(action))
        now, *_ = twin.step(int(action))
        past.append(now)
    return record


def present_errors(record: dict) -> tuple[np.ndarray, np.ndarray]:
    """Distances of the tracked ball and paddle from where they are now (where both are in view)."""
    balls = [np.hypot(*(est - true)) for est, true in zip(record["ball"], record["true_ball"], strict=True)
             if est is not None and true is not None]
    paddles = [abs(est - true) for est, true in zip(record["paddle"], record["true_paddle"], strict=True)
               if true is not None and 20 < true < 70]
    return np.asarray(balls), np.asarray(paddles)


DELAYED_CLEAN = {"flip_prob": 0.0, "obs_delay": (1, 3)}


@pytest.fixture(scope="module")
def delayed_play() -> dict:
    return play_with_truth(PongOracle(gym.make("NoisyPong-v0", **DELAYED_CLEAN)), DELAYED_CLEAN, 300)


def test_tracker_follows_the_present_through_a_random_delay(delayed_play):
    balls, paddles = present_errors(delayed_play)
    assert len(balls) > 200 and np.median(balls) < 1.0 and np.percentile(balls, 80) < 3.0, np.percentile(balls, [50, 80])
    assert len(paddles) > 150 and np.median(paddles) < 1.0 and np.percentile(paddles, 80) < 3.0, paddles


def test_a_tracker_that_ignores_the_delay_lags_behind_the_paddle():
    env = gym.make("NoisyPong-v0", **DELAYED_CLEAN)
    aware = PongOracle(env)
    blind = PongOracle(env)
    blind.delay_probs = np.array([1.0])  # believes every frame is current
    _, aware_errors = present_errors(play_with_truth(aware, DELAYED_CLEAN, 300))
    _, blind_errors = present_errors(play_with_truth(blind, DELAYED_CLEAN, 300))
    assert np.mean(aware_errors) < 0.6 * np.mean(blind_errors), (np.mean(aware_errors), np.mean(blind_errors))


def test_paddle_filter_infers_the_age_of_each_frame(delayed_play):
    record = delayed_play
    # ages are told apart only while the paddle moves: frames of different ages then differ
    moving = [k for k in range(4, len(record["age"])) if len({record["true_paddle"][k - d] for d in (1, 2, 3)}) == 3
              and all(p is not None and 20 < p < 70 for p in record["true_paddle"][k - 3 : k])]
    guessed = [int(np.argmax(record["probs"][k])) for k in moving]
    told = [record["age"][k] for k in moving]
    assert len(moving) > 20 and np.mean(np.equal(guessed, told)) > 0.6, list(zip(guessed, told, strict=True))  # chance: 1/3


def test_same_frames_same_actions():
    def actions(seed):
        env = gym.make("NoisyPong-v0")
        oracle = make_agent("oracle", env, seed=seed)
        obs, _ = env.reset(seed=5)
        state, chosen = None, []
        for _ in range(30):
            action, state = oracle.predict(obs, state)
            chosen.append(int(action))
            obs, *_ = env.step(int(action))
        return chosen

    first = actions(0)
    assert first == actions(1) and len(set(first)) > 1


class FramesOnly:
    """An env stand-in that exposes only the spaces and the documented config: no emulator, no info."""

    def __init__(self, config: NoisyPongConfig, observation_space: gym.Space, action_space: gym.Space) -> None:
        self.observation_space, self.action_space = observation_space, action_space
        self.unwrapped = type("Documented", (), {"config": config})()


def test_oracle_acts_from_frames_and_documented_parameters_only():
    env = gym.make("NoisyPong-v0")
    blind = PongOracle(FramesOnly(env.unwrapped.config, env.observation_space, env.action_space))
    seeing = PongOracle(env)
    obs, _ = env.reset(seed=2)
    state_blind = state_seeing = None
    for _ in range(20):
        action, state_blind = blind.predict(obs, state_blind)
        same, state_seeing = seeing.predict(obs, state_seeing)
        assert action == same
        obs, *_ = env.step(int(action))
    with pytest.raises(ValueError, match="flip_prob=0"):
        PongCleanReference(env)  # only the clean reference reads true positions, and only from clean frames


def test_stacked_and_channel_first_observations_use_the_newest_frame():
    env = gym.make("NoisyPong-v0")
    oracle = PongOracle(env)
    obs, _ = env.reset(seed=4)
    older = np.zeros_like(obs)
    stacked_last = np.concatenate([older, older, older, obs], axis=-1)  # (84, 84, 4), oldest first
    stacked_first = np.moveaxis(stacked_last, -1, 0)[None]  # (1, 4, 84, 84), as after VecTransposeImage
    a, _ = oracle.predict(obs)
    b, _ = oracle.predict(stacked_last)
    c, _ = oracle.predict(stacked_first)
    assert int(a) == int(b) == int(c[0]) and c.shape == (1,)


def test_oracle_entry_picks_the_envs_oracle_and_loads(tmp_path):
    pong = gym.make("NoisyPong-v0")
    assert isinstance(make_agent("oracle", pong), PongOracle)
    assert isinstance(make_agent("oracle", gym.make("NoisyCartPole-v0")), CartPoleOracle)
    with pytest.raises(ValueError, match="oracle"):
        Oracle(gym.make("CartPole-v1"))
    make_agent("oracle", pong, seed=3).save(tmp_path / "model")
    loaded = load_agent("oracle", str(tmp_path / "model"), env=pong)
    assert isinstance(loaded, PongOracle) and loaded.seed == 3
    clean = gym.make("NoisyPong-v0", **CLEAN)
    assert isinstance(make_agent("pong_clean_reference", clean), PongCleanReference)


def test_delay_probabilities_follow_the_config():
    assert delay_probabilities(NoisyPongConfig(obs_delay=(1, 3))).tolist() == pytest.approx([0, 1 / 3, 1 / 3, 1 / 3])
    assert delay_probabilities(NoisyPongConfig(obs_delay=None)).tolist() == [1.0]


def test_the_default_camera_is_one_the_oracle_solves():
    """The env's default (flip_prob, obs_delay) has an oracle cell of 9 games in the committed curve at >= +15."""
    flip, delay = DEFAULT_CELL
    assert (flip, delay) == (NoisyPongConfig().flip_prob, "1")
    with open(Path(__file__).resolve().parents[1] / "eval/results/noisy_pong/oracle/solvability.csv") as curve:
        (row,) = [r for r in csv.DictReader(curve) if (r["agent"], float(r["flip_prob"]), r["delay"]) == ("oracle", flip, delay)]
    assert int(row["games"]) == 9 and float(row["mean"]) >= 15
    args = type("Args", (), {"delays": ["1-2"], "flip_probs": [0.3], "seeds": [0], "games": 1,
                             "agents": ["oracle", "random"]})()
    cells = {(job["agent"], job["flip_prob"], job["delay"]) for job in plan(args)}
    assert cells == {("oracle", 0.3, "1-2"), ("random", flip, delay)}


@pytest.mark.parametrize("obs_delay, name", [(None, "off"), ((0, 0), "off"), ((1, 1), "1"), ([1, 3], "1-3")])
def test_delay_names_match_the_driver_cells(obs_delay, name):
    assert delay_name(obs_delay) == name
