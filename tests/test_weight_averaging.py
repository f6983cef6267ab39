"""Weight averaging: the final policy is the uniform mean of the policies after each late training phase."""

from __future__ import annotations

import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from train.weight_averaging import WeightAveraging


class PolicyRecorder(BaseCallback):
    """Snapshot the trained weights after every training phase (rollout start) and at the end of training."""

    def __init__(self) -> None:
        super().__init__()
        self.snapshots: list[tuple[int, dict[str, torch.Tensor]]] = []

    def _snapshot(self) -> None:
        weights = {name: p.detach().clone() for name, p in self.model.policy.named_parameters() if p.requires_grad}
        self.snapshots.append((self.model.num_timesteps, weights))

    def _on_rollout_start(self) -> None:
        self._snapshot()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        self._snapshot()


def train_cartpole(*callbacks: BaseCallback) -> PPO:
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, n_epochs=2, seed=0, device="cpu")
    model.learn(total_timesteps=512, callback=list(callbacks))
    return model


def test_final_weights_are_the_mean_of_the_policies_after_the_start_fraction():
    recorder, averaging = PolicyRecorder(), WeightAveraging(start_fraction=0.5)
    model = train_cartpole(recorder, averaging)  # the recorder sees each policy before averaging replaces it
    late = [weights for steps, weights in recorder.snapshots if steps >= 256]
    assert [steps for steps, _ in recorder.snapshots if steps >= 256] == [256, 320, 384, 448, 512]
    assert averaging.n_averaged == len(late) == 5
    final = dict(model.policy.named_parameters())
    for name, last in late[-1].items():
        expected = torch.stack([weights[name] for weights in late]).mean(dim=0)
        assert torch.allclose(final[name], expected, atol=1e-6)
        assert not torch.allclose(final[name], last)  # the averaged policy is not the last one


def test_start_fraction_zero_skips_the_untrained_initial_policy():
    recorder, averaging = PolicyRecorder(), WeightAveraging(start_fraction=0.0)
    train_cartpole(recorder, averaging)
    assert averaging.n_averaged == 8  # 512 steps / 64: the policies after the 8 training phases, not the one at step 0


@pytest.mark.parametrize("start_fraction", [-0.1, 1.0, 1.5])
def test_a_start_fraction_outside_zero_one_is_a_clear_error(start_fraction):
    with pytest.raises(ValueError, match="start_fraction must be in \\[0, 1\\)"):
        WeightAveraging(start_fraction=start_fraction)
