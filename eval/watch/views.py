"""One view per environment family: the picture of one step, clean scene beside what the agent received.

Each frame shows the moment the agent acts: the clean scene it cannot see, the observation it received,
the action it chose and, from the step that followed, what the environment did with it (the action the cart
applied after the delay, the delay of the Pong frame shown, the blocks run). SCAL-RL models add a raster of
their prototype neurons.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from envs.meta_utility.env import MetaUtilityEnv
from envs.noisy_cartpole import NoisyCartPoleEnv
from envs.noisy_pong import NoisyPongEnv
from envs.synapse.env import SynapsePlasticityEnv
from eval.watch.canvas import blank, side_by_side, text_panel, titled
from eval.watch.cartpole import APPLIED, PUSH, draw_cartpole, draw_push
from eval.watch.observation import bars_panel, bits_panel, matrix_panel, newest_frame
from eval.watch.raster import draw_raster

PANEL_HEIGHT = 200
TEXT_WIDTH = 250
RASTER_WINDOW = 120


@dataclass
class StepRecord:
    """One step of a replayed episode.

    Attributes:
        episode: episode index, from 0.
        t: step within the episode, from 0.
        observation: what the agent received before acting (one env's entry of the VecEnv batch).
        action: the action the agent chose.
        reward: the reward of the step.
        episode_return: the return so far, this step included.
        info: the step's ``info``.
        spikes: the SCAL prototype neurons' spike rates at this step (``None`` for other agents).
        raster: the recent spike rates (for the raster panel).
    """

    episode: int
    t: int
    observation: np.ndarray
    action: Any
    reward: float
    episode_return: float
    info: dict
    spikes: np.ndarray | None = None
    raster: deque | list = field(default_factory=list)


class View:
    """Frames for any env: its ``render()`` (when it has an ``rgb_array`` mode), the observation, the action.

    Args:
        env: the environment itself (unwrapped), built with ``render_mode`` = :attr:`render_mode`.
    """

    render_mode: str | None = "rgb_array"
    scene_title = "clean scene"
    observation_title = "observation received"

    def __init__(self, env: gym.Env) -> None:
        self.env = env
        self.fps = int(env.metadata.get("render_fps") or 10)
        shape = env.observation_space.shape or (1,)
        self.frame_size = int(np.prod(shape))

    def scene(self, info: dict) -> np.ndarray:
        """The clean scene before the agent acts (``info``: the latest reset or step info)."""
        image = self.env.render() if getattr(self.env, "render_mode", None) == "rgb_array" else None
        return blank(PANEL_HEIGHT, PANEL_HEIGHT) if image is None else image

    def observation_image(self, observation: np.ndarray) -> np.ndarray:
        frame = newest_frame(observation, self.frame_size)
        if frame.ndim == 2:
            return frame.astype(np.uint8)
        return bars_panel(frame, float(np.min(frame)), float(np.max(frame)))

    def action_lines(self, record: StepRecord) -> list[str]:
        return [f"action {np.asarray(record.action).tolist()}"]

    def decorate(self, scene: np.ndarray, record: StepRecord) -> np.ndarray:
        """The scene with marks of the step's action (none here)."""
        return scene

    def frame(self, scene: np.ndarray, record: StepRecord) -> np.ndarray:
        """The picture of ``record``: scene, observation, text and, for SCAL-RL, the spike raster."""
        lines = [f"episode {record.episode + 1}  step {record.t + 1}", f"reward {record.reward:+.3g}",
                 f"return {record.episode_return:.4g}", *self.action_lines(record)]  # fmt: skip
        panels = [
            titled(self.decorate(scene, record), self.scene_title, PANEL_HEIGHT),
            titled(self.observation_image(record.observation), self.observation_title, PANEL_HEIGHT),
            titled(text_panel(lines, TEXT_WIDTH, PANEL_HEIGHT), "agent", PANEL_HEIGHT),
        ]
        if record.spikes is not None:
            raster = np.pad(draw_raster(record.raster, len(record.spikes), RASTER_WINDOW), 1, constant_values=160)
            panels.append(titled(raster, f"SCAL spikes: {len(record.spikes)} prototypes x steps", PANEL_HEIGHT))
        return side_by_side(panels)


class CartPoleView(View):
    """NoisyCartPole: the cart drawn from the clean state, the noisy bits per variable, pushed vs applied."""

    render_mode = None  # drawn here from info["state"]: Gymnasium's renderer needs pygame
    scene_title = "clean state (red: chosen, green: applied)"

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        config = env.config
        self.observation_title = f"bits received (x, v / angle, ang. v), p={config.flip_prob:g}"

    def scene(self, info: dict) -> np.ndarray:
        return draw_cartpole(info["state"])

    def observation_image(self, observation: np.ndarray) -> np.ndarray:
        return bits_panel(newest_frame(observation, self.frame_size), 4)

    @staticmethod
    def pushes(record: StepRecord) -> tuple[int, int | None]:
        """The action chosen and the one the cart applied in the step (``None`` before any arrived)."""
        force = record.info.get("applied_force", 0.0)
        return int(record.action), None if force == 0 else int(force > 0)

    def decorate(self, scene: np.ndarray, record: StepRecord) -> np.ndarray:
        chosen, applied = self.pushes(record)
        image = scene.copy()
        draw_push(image, chosen, 20, PUSH)
        draw_push(image, applied, 40, APPLIED)
        return image

    def action_lines(self, record: StepRecord) -> list[str]:
        names = {0: "left", 1: "right", None: "none yet"}
        chosen, applied = self.pushes(record)
        return [f"chosen  {names[chosen]}", f"applied {names[applied]}",
                f"delay   {record.info.get('delay', 0)} steps"]  # fmt: skip


class PongView(View):
    """NoisyPong: the emulator's screen, the newest noisy delayed 84x84 frame of the stack, the frame's delay."""

    scene_title = "clean screen"

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        config = env.config
        self.observation_title = f"frame received, flip p={config.flip_prob:g}"
        self.action_names = [action.name for action in env.ale.getMinimalActionSet()]

    def action_lines(self, record: StepRecord) -> list[str]:
        return [f"action {self.action_names[int(record.action)]}",
                f"frame shown: {record.info.get('delay', 0)} steps old"]  # fmt: skip


class SynapseView(View):
    """Synapse envs: the first layer's receptive fields as the rule changes them, the events received."""

    scene_title = "receptive fields (first layer)"
    observation_title = "events received (features x slots)"

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.fps = 20  # one frame per simulation step: the env's 1 frame per image would crawl
        self.n_slots = env.config.capacity

    def observation_image(self, observation: np.ndarray) -> np.ndarray:
        return matrix_panel(newest_frame(observation, self.frame_size), self.n_slots).T.copy()

    def action_lines(self, record: StepRecord) -> list[str]:
        n_events = int(record.info.get("n_events", 0))
        delta = np.abs(np.asarray(record.action, dtype=np.float64)[:n_events])
        return [f"events {n_events}", f"mean |dd| {delta.mean() if n_events else 0.0:.3f}"]


class MetaUtilityView(View):
    """MetaUtility: the digit with the blocks decided so far, the exit head's features, blocks run per digit."""

    scene_title = "digit, blocks (green ran, grey skipped)"
    observation_title = "features: p0..p9, conf, H, margin, i, cost"
    history_rows = 8

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.history: deque = deque(maxlen=self.history_rows)

    def observation_image(self, observation: np.ndarray) -> np.ndarray:
        return bars_panel(observation, 0.0, 1.0)

    def action_lines(self, record: StepRecord) -> list[str]:
        lines = [f"block {record.t + 1}: {'run' if int(record.action) else 'skip'}"]
        if "label" in record.info:  # the episode's last step: the digit is classified
            runs = "".join(str(int(u)) for u in record.info["blocks_run"])
            self.history.append(f"{record.info['label']} -> {record.info['prediction']}  blocks {runs}")
        return [*lines, "digit -> prediction, blocks run:", *self.history]


VIEWS: dict[type, type[View]] = {
    NoisyCartPoleEnv: CartPoleView,
    NoisyPongEnv: PongView,
    SynapsePlasticityEnv: SynapseView,
    MetaUtilityEnv: MetaUtilityView,
}


def view_class(env_id: str) -> type[View]:
    """The view of a registered env id (by its class; :class:`View` for envs of other suites)."""
    entry_point = gym.spec(env_id).entry_point
    if isinstance(entry_point, str):
        module, _, name = entry_point.partition(":")
        entry_point = getattr(__import__(module, fromlist=[name]), name)
    entry_point = getattr(entry_point, "env_class", entry_point)  # a factory names the class it builds
    return next((view for cls, view in VIEWS.items() if isinstance(entry_point, type) and issubclass(entry_point, cls)),
                View)  # fmt: skip
