"""DQN with spiking TD: SB3's DQN update with each TD error weighted by its soft spike probability.

The loop is SB3's ``DQN.train`` (stable-baselines3 2.x, MIT) with two additions marked below: the
per-sample Huber losses are weighted by :func:`agents.scal.value.spiking_td_weights`, and the TD errors
update the policy's per-(action, centroid) statistics that drive the UCB bonus.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3 import DQN

from agents.scal.value import spiking_td_weights


class SCALDQN(DQN):
    """DQN for :class:`agents.scal.policies.SCALQPolicy` (spiking TD, value statistics for the UCB bonus)."""

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses = []
        for _ in range(gradient_steps):
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma
            with torch.no_grad():
                # TD target from the target network (greedy next action)
                next_q_values = self.q_net_target(replay_data.next_observations).max(dim=1).values.reshape(-1, 1)
                target_q_values = replay_data.rewards + (1 - replay_data.dones) * discounts * next_q_values
            current_q_values = torch.gather(self.q_net(replay_data.observations), 1, replay_data.actions.long())
            td_errors = target_q_values - current_q_values
            # SCAL: spiking TD weighting of the per-sample losses
            weights = spiking_td_weights(td_errors)
            loss = (weights * F.smooth_l1_loss(current_q_values, target_q_values, reduction="none")).mean()
            losses.append(loss.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
            # SCAL: TD-error statistics per (action, centroid) for the UCB bonus
            with torch.no_grad():
                centroids = self.policy.scal_perception.assign(replay_data.observations)
                self.policy.scal_value.update(replay_data.actions, centroids, td_errors.detach())
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", np.mean(losses))
