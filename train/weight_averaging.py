"""Weight averaging: the final policy is the mean of the policies of the last part of training.

Stochastic weight averaging (Izmailov et al., 2018), as used for deep RL by Nikishin et al. (2018): a
policy-gradient learner's weights keep moving between updates even when its return has levelled off, so
the weights it happens to hold at the last step score a few points above or below its recent mean. The
uniform average of the weights it held over the last part of training is a smoother policy.

Referenced from the hyperparameter YAML like any callback::

    callback:
      - train.weight_averaging.WeightAveraging: {start_fraction: 0.5}
"""

from __future__ import annotations

import torch
from stable_baselines3.common.callbacks import BaseCallback


class WeightAveraging(BaseCallback):
    """Average the gradient-trained weights of the policy from ``start_fraction`` of the budget to its end.

    After every training phase past ``start_fraction × total_timesteps`` (at each rollout start, and once
    more when training ends) the policy's parameters that gradients train (``requires_grad``) enter a
    running uniform mean. When the step budget is reached, that mean replaces the policy's weights, so the
    final checkpoint, ``model.zip`` and the final evaluation all use it. Buffers and the parameters a
    local rule moves (SCAL prototypes, thresholds, subspace) keep their last values. A run stopped early
    (``--hours``, Ctrl+C) keeps its current weights and carries the mean in its checkpoint, so a resumed
    run averages exactly as an uninterrupted one.

    Args:
        start_fraction: fraction of the step budget after which the weights are averaged, in [0, 1).
    """

    state_keys = ("n_calls", "n_averaged", "averaged", "averaged_at")

    def __init__(self, start_fraction: float = 0.5, verbose: int = 0) -> None:
        super().__init__(verbose)
        if not 0.0 <= start_fraction < 1.0:
            raise ValueError(f"start_fraction must be in [0, 1), got {start_fraction!r}")
        self.start_fraction = start_fraction
        self.n_averaged = 0
        self.averaged_at = 0  # the step count of the policy averaged last
        self.averaged: dict[str, torch.Tensor] = {}

    def _trained_parameters(self) -> dict[str, torch.nn.Parameter]:
        return {name: p for name, p in self.model.policy.named_parameters() if p.requires_grad}

    def _accumulate(self) -> None:
        steps = self.model.num_timesteps
        if steps == self.averaged_at or steps < self.start_fraction * self.model._total_timesteps:
            return
        self.averaged_at = steps
        self.n_averaged += 1
        with torch.no_grad():
            for name, parameter in self._trained_parameters().items():
                current = parameter.detach().cpu().clone()
                mean = self.averaged.get(name)
                self.averaged[name] = current if mean is None else mean + (current - mean) / self.n_averaged

    def _on_rollout_start(self) -> None:
        # SB3 trains between rollouts: the weights here are those of the last training phase (a fresh run's
        # first rollout, at step 0, and a resumed run's first one, already averaged before the stop, are skipped).
        self._accumulate()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        if self.model.num_timesteps < self.model._total_timesteps:
            return
        self._accumulate()
        if self.verbose:
            print(f"weight averaging: final policy is the mean of {self.n_averaged} policies")
        with torch.no_grad():
            for name, parameter in self._trained_parameters().items():
                if name in self.averaged:
                    parameter.copy_(self.averaged[name].to(parameter.device))
