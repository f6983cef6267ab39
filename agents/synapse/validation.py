"""Validating a learned plasticity rule the way it is tested, on images the test never sees.

The test protocol (``eval/experiments/synapse_learning.py``) lets a rule drive a fresh network for a number of images and
then reads out accuracy on held-out test images. A rule that helps within one image can still damage the network
over hundreds of images, which the per-image reward does not see. :class:`SynapseValidationCallback` runs the same
protocol during training on a *validation* split carved from the training images and keeps the best rule
(RL Zoo's ``EvalCallback`` with ``best_model_save_path``, with the protocol's accuracy as the score).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback


def transfer(model: Any, env: gym.Env) -> Any:
    """The same rule for ``env``'s event capacity: the per-event policies' parameters do not depend on it,
    so a rule trained with another ``capacity`` (or per event) is copied into a model built for ``env``."""
    if not hasattr(model, "policy") or model.observation_space.shape == env.observation_space.shape:
        return model
    clone = type(model)(
        type(model.policy), env, policy_kwargs=model.policy_kwargs, use_sde=getattr(model, "use_sde", False), device="cpu"
    )
    clone.policy.load_state_dict(model.policy.state_dict())
    return clone


def run_rule(model: Any, env: gym.Env, seed: int, images: int) -> dict[str, float]:
    """Let the rule drive a fresh network for ``images`` episodes; mean metrics of those episodes, and
    ``events_kept``: the share of the events the env applied (below 1 where steps exceed its ``capacity``)."""
    obs, _ = env.reset(seed=seed)
    metrics: dict[str, list[float]] = {"cosine": [], "sign_agreement": [], "episode_reward": []}
    kept, total_events = 0, 0
    for _ in range(images):
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(obs[None], deterministic=True)
            obs, reward, done, _, info = env.step(action[0])
            total += reward
            kept, total_events = kept + info.get("n_events", 0), total_events + info.get("n_events_total", 0)
        metrics["episode_reward"].append(total)
        for key in ("cosine", "sign_agreement"):
            if key in info:
                metrics[key].append(info[key])
        obs, _ = env.reset()
    means = {k: float(np.nanmean(v)) if v else float("nan") for k, v in metrics.items()}
    return {**means, "events_kept": kept / total_events if total_events else float("nan")}


def validation_env(env_id: str, env_kwargs: dict[str, Any], n_val: int) -> gym.Env:
    """``env_id`` with ``env_kwargs`` whose *test* images are the last ``n_val`` of its training split.

    The split permutes the images once (``split_seed``) and takes training images first, so shrinking
    ``n_train`` by ``n_val`` and testing on ``n_val`` images selects training images only: the real test
    images are never presented.
    """
    n_train = len(gym.make(env_id, **env_kwargs).unwrapped.data.train_x)
    if not 1 <= n_val < n_train:
        raise ValueError(f"n_val={n_val!r} is invalid; allowed: 1..{n_train - 1} (the training images)")
    return gym.make(env_id, **{**env_kwargs, "n_train": n_train - n_val, "n_test": n_val})


class SynapseValidationCallback(BaseCallback):
    """Every ``eval_freq`` timesteps, copy the rule into a fresh validation network (:func:`validation_env`), let it
    drive ``plast_images`` images, log the frozen accuracy on the validation images as ``validation/accuracy``
    and save the rule with the best accuracy so far to ``best_model_path`` (ties keep the earlier rule).

    Args:
        env_id: the single-agent synapse env the rule is tested on (also for per-event training).
        env_kwargs: its arguments as in the test (training devices such as ``renew_every`` off).
        eval_freq: timesteps between validations (events for per-event training).
        plast_images: images of plasticity before the read-out.
        n_val: validation images (the last of the training split).
        seed: seed of the validation network and its spike trains (the same for every validation).
        best_model_path: where the best rule is saved (SB3 zip).
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any],
        eval_freq: int,
        plast_images: int,
        n_val: int,
        seed: int,
        best_model_path: str | Path,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if not isinstance(eval_freq, int) or eval_freq < 1:
            raise ValueError(f"eval_freq={eval_freq!r} is invalid; allowed: an integer >= 1 (timesteps)")
        self.env = validation_env(env_id, env_kwargs, n_val)
        self.eval_freq, self.plast_images, self.n_val, self.seed = eval_freq, plast_images, n_val, seed
        self.best_model_path = Path(best_model_path)
        self.best_accuracy, self.history = -np.inf, []
        self.next_eval = eval_freq

    def validate(self) -> float:
        """Validation accuracy of the current rule; saves it when it is the best so far."""
        rule = transfer(self.model, self.env)
        run_rule(rule, self.env, self.seed, self.plast_images)
        accuracy = self.env.unwrapped.evaluate(self.n_val)
        self.history.append((self.num_timesteps, accuracy))
        self.logger.record("validation/accuracy", accuracy)
        if accuracy > self.best_accuracy:
            self.best_accuracy = accuracy
            self.best_model_path.parent.mkdir(parents=True, exist_ok=True)
            self.model.save(self.best_model_path)
        self.logger.record("validation/best_accuracy", self.best_accuracy)
        return accuracy

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_eval:
            self.next_eval += self.eval_freq
            self.validate()
        return True

    def _on_training_end(self) -> None:
        if not self.history or self.history[-1][0] != self.num_timesteps:
            self.validate()
