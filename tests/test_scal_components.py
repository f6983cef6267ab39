"""SCAL-RL components: perception denoising, spike-rate homeostasis, prototypes, thresholds, memory, UCB."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from agents.scal.frames import BinaryFrameStack
from agents.scal.memory import EpisodicMemory
from agents.scal.perception import SCALPerception
from agents.scal.value import SCALValueStats, spiking_td_weights

N_BITS = 784  # the spec's criterion is stated on 784-bit inputs
VARIABLES = 4


def thermometer(values: np.ndarray, bits_per_variable: int = N_BITS // VARIABLES) -> np.ndarray:
    """Thermometer code of values in [-1, 1]: bit j of a variable is value > t_j."""
    thresholds = np.linspace(-1, 1, bits_per_variable + 2)[1:-1]
    return (values[:, :, None] > thresholds).reshape(len(values), -1).astype(np.float32)


def flip(bits: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    return np.where(rng.random(bits.shape) < p, 1 - bits, bits).astype(np.float32)


def make_perception(**kwargs) -> SCALPerception:
    torch.manual_seed(0)
    return SCALPerception(gym.spaces.MultiBinary(N_BITS), **kwargs)


def warm_up(perception: SCALPerception, rng: np.random.Generator, batches: int = 150, p: float = 0.45) -> None:
    """Training-mode passes over noisy codes: the prototypes and thresholds adapt."""
    perception.train()
    with torch.no_grad():
        for _ in range(batches):
            perception(torch.as_tensor(flip(thermometer(rng.uniform(-1, 1, (64, VARIABLES))), p, rng)))
    perception.eval()


def centred_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of two feature batches after removing each feature's batch mean."""
    a, b = a - a.mean(dim=0), b - b.mean(dim=0)
    return float((a * b).sum() / (a.norm() * b.norm()))


def test_perception_keeps_clean_and_flipped_inputs_correlated():
    rng = np.random.default_rng(0)
    perception = make_perception(n_components=VARIABLES)  # the signal subspace: one component per variable
    warm_up(perception, rng)
    clean = thermometer(rng.uniform(-1, 1, (512, VARIABLES)))
    noisy = flip(clean, 0.45, rng)
    with torch.no_grad():
        clean_features = perception(torch.as_tensor(clean))
        noisy_features = perception(torch.as_tensor(noisy))
    assert centred_correlation(clean_features, noisy_features) > 0.3
    # pairing each clean input with another input's noisy version must not correlate: the test can fail
    assert abs(centred_correlation(clean_features, noisy_features.roll(1, dims=0))) < 0.1


def test_spike_rate_within_band_after_warm_up():
    rng = np.random.default_rng(1)
    perception = make_perception(n_prototypes=32)
    with torch.no_grad():
        rates_before = perception(torch.as_tensor(thermometer(rng.uniform(-1, 1, (256, VARIABLES)))))[:, :32]
    warm_up(perception, rng, batches=300)
    with torch.no_grad():
        rates = perception(torch.as_tensor(flip(thermometer(rng.uniform(-1, 1, (256, VARIABLES))), 0.45, rng)))
    assert 0.05 <= float(rates[:, :32].mean()) <= 0.20
    assert 0.05 <= float(perception.running_spike_rate) <= 0.20
    assert not 0.05 <= float(rates_before.mean()) <= 0.20  # the band is the homeostasis' doing


def test_prototypes_move_toward_assigned_features():
    perception = make_perception(n_prototypes=8, projection_dim=16, prototype_lr=0.5)
    before = perception.running_prototypes.clone()
    target = F.normalize(before[2] + 0.5 * torch.randn(16, generator=torch.Generator().manual_seed(0)), dim=0)
    features = F.normalize(target + 0.01 * torch.randn(10, 16), dim=1)
    assert bool(((features @ before.T).argmax(dim=1) == 2).all())  # all assigned to prototype 2
    perception.update_prototypes(features)
    after = perception.running_prototypes
    assert float(after[2] @ target) > float(before[2] @ target) + 0.05
    others = torch.arange(8) != 2
    assert torch.equal(after[others], before[others])
    assert float(perception.running_drift) > 0


@pytest.mark.parametrize("rate, variance", [(1.0, 0.0), (0.0, 0.0), (0.0, 50.0)])
def test_thresholds_stay_in_bounds(rate, variance):
    perception = make_perception(n_prototypes=4, homeostasis_rate=0.5, gamma_th=0.02, threshold_bounds=(0.1, 2.0))
    for _ in range(200):
        perception.update_thresholds(torch.full((4,), rate), torch.full((4,), variance))
    thresholds = perception.running_thresholds
    assert bool(((thresholds >= 0.1) & (thresholds <= 2.0)).all())
    assert float(thresholds.min()) in (pytest.approx(2.0), pytest.approx(0.1))  # driven to the clip


def test_homeostasis_raises_threshold_when_firing_too_much():
    perception = make_perception(n_prototypes=2, gamma_th=0.0)
    perception.update_thresholds(torch.tensor([0.5, 0.0]), torch.zeros(2))
    assert perception.running_thresholds[0] > 1.0 > perception.running_thresholds[1]


def test_plasticity_half_life_slows_adaptation_until_features_settle():
    rng = np.random.default_rng(2)
    constant, decaying = make_perception(n_components=VARIABLES), make_perception(n_components=VARIABLES, plasticity_half_life=10)
    assert decaying.plasticity == 1.0
    for perception in (constant, decaying):
        warm_up(perception, rng, batches=90)
    assert decaying.plasticity == pytest.approx(10 / (10 + 90))
    assert constant.plasticity == 1.0
    drifts = {}
    for name, perception in (("constant", constant), ("decaying", decaying)):
        warm_up(perception, rng, batches=1)
        drifts[name] = float(perception.running_drift)
    assert 0 < drifts["decaying"] < 0.3 * drifts["constant"]
    with pytest.raises(ValueError, match="plasticity_half_life"):
        make_perception(plasticity_half_life=0)


def test_perception_accepts_box_and_rejects_bad_arguments():
    box = gym.spaces.Box(-5, 5, (10,), dtype=np.float32)
    perception = SCALPerception(box, pool_size=3, n_prototypes=6)
    assert not perception.bipolar
    assert perception(torch.randn(7, 10)).shape == (7, 12)
    with pytest.raises(ValueError, match="n_frames"):
        SCALPerception(box, n_frames=3)
    with pytest.raises(ValueError, match="threshold_bounds"):
        SCALPerception(box, threshold_bounds=(1.0, 0.5))
    with pytest.raises(ValueError, match="flat"):
        SCALPerception(gym.spaces.Box(0, 1, (2, 2)))


def test_last_potential_adds_a_block_that_follows_the_newest_frame():
    space = gym.spaces.Box(-1, 1, (4 * 16,), dtype=np.float32)  # 4 stacked frames of 16 inputs
    perception = SCALPerception(space, n_frames=4, pool_size=1, n_components=0, n_prototypes=8, last_potential=True)
    perception.eval()
    frames = torch.rand(64, 4, 16) * 2 - 1
    newest, oldest = frames.clone(), frames.clone()
    newest[:, -1], oldest[:, 0] = -frames[:, -1], -frames[:, 0]
    base, changed_newest, changed_oldest = (perception(x.reshape(64, -1)) for x in (frames, newest, oldest))
    assert base.shape == (64, 24)
    last = slice(16, 24)
    newest_effect = (changed_newest[:, last] - base[:, last]).abs().mean()
    oldest_effect = (changed_oldest[:, last] - base[:, last]).abs().mean()
    assert newest_effect > 2 * oldest_effect
    with pytest.raises(ValueError, match="last_potential"):
        SCALPerception(space, n_frames=4, last_potential="yes")


def test_frame_stack_concatenates_oldest_first():
    import envs  # noqa: F401

    env = BinaryFrameStack(gym.make("NoisyCartPole-v0", bits_per_variable=4, flip_prob=0.0), n_frames=3)
    first, _ = env.reset(seed=0)
    assert np.array_equal(first[:16], first[32:])
    second, *_ = env.step(1)
    assert np.array_equal(second[16:32], first[32:])
    with pytest.raises(ValueError, match="n_frames"):
        BinaryFrameStack(gym.make("NoisyCartPole-v0"), n_frames=0)


def test_memory_retrieves_nearest_entries():
    torch.manual_seed(0)
    memory = EpisodicMemory(capacity=10_000, dim=64)
    keys = torch.randn(10_000, 64)
    memory.add(keys, torch.arange(10_000) % 2, torch.ones(10_000))
    queries = keys[[5, 4321, 9999]] + 0.05 * torch.randn(3, 64)
    similarities, indices = memory.retrieve(queries, k=3)
    assert indices[:, 0].tolist() == [5, 4321, 9999]
    assert bool((similarities[:, 0] > 0.99).all()) and bool((similarities[:, 1] < 0.6).all())
    assert memory.actions[indices[:, 0]].tolist() == [1, 1, 1]


def test_memory_is_bounded():
    memory = EpisodicMemory(capacity=100, dim=8)
    for start in range(0, 250, 50):
        memory.add(torch.randn(50, 8), torch.zeros(50), torch.full((50,), float(start)))
    assert len(memory) == 100 and memory.keys.shape == (100, 8)
    assert set(memory.rewards.tolist()) == {150.0, 200.0}  # the oldest were overwritten
    assert EpisodicMemory.bytes_needed(10_000, 64) < 1 << 30
    with pytest.raises(ValueError, match="1 GB"):
        EpisodicMemory(capacity=10_000_000, dim=64)
    with pytest.raises(ValueError, match="empty"):
        EpisodicMemory(capacity=4, dim=2).retrieve(torch.randn(1, 2))


def test_consolidation_pulls_centroids_to_rewarded_entries():
    torch.manual_seed(0)
    memory = EpisodicMemory(capacity=200, dim=2, n_centroids=2)
    rewarded, unrewarded = torch.tensor([[1.0, 0.2]]), torch.tensor([[1.0, -0.2]])
    memory.add(
        torch.cat([rewarded.repeat(100, 1), unrewarded.repeat(100, 1)]),
        torch.zeros(200),
        torch.cat([torch.full((100,), 5.0), torch.zeros(100)]),
    )
    centroids = memory.consolidate(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
    assert float(centroids[0, 1]) > 0.15  # reward-weighted: pulled toward the rewarded entries
    assert float(centroids[1] @ F.normalize(rewarded, dim=1)[0]) > 0.99  # the unused centroid was reseeded
    assert torch.equal(memory.centroids, centroids)  # kept in the saved state


def test_ucb_bonus_shrinks_with_visits():
    stats = SCALValueStats(n_actions=2, n_centroids=4, beta=2.0)
    centroid = torch.tensor([3])
    bonuses = [stats.bonus(centroid)[0].clone()]
    for _ in range(5):
        stats.update(torch.zeros(16), torch.full((16,), 3), torch.randn(16))
        bonuses.append(stats.bonus(centroid)[0].clone())
    visited = [float(b[0]) for b in bonuses]
    assert all(a > b for a, b in zip(visited[:-1], visited[1:], strict=True))
    assert float(bonuses[-1][1]) == pytest.approx(float(bonuses[0][1]))  # action 1 never visited
    assert int(stats.running_counts[0, 3]) == 80


def test_spiking_td_weighs_large_errors_more():
    weights = spiking_td_weights(torch.tensor([0.01, 0.1, 1.0, 3.0]))
    assert float(weights.mean()) == pytest.approx(1.0)
    assert bool((weights[1:] >= weights[:-1]).all()) and float(weights[-1] / weights[0]) > 2.0


def test_center_inputs_removes_what_never_changes():
    """Centred, a frame projects as if its static background were absent ("no evidence", bipolar 0)."""
    space = gym.spaces.Box(0, 1, (32,), dtype=np.float32)
    batch = torch.zeros(64, 32)
    batch[:, :16] = 1.0  # the background: always on
    batch[::2, 16:] = 1.0  # the moving half: on in every other frame, so its bipolar mean is 0
    centred = SCALPerception(space, pool_size=1, n_components=0, n_prototypes=8, center_inputs=True)
    centred.train()
    centred(batch)  # the first training pass sets the running mean
    assert torch.equal(centred.running_input_mean, torch.cat([torch.ones(16), torch.zeros(16)]))
    centred.eval()
    plain = SCALPerception(space, pool_size=1, n_components=0, n_prototypes=8)
    plain.projection.load_state_dict(centred.projection.state_dict())
    without_background = batch[:1].clone()
    without_background[:, :16] = 0.5
    assert torch.allclose(centred.project(batch[:1]), plain.project(without_background))
    assert not torch.allclose(plain.project(batch[:1]), plain.project(without_background))
    before = centred.running_input_mean.clone()
    centred.train()
    centred(torch.ones(8, 32))  # later passes move the mean by prototype_lr
    expected = before + centred.prototype_lr * (torch.ones(32) - before)
    assert torch.allclose(centred.running_input_mean, expected)
    with pytest.raises(ValueError, match="center_inputs"):
        SCALPerception(space, center_inputs=1.5)


def test_prototypes_are_left_out_of_the_gradient_optimizer():
    """Prototypes and thresholds are buffers moved by the SCAL rules only: no optimizer step may touch them."""
    from stable_baselines3.common.env_util import make_vec_env

    from agents.hyperparams import load_hyperparams, resolve_hyperparams
    from agents.registry import make_agent
    from train.config import RUN_KEYS

    env = make_vec_env("NoisyCartPole-v0", n_envs=2, seed=0, env_kwargs={"bits_per_variable": 128})
    for agent in ("scal_rl", "scal_dqn"):
        params = {k: v for k, v in resolve_hyperparams(load_hyperparams(agent, "NoisyCartPole-v0")).items()
                  if k not in RUN_KEYS}
        params.update({"buffer_size": 1000} if agent == "scal_dqn" else {})
        policy = make_agent(agent, env, params, seed=0).policy
        perception = policy.scal_perception
        optimized = {id(p) for group in policy.optimizer.param_groups for p in group["params"]}
        assert optimized and optimized <= {id(p) for p in policy.parameters()}
        buffers = [perception.running_prototypes, perception.running_thresholds]
        if perception.groups is not None:  # scal_rl's per-variable prototypes on NoisyCartPole-v0
            buffers.append(perception.groups.running_prototypes)
        for buffer in buffers:
            assert not buffer.requires_grad and id(buffer) not in optimized
            assert all(p.data_ptr() != buffer.data_ptr() for group in policy.optimizer.param_groups
                       for p in group["params"])


def test_prototype_update_is_the_exact_scal_step():
    """Prototype j moves to normalize(w_j + lr * plasticity * (mean of its features - w_j)); unused ones stay;
    usage is an exponential average of the assignment shares."""
    perception = make_perception(n_prototypes=6, projection_dim=8, prototype_lr=0.25, plasticity_half_life=4.0)
    perception.running_adaptations.fill_(4.0)  # plasticity = 4 / (4 + 4) = 0.5
    before, usage_before = perception.running_prototypes.clone(), perception.running_usage.clone()
    noise = torch.randn(5, 8, generator=torch.Generator().manual_seed(1))
    features = F.normalize(before[[1, 1, 1, 4, 4]] + 0.05 * noise, dim=1)
    assert (features @ before.T).argmax(dim=1).tolist() == [1, 1, 1, 4, 4]
    perception.update_prototypes(features)
    rate = 0.25 * 0.5
    expected = before.clone()
    for index, rows in ((1, [0, 1, 2]), (4, [3, 4])):
        moved = before[index] + rate * (features[rows].mean(dim=0) - before[index])
        expected[index] = moved / moved.norm()
    torch.testing.assert_close(perception.running_prototypes, expected, rtol=0, atol=1e-6)
    shares = torch.tensor([0, 3, 0, 0, 2, 0]) / 5
    torch.testing.assert_close(perception.running_usage, 0.99 * usage_before + 0.01 * shares, rtol=0, atol=1e-7)
    drift = (expected - before).norm(dim=1).mean()
    assert float(perception.running_drift) == pytest.approx(float(drift), abs=1e-6)


def test_frame_features_are_each_frames_projection_in_order():
    space = gym.spaces.Box(-1, 1, (3 * 16 + 2,), dtype=np.float32)  # 3 stacked frames of 16 inputs, 2 unpooled
    plain = SCALPerception(space, n_frames=3, pool_size=1, n_components=0, n_prototypes=8, projection_dim=5, n_unpooled=2)
    perception = SCALPerception(space, n_frames=3, pool_size=1, n_components=0, n_prototypes=8, projection_dim=5,
                                n_unpooled=2, frame_features=True)
    perception.load_state_dict(plain.state_dict())
    plain.eval(), perception.eval()
    observations = torch.rand(6, 50) * 2 - 1
    features = perception(observations)
    assert features.shape == (6, plain.features_dim + 3 * 5) and perception.features_dim == features.shape[1]
    torch.testing.assert_close(features[:, :16], plain(observations)[:, :16])  # rates and potentials unchanged
    torch.testing.assert_close(features[:, -2:], observations[:, -2:])  # the unpooled inputs stay last
    frames = features[:, 16:31].reshape(6, 3, 5)
    torch.testing.assert_close(frames, perception.project(observations))
    swapped = observations.clone()
    swapped[:, :16], swapped[:, 32:48] = observations[:, 32:48], observations[:, :16]
    moved = perception(swapped)[:, 16:31].reshape(6, 3, 5)
    torch.testing.assert_close(moved[:, 0], frames[:, 2])  # the order of the frames is kept
    assert not torch.allclose(moved[:, 0], moved[:, 2])
    with pytest.raises(ValueError, match="frame_features"):
        SCALPerception(space, n_frames=3, n_unpooled=2, frame_features=1.5)


def test_actor_critic_policy_hands_flat_bits_to_the_perception_as_integers():
    """The perception counts the bits itself (cheaper than SB3's float copy of every stacked bit); the features
    are those of the float bits."""
    from agents.scal.policies import SCALActorCriticPolicy

    policy = SCALActorCriticPolicy(gym.spaces.MultiBinary(64), gym.spaces.Discrete(2), lambda _: 1e-3)
    received = []
    policy.scal_perception.register_forward_pre_hook(lambda module, inputs: received.append(inputs[0].dtype))
    observations = torch.as_tensor(np.random.default_rng(4).integers(0, 2, (3, 64)), dtype=torch.int8)
    policy.set_training_mode(False)
    features = policy.extract_features(observations)
    assert received == [torch.int8]
    torch.testing.assert_close(features, policy.scal_perception(observations.float()))


def test_standardized_features_have_zero_mean_unit_variance_and_adapt_only_in_training():
    space = gym.spaces.Box(-1, 1, (2 * 16 + 2,), dtype=np.float32)
    kwargs = dict(n_frames=2, pool_size=1, n_components=0, n_prototypes=8, projection_dim=5, n_unpooled=2)
    plain = SCALPerception(space, **kwargs)
    perception = SCALPerception(space, **kwargs, standardize_features=True)
    perception.load_state_dict(plain.state_dict(), strict=False)
    observations = torch.rand(256, 34) * 2 - 1
    perception.train()
    with torch.no_grad():
        first = perception(observations)  # the first pass takes this batch's moments
    torch.testing.assert_close(first.mean(0), torch.zeros(perception.features_dim), atol=1e-4, rtol=0)
    nonconstant = first.std(0) > 0
    torch.testing.assert_close(first.std(0, unbiased=False)[nonconstant], torch.ones(int(nonconstant.sum())),
                               atol=1e-2, rtol=0)  # eps in the variance
    perception.eval(), plain.eval()
    stats = {k: v.clone() for k, v in perception.state_dict().items() if "standardizer" in k}
    plain.load_state_dict({k: v for k, v in perception.state_dict().items() if k not in stats})  # adapted alike
    shifted = perception(observations + 0.5)
    assert all(torch.equal(v, perception.state_dict()[k]) for k, v in stats.items())  # eval: nothing moves
    raw = plain(observations + 0.5)
    mean, var = perception.standardizer.running_mean, perception.standardizer.running_var
    torch.testing.assert_close(shifted, (raw - mean) / torch.sqrt(var + 1e-5))
    assert any("standardizer.running_mean" in k for k in perception.state_dict())  # saved with the model
    with pytest.raises(ValueError, match="standardize_features"):
        SCALPerception(space, **kwargs, standardize_features="yes")
