"""A SCAL-RL actor-critic whose action logits are multiplied by a fixed gain: a study of policy sharpness.

On NoisyCartPole-v0 the final `scal_rl` policies stay soft (their most likely action has a mean probability
near 0.83) and their sampled play scores far below their greedy play. With Adam, multiplying the logits by a
gain ``g`` makes the actor's logits move ``g`` times faster for the same steps (and start ``g`` times larger),
while the critic and the perception learn as before. Used as the policy of a run:

    python train/run.py --env NoisyCartPole-v0 --agent scal_rl \\
        -params policy:eval.experiments.noisy_cartpole_actor_gain.SCALActorGain3Policy

Results: eval/results/noisy_cartpole/linear_actor_100k/README.md.
"""

from __future__ import annotations

from typing import Any

import torch

from agents.scal.policies import SCALActorCriticPolicy


class ScaledLogits(torch.nn.Module):
    """Multiply its input by a constant."""

    def __init__(self, gain: float) -> None:
        super().__init__()
        self.gain = gain

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return logits * self.gain


class SCALActorGain3Policy(SCALActorCriticPolicy):
    """``SCALActorCriticPolicy`` with its action logits multiplied by 3 (the optimiser keeps the same parameters)."""

    gain = 3.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action_net = torch.nn.Sequential(self.action_net, ScaledLogits(self.gain))
