"""Training callbacks: CleanRL's per-episode TensorBoard keys."""

from __future__ import annotations

from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import TensorBoardOutputFormat


class EpisodicReturnCallback(BaseCallback):
    """Write ``charts/episodic_return`` and ``charts/episodic_length`` for every finished episode.

    SB3's own ``rollout/ep_rew_mean`` is a 100-episode moving average written at each dump; this adds
    CleanRL's raw per-episode points at the step they end, read from the Monitor's ``info["episode"]``.
    """

    state_keys = ("n_calls", "episodes")  # carried across a resume by train.continuous

    def __init__(self) -> None:
        super().__init__()
        self.episodes = 0

    def _on_training_start(self) -> None:
        formats = [f for f in self.logger.output_formats if isinstance(f, TensorBoardOutputFormat)]
        self._writer = formats[0].writer if formats else None

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            episode = info.get("episode")
            if episode is None:
                continue
            self.episodes += 1
            if self._writer is not None:
                self._writer.add_scalar("charts/episodic_return", float(episode["r"]), self.num_timesteps)
                self._writer.add_scalar("charts/episodic_length", int(episode["l"]), self.num_timesteps)
        return True
