"""eval.enjoy and eval.watch: frames for every env, SCAL spike rasters, videos with the right length and rate, bad input."""

from __future__ import annotations

import shutil
import sys

import gymnasium as gym
import imageio.v2 as imageio
import numpy as np
import pytest
import torch
from PIL import Image

from agents.hyperparams import resolve_hyperparams
from agents.registry import make_agent
from eval.enjoy import cli, main, replay_run
from eval.runs import train_argv
from eval.watch.canvas import TITLE_HEIGHT
from eval.watch.cartpole import draw_cartpole
from eval.watch.observation import bits_panel, newest_frame
from eval.watch.play import play, replay_env
from eval.watch.raster import SpikeRecorder
from eval.watch.video import write_video
from eval.watch.views import PANEL_HEIGHT, CartPoleView, StepRecord, View, view_class
from tests.cli_checks import one_line_error
from tests.conftest import suite_env_ids
from train.cli import parse_args
from train.config import RunConfig, resolve_config
from train.run import main as train_main

SYNAPSE_SMALL = {"data_source": "sklearn", "n_steps": 6, "capacity": 32}
SMALL_KWARGS = {
    "NoisyCartPole-v0": {"bits_per_variable": 64},
    "SynapseUnsupSingle-v0": {**SYNAPSE_SMALL, "n_exc": 16},
    "SynapseUnsupDual-v0": {**SYNAPSE_SMALL, "n_exc": 16},
    "SynapseSemi-v0": {**SYNAPSE_SMALL, "hidden_sizes": [16]},
    "SynapseGradMimicry-v0": {**SYNAPSE_SMALL, "hidden_sizes": [16]},
}
FRAME_HEIGHT = TITLE_HEIGHT + PANEL_HEIGHT + 2 * 6  # one row of titled panels with the gap above and below


@pytest.mark.parametrize("env_id", suite_env_ids())
def test_frames_of_every_env_show_scene_observation_and_agent(env_id):
    config = RunConfig(env_id, "random", seed=0, n_timesteps=0, n_envs=1, env_kwargs=SMALL_KWARGS.get(env_id, {}))
    venv, view = replay_env(config)
    try:
        replay = play(make_agent("random", venv, seed=0), venv, view, episodes=1, deterministic=True, max_frames=4)
    finally:
        venv.close()
    assert len(replay.frames) == min(4, replay.lengths[0])
    assert all(frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 for frame in replay.frames)
    assert {frame.shape[0] for frame in replay.frames} == {FRAME_HEIGHT}
    assert len({frame.shape for frame in replay.frames}) == 1  # one size: a video needs it
    assert view_class(env_id) is not View  # every env of the suite has its own view
    assert replay.fps >= 4


def test_cartpole_scene_follows_the_clean_state():
    def cart_column(image):
        dark = np.all(image < 60, axis=2)  # the cart is the only dark filled area
        return np.nonzero(dark)[1].mean()

    left, right = draw_cartpole(np.array([-1.0, 0, 0, 0])), draw_cartpole(np.array([1.0, 0, 0, 0]))
    assert cart_column(left) < left.shape[1] / 2 < cart_column(right)
    leaning = draw_cartpole(np.array([0.0, 0, 0.2, 0]))  # pole tip right of the axle when theta > 0
    pole = np.all(leaning == (202, 152, 101), axis=2)
    rows, columns = np.nonzero(pole)
    assert columns[rows.argmin()] > columns[rows.argmax()]


def test_bits_panel_shows_each_variable_in_its_block():
    bits = np.zeros(4 * 64, np.int8)
    bits[64:128] = 1  # the second variable all ones
    image = bits_panel(bits, 4)
    assert image.shape == (17, 17)
    assert image[:8, 9:].min() == 255  # second block white
    assert image[:8, :8].max() == 0 and image[9:, :8].max() == 0 and image[9:, 9:].max() == 0
    assert image[8, 0] == 128  # the grey gap between blocks
    assert newest_frame(np.arange(12), 4).tolist() == [8, 9, 10, 11]


def test_scal_rl_frames_add_a_spike_raster_of_the_prototypes():
    config = resolve_config(
        parse_args(train_argv("NoisyCartPole-v0", "scal_rl", 0, -1, SMALL_KWARGS["NoisyCartPole-v0"]))
    )
    venv, view = replay_env(config)
    try:
        hyperparams = resolve_hyperparams(config.hyperparams)
        hyperparams["n_steps"], hyperparams["batch_size"] = 32, 32
        model = make_agent("scal_rl", venv, hyperparams, seed=0)
        plain = play(make_agent("random", venv, seed=0), venv, view, episodes=1, deterministic=True, max_frames=3)
        replay = play(model, venv, view, episodes=1, deterministic=True, max_frames=3)
    finally:
        venv.close()
    perception = model.policy.scal_perception
    n_prototypes = perception.n_prototypes
    assert replay.frames[0].shape[1] > plain.frames[0].shape[1]  # one more panel: the raster
    perception.running_thresholds.fill_(0.05)  # low thresholds: an untrained perception fires
    recorder = SpikeRecorder(perception)
    observation = np.random.default_rng(0).integers(0, 2, (1, *venv.observation_space.shape))
    model.predict(observation, deterministic=True)
    with torch.no_grad():
        rates = perception(torch.as_tensor(observation).float())[0, :n_prototypes].numpy()
    np.testing.assert_allclose(recorder.record(), rates, atol=1e-6)  # the spike rates the policy acted on
    assert 0.0 < rates.mean() < 1.0
    recorder.close()
    assert replay.frames[0].shape[0] == FRAME_HEIGHT
    assert not model.policy.scal_perception._forward_hooks  # the recorder removed its hook
    assert n_prototypes == 64


def test_same_seed_replays_the_same_episode(random_run):
    first, second = (replay_run(random_run, episodes=2, seed=5, max_frames=30) for _ in range(2))
    other = replay_run(random_run, episodes=2, seed=6, max_frames=30)
    assert first.returns == second.returns and first.lengths == second.lengths
    assert all(np.array_equal(a, b) for a, b in zip(first.frames, second.frames, strict=True))
    assert first.returns != other.returns or not all(
        np.array_equal(a, b) for a, b in zip(first.frames, other.frames, strict=False)
    )


@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".gif"])
def test_video_has_the_frames_and_rate_asked_for(random_run, tmp_path, suffix, capsys):
    path = tmp_path / f"episode{suffix}"
    result = main([random_run, "--episodes", "2", "--video", str(path), "--max-frames", "12", "--fps", "25"])
    frames = result["replay"].frames
    assert len(frames) == 12 and result["video"] == path
    assert "mean return" in capsys.readouterr().out
    if suffix == ".gif":
        with Image.open(path) as gif:
            assert gif.n_frames == 12 and gif.info["duration"] == 40  # ms per frame at 25 fps
    else:
        reader = imageio.get_reader(path)
        assert reader.count_frames() == 12 and reader.get_meta_data()["fps"] == pytest.approx(25)
        first = reader.get_data(0)
        reader.close()
        height, width = frames[0].shape[:2]
        assert first.shape[0] % 16 == 0 and first.shape[0] - 16 < height <= first.shape[0]
        assert first.shape[1] % 16 == 0 and first.shape[1] - 16 < width <= first.shape[1]


def test_video_rate_defaults_to_the_env_render_fps(random_run, tmp_path):
    replay = replay_run(random_run, max_frames=5)
    assert replay.fps == 50  # NoisyCartPole's metadata
    path = write_video(tmp_path / "clip.mp4", replay.frames, replay.fps)
    with imageio.get_reader(path) as reader:
        assert reader.get_meta_data()["fps"] == pytest.approx(50)


def test_bad_arguments_end_in_one_line(random_run, tmp_path, capsys):
    assert "does not exist" in one_line_error(capsys, cli, [str(tmp_path / "missing")])
    assert "'.avi'" in one_line_error(capsys, cli, [random_run, "--video", str(tmp_path / "x.avi")])
    assert "no config.yml" in one_line_error(capsys, cli, [str(tmp_path)])
    no_model = tmp_path / "no_model"
    shutil.copytree(random_run, no_model, ignore=shutil.ignore_patterns("model.*"))
    assert "no model.zip" in one_line_error(capsys, cli, [str(no_model)])
    assert "best_model.zip" in one_line_error(capsys, cli, [random_run, "--model", "best"])
    assert "--episodes 0" in one_line_error(capsys, cli, [random_run, "--episodes", "0"])
    assert "--fps 0" in one_line_error(capsys, cli, [random_run, "--fps", "0"])
    assert "--bogus" in one_line_error(capsys, cli, [random_run, "--bogus"])  # argparse's own mistakes too


def test_cartpole_view_marks_the_applied_action_after_the_delay():
    env = gym.make("NoisyCartPole-v0", bits_per_variable=64, min_delay=2, max_delay=2).unwrapped
    view = CartPoleView(env)
    _, info = env.reset(seed=0)
    record = StepRecord(0, 0, np.zeros(256), 1, 1.0, 1.0, {"applied_force": 0.0, "delay": 2, "state": info["state"]})
    assert view.action_lines(record)[:2] == ["chosen  right", "applied none yet"]
    record.info["applied_force"] = -10.0
    assert view.action_lines(record)[1] == "applied left"


def test_video_falls_back_to_gif_without_imageio_ffmpeg(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if it were not installed: import fails
    frames = [np.full((20, 30, 3), value, np.uint8) for value in (0, 128, 255)]
    path = write_video(tmp_path / "clip.mp4", frames, 10)
    assert path == tmp_path / "clip.gif" and not (tmp_path / "clip.mp4").exists()
    assert "pip install imageio-ffmpeg" in capsys.readouterr().err
    with Image.open(path) as gif:
        assert gif.n_frames == 3 and gif.info["duration"] == 100


def test_docstring_examples_hold():
    """``eval`` is outside pytest's doctest paths: run the examples of the frame modules here."""
    import doctest

    from eval.watch import canvas, cartpole, observation, raster

    for module in (canvas, cartpole, observation, raster):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_a_learned_model_replays_the_seed_asked_for_not_its_training_seed(tmp_path):
    """SB3's load seeds the env with the model's training seed; the replay seeds it again with the asked seed."""
    summary = train_main(["--env", "NoisyCartPole-v0", "--agent", "ppo", "-n", "64", "--n-envs", "1", "-params",
                          "n_steps:64", "batch_size:64", "n_epochs:1", "-f", str(tmp_path), "--eval-freq", "0",
                          "--final-eval-episodes", "1", "--no-tensorboard", "--verbose", "0",
                          "--env-kwargs", "bits_per_variable:64"])  # fmt: skip
    replays = {seed: replay_run(summary["run_dir"], episodes=3, seed=seed, max_frames=0) for seed in (0, 5, 6)}
    assert replays[5].lengths != replays[6].lengths  # the seed reaches the env
    assert replays[5].lengths != replays[0].lengths  # and is not replaced by the training seed (0)
