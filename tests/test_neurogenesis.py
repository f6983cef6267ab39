"""SCAL-RL prototype growth: triggers, limits, masking, unchanged behaviour when off, save/load, resume, CLI."""

from __future__ import annotations

import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.logger import configure

import envs  # noqa: F401  (registers NoisyCartPoleStream-v0)
from agents.registry import make_agent
from agents.scal.callbacks import SCALCallback
from agents.scal.growth import GrowthConfig, PrototypeGrowth
from agents.scal.perception import SCALPerception
from agents.scal.policies import SCALActorCriticPolicy
from train.checks import UsageError
from train.run import main

BITS = 64  # per variable: 256-bit observations
N_PROTOTYPES = 16


def stream_observations(task: int, count: int, seed: int) -> torch.Tensor:
    """``count`` observations of one stream task under random actions (flip_prob 0.1)."""
    env = gym.make("NoisyCartPoleStream-v0", bits_per_variable=BITS, flip_prob=0.1, task=task)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    observations = []
    while len(observations) < count:
        observations.append(obs)
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    return torch.as_tensor(np.array(observations), dtype=torch.float32)


def growing_perception(**kwargs) -> SCALPerception:
    torch.manual_seed(0)
    defaults = {"n_prototypes": N_PROTOTYPES, "neurogenesis": True, "max_prototypes": 64, "n_components": 0}
    return SCALPerception(gym.spaces.MultiBinary(4 * BITS), **{**defaults, **kwargs})


def train_passes(perception: SCALPerception, observations: torch.Tensor, batch: int = 64) -> list[int]:
    """One training pass per batch; the active count after each."""
    perception.train()
    counts = []
    with torch.no_grad():
        for start in range(0, len(observations), batch):
            perception(observations[start : start + batch])
            counts.append(perception.n_active_prototypes)
    return counts


@pytest.fixture(scope="module")
def tasks() -> list[torch.Tensor]:
    return [stream_observations(task, 64 * 80, seed=task) for task in range(3)]


def test_growth_fires_after_a_task_switch_and_not_on_a_stationary_stream(tasks):
    perception = growing_perception()
    stationary = train_passes(perception, tasks[0])
    assert stationary == [N_PROTOTYPES] * len(stationary)  # 80 passes on one task: no growth
    after_switch = train_passes(perception, tasks[1][: 64 * 10])
    assert after_switch[-1] > N_PROTOTYPES  # the new code is novel: growth within 10 passes
    assert perception.growth.running_growth_events >= 1


def test_growth_beside_per_variable_prototypes_grows_only_the_state_prototypes(tasks):
    """``group_prototypes`` add 4 x 3 neurons after the state prototypes' slots: growth adds state prototypes, each
    grown neuron starts at the mean threshold of the active state neurons, the group neurons keep theirs."""
    perception = growing_perception(group_prototypes=3, n_groups=4)
    slots, width = perception.n_prototypes, perception.features_dim
    train_passes(perception, tasks[0])
    novel = perception.represent(tasks[1][:64])
    for _ in range(10):
        before, active = perception.running_thresholds.clone(), perception.growth.mask.clone()
        event = perception.grow(novel)
        if event is not None:
            break
    assert event is not None and int(event.slots.max()) < slots
    expected = (before[:slots] * active).sum() / active.sum()
    torch.testing.assert_close(perception.running_thresholds[event.slots], expected.expand(len(event.slots)))
    assert torch.equal(perception.running_thresholds[slots:], before[slots:])  # the 12 group neurons
    train_passes(perception, tasks[1][:128])  # rates of state and group neurons together reach the growth module
    assert perception.n_active_prototypes > N_PROTOTYPES and perception.features_dim == width
    assert 0.0 < float(perception.running_spike_rate) <= 1.0


def test_new_prototypes_start_on_the_novel_inputs_and_their_neurons_come_alive(tasks):
    perception = growing_perception()
    train_passes(perception, tasks[0])
    novel = tasks[1][:64]
    perception.eval()
    with torch.no_grad():
        silent = perception(novel)[:, N_PROTOTYPES : 2 * N_PROTOTYPES]  # spike rates of not yet grown neurons
    assert torch.count_nonzero(silent) == 0
    train_passes(perception, novel)
    event = perception.growth_events[0]
    features = perception.represent(novel)
    assert torch.allclose((event.prototypes @ features.T).max(dim=1).values, torch.ones(len(event.slots)), atol=1e-5)
    assert torch.equal(event.slots, torch.arange(N_PROTOTYPES, N_PROTOTYPES + len(event.slots)))
    perception.eval()
    with torch.no_grad():
        rates = perception(novel)[:, : perception.n_prototypes]
    assert rates[:, event.slots].sum() > 0  # grown neurons now receive input and spike
    assert rates[:, perception.n_active_prototypes :].sum() == 0


def test_the_active_count_never_exceeds_max_prototypes():
    growth = PrototypeGrowth(20, 25, GrowthConfig(cooldown=0))
    features = torch.nn.functional.normalize(torch.randn(32, 8), dim=1)
    prototypes = torch.cat([features[:20], features[:5]])
    growth.step(features, prototypes)
    for _ in range(31):  # saturated for good: a trigger every pass
        growth.record_rates(torch.ones(25))
    counts = []
    for _ in range(6):
        growth.step(features, prototypes)
        counts.append(growth.n_active)
    assert counts == [22, 24, 25, 25, 25, 25] and growth.running_growth_events == 3


def test_saturation_grows_a_tenth_more_units():
    growth = PrototypeGrowth(20, 40, GrowthConfig(cooldown=0))
    features = torch.nn.functional.normalize(torch.randn(32, 8), dim=1)
    prototypes = features[:20].repeat(2, 1)  # every input close to an active prototype: no novelty
    growth.step(features, prototypes)
    assert growth.step(features, prototypes) is None
    growth.record_rates(torch.ones(40))
    for _ in range(30):  # the running rates climb past 0.85
        growth.record_rates(torch.ones(40))
    event = growth.step(features, prototypes)
    assert event is not None and event.trigger == "saturation" and len(event.slots) == 2 and growth.n_active == 22


@pytest.mark.parametrize(("rise", "expected"), [(0.1, "td_error"), (None, None)])
def test_a_rising_td_error_grows_only_when_its_trigger_is_on(rise, expected):
    growth = PrototypeGrowth(4, 8, GrowthConfig(cooldown=0, td_error_rise=rise))
    features = torch.nn.functional.normalize(torch.randn(16, 4), dim=1)
    prototypes = torch.cat([torch.eye(4), -torch.eye(4)])
    growth.step(features, prototypes)
    for _ in range(20):
        growth.record_td_error(1.0)
    assert growth.step(features, prototypes) is None  # a steady TD error
    for _ in range(3):
        growth.record_td_error(2.0)
    event = growth.step(features, prototypes)
    assert (event.trigger if event else None) == expected


def test_pruning_frees_the_slots_of_prototypes_that_never_win():
    growth = PrototypeGrowth(4, 8, GrowthConfig(prune_after=3, novelty_threshold=-1.0))
    prototypes = torch.cat([torch.eye(4), torch.eye(4)])
    features = torch.eye(4)[:2].repeat(8, 1)  # only prototypes 0 and 1 ever win
    for _ in range(6):
        growth.step(features, prototypes)
    assert growth.mask.tolist() == [1, 1, 0, 0, 0, 0, 0, 0] and growth.running_pruned == 2


def test_with_nothing_to_grow_the_mask_changes_no_output_bit():
    """Growth at capacity (``max_prototypes == n_prototypes``) runs every masked path; outputs stay bit-identical."""
    observations = torch.randint(0, 2, (6, 32, 4 * BITS), generator=torch.Generator().manual_seed(0)).float()
    outputs = []
    for growth in ({}, {"neurogenesis": True, "max_prototypes": N_PROTOTYPES}):
        torch.manual_seed(0)
        perception = SCALPerception(gym.spaces.MultiBinary(4 * BITS), n_prototypes=N_PROTOTYPES, **growth)
        perception.train()
        features = [perception(batch) for batch in observations]
        outputs.append((torch.cat(features), perception.running_prototypes, perception.running_thresholds))
    assert all(torch.equal(a, b) for a, b in zip(*outputs, strict=True))


def test_without_growth_the_perception_computes_what_it_did_before_growth_existed():
    """Reference values from the perception as it was before neurogenesis (same seed, same passes)."""
    torch.manual_seed(0)
    perception = SCALPerception(gym.spaces.MultiBinary(64), n_frames=2, pool_size=4, n_components=0, projection_dim=8,
                                n_prototypes=6)
    generator = torch.Generator().manual_seed(1)
    batches = [torch.randint(0, 2, (16, 128), generator=generator).float() for _ in range(4)]
    perception.train()
    for batch in batches[:3]:
        perception(batch)
    perception.eval()
    with torch.no_grad():
        features = perception(batches[3])
    assert float(features.sum()) == pytest.approx(14.20435, abs=1e-4)
    expected = [1.0084704, 0.9139602, 1.2949740, 0.8594458, 0.9140025, 1.1604391]
    assert perception.running_thresholds.tolist() == pytest.approx(expected, abs=1e-6)
    assert not [key for key in perception.state_dict() if "growth" in key]


# prototypes that settle within a few passes, so that a short run has a stationary stretch before the switch
FAST_PROTOTYPES = {"prototype_lr": 0.2, "growth_kwargs": {"cooldown": 4, "novelty_momentum": 0.8}}


def small_stream_model(seed: int = 0) -> PPO:
    env = gym.make("NoisyCartPoleStream-v0", bits_per_variable=BITS, flip_prob=0.1, switch_every=512)
    kwargs = {"n_prototypes": N_PROTOTYPES, "neurogenesis": True, "max_prototypes": 40, "n_components": 0,
              **FAST_PROTOTYPES}
    return make_agent("scal_ppo", env, {"policy": SCALActorCriticPolicy, "n_steps": 128,
                                        "batch_size": 64, "n_epochs": 2,
                                        "policy_kwargs": {"features_extractor_kwargs": kwargs}}, seed=seed)


def test_training_grows_logs_each_event_and_save_load_keeps_the_growth_state(tmp_path):
    model = small_stream_model()
    model.set_logger(configure(str(tmp_path), ["log"]))
    model.learn(1024, callback=SCALCallback())  # the code switches at step 512
    perception = model.policy.scal_perception
    events = int(perception.growth.running_growth_events)
    assert perception.n_active_prototypes > N_PROTOTYPES and events >= 1
    log = (tmp_path / "log.txt").read_text()
    # the last training phase's events are logged at the next rollout's end
    assert events - len(perception.growth_events) == log.count("scal growth at step")
    logged = re.findall(r"prototypes_active\s+\| (\d+)", log)  # scal/prototypes_active, grouped under "scal/"
    assert logged[0] == str(N_PROTOTYPES) and logged[-1] == str(perception.n_active_prototypes)
    model.save(tmp_path / "model")
    loaded = PPO.load(tmp_path / "model")
    expected, actual = model.policy.state_dict(), loaded.policy.state_dict()
    assert any(key.endswith("growth.running_active") for key in actual)
    assert expected.keys() == actual.keys() and all(torch.equal(expected[k], actual[k]) for k in expected)
    assert loaded.policy.scal_perception.n_active_prototypes == perception.n_active_prototypes
    obs = stream_observations(1, 8, seed=5).numpy()
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])


QUIET = ["--verbose", "0", "--no-tensorboard", "--eval-freq", "128", "--eval-episodes", "2", "--final-eval-episodes", "3"]
GROWTH_RUN = ["--env", "NoisyCartPoleStream-v0", "--agent", "scal_rl", "--seed", "3", "--neurogenesis",
              "--max-prototypes", "80", "--env-kwargs", f"bits_per_variable:{BITS}", "flip_prob:0.1", "switch_every:192",
              "-n", "1536", "--n-envs", "2", "-params", "n_steps:64", "batch_size:64", "n_epochs:2",
              f"policy_kwargs:{{features_extractor_kwargs: {FAST_PROTOTYPES}}}"]


def test_resume_with_growth_continues_exactly_as_if_never_stopped(tmp_path):
    straight = main([*GROWTH_RUN, *QUIET, "-f", str(tmp_path / "straight")])
    first_half = main([*GROWTH_RUN, *QUIET, "-f", str(tmp_path / "stopped"), "--steps", "768"])
    resumed = main(["--resume", first_half["checkpoint"], "--verbose", "0"])
    expected = PPO.load(Path(straight["run_dir"]) / "model.zip").policy
    actual = PPO.load(Path(resumed["run_dir"]) / "model.zip").policy
    halfway = PPO.load(Path(first_half["checkpoint"]) / "model.zip").policy
    # grown before the checkpoint (the first switch is at step 384): the resumed run starts from a grown state
    assert expected.scal_perception.n_active_prototypes >= halfway.scal_perception.n_active_prototypes > 64
    expected, actual = expected.state_dict(), actual.state_dict()
    assert all(torch.equal(expected[key], actual[key]) for key in expected)
    assert resumed["eval_returns"] == straight["eval_returns"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-prototypes", "100"], "--max-prototypes 100: needs --neurogenesis"),
        (["--neurogenesis", "--max-prototypes", "-5"], "--max-prototypes -5: must be >= 1"),
    ],
)
def test_bad_growth_flags_exit_with_one_line(flags, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--agent", "scal_rl", *flags, *QUIET, "-f", str(tmp_path)])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("agent", "max_prototypes", "message"),
    [("scal_rl", "10", r"max_prototypes=10 must be an integer >= n_prototypes \(64\)"),
     ("ppo", "100", "--agent ppo has no SCAL perception")],
)
def test_growth_flags_the_agent_cannot_take_are_usage_errors(agent, max_prototypes, message, tmp_path):
    with pytest.raises(UsageError, match=message):
        main(["--agent", agent, "--neurogenesis", "--max-prototypes", max_prototypes, *QUIET, "-f", str(tmp_path)])
    assert not (tmp_path / "NoisyCartPole-v0").exists() and not list(tmp_path.glob("*"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"neurogenesis": True, "max_prototypes": 8}, r"max_prototypes=8 must be an integer >= n_prototypes \(16\)"),
        ({"neurogenesis": True, "max_prototypes": -1}, "max_prototypes=-1"),
        ({"neurogenesis": True, "max_prototypes": 20.5}, "max_prototypes=20.5"),
        ({"neurogenesis": True, "max_prototypes": True}, "max_prototypes=True"),
        ({"max_prototypes": 32}, "need neurogenesis=True"),
        ({"growth_kwargs": {"cooldown": 1}}, "need neurogenesis=True"),
        ({"neurogenesis": "yes"}, "neurogenesis='yes' is invalid; allowed: True, False"),
        ({"neurogenesis": True, "use_prototypes": False}, "neurogenesis=True grows prototypes"),
        ({"neurogenesis": True, "growth_kwargs": {"speed": 2}}, r"unknown keys \['speed'\]; allowed: novelty_threshold"),
        ({"neurogenesis": True, "growth_kwargs": {"novelty_threshold": 1.5}}, r"novelty_threshold=1.5 must be .* \[-1.0"),
        ({"neurogenesis": True, "growth_kwargs": {"growth_fraction": 0.0}}, r"growth_fraction=0.0 must be .* \(0.0"),
        ({"neurogenesis": True, "growth_kwargs": {"saturation_rate": float("nan")}}, "saturation_rate=nan"),
        ({"neurogenesis": True, "growth_kwargs": {"cooldown": -1}}, "cooldown=-1 must be an integer >= 0"),
        ({"neurogenesis": True, "growth_kwargs": {"prune_after": 0}}, "prune_after=0 must be an integer >= 1"),
        ({"neurogenesis": True, "growth_kwargs": {"td_error_rise": -0.1}}, "td_error_rise=-0.1"),
    ],
)
def test_the_perception_rejects_bad_growth_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SCALPerception(gym.spaces.MultiBinary(4 * BITS), n_prototypes=N_PROTOTYPES, **kwargs)
