"""NoisyPong-v0: Atari Pong seen as binarised 84x84 frames with pixel bit-flip noise and a random frame delay."""

from __future__ import annotations

import operator
from typing import Any

import gymnasium as gym
import numpy as np
from ale_py import AtariEnv
from gymnasium.wrappers import AtariPreprocessing

from envs.noisy_pong_config import NoisyPongConfig
from wrappers.delay import RandomObservationDelay
from wrappers.frames import BinarizeFrames, FrameBitFlipNoise


def build_frames(config: NoisyPongConfig, render_mode: str | None = None) -> gym.Env:
    """The observation pipeline: ALE Pong -> Atari preprocessing -> binarise -> delay -> pixel flips.

    Every stage after the emulator draws from the ALE env's ``np_random`` (the no-op count, the delay, the
    flips); :class:`NoisyPongEnv` seeds it and makes it its own ``np_random``.
    """
    game = AtariEnv(
        "pong",
        obs_type="grayscale",
        frameskip=1,  # AtariPreprocessing skips frames (and max-pools the last two)
        repeat_action_probability=config.repeat_action_probability,
        max_num_frames_per_episode=config.max_num_frames_per_episode,
        render_mode=render_mode,
    )
    frames: gym.Env = AtariPreprocessing(
        game, noop_max=config.noop_max, frame_skip=config.frame_skip, screen_size=config.screen_size
    )
    frames = BinarizeFrames(frames, config.threshold)
    if config.delay_range != (0, 0):
        frames = RandomObservationDelay(frames, *config.delay_range)
    return FrameBitFlipNoise(frames, config.flip_prob)  # at flip_prob 0 a copy: delayed frames are never shared


class NoisyPongEnv(gym.Env):
    """
    ## Description
    Atari 2600 Pong (ALE, ROM shipped in the ``ale-py`` wheel) with the standard preprocessing of Mnih et
    al. (2015) and Machado et al. (2018) (``gymnasium.wrappers.AtariPreprocessing``: frame skip 4 with
    max-pooling of the last two frames, up to 30 no-op starts, 84x84 grayscale; sticky actions 0.25 as
    ``ALE/Pong-v5``), then:

    1. binarised: a pixel is on (255) when its gray level exceeds ``threshold`` (background 87, so every
       pixel that the ball, a paddle, a wall or the score touches is on), off (0) otherwise;
    2. delayed: the agent sees the frame of ``d`` steps ago, ``d`` drawn uniformly in ``obs_delay`` at
       every step (the reset frame stands in before enough history exists);
    3. noisy: each pixel of the frame shown is flipped independently with probability ``flip_prob``
       (fresh noise every step, also when the same frame is shown twice).

    A patch of ``k`` pixels whose clean mean is ``m`` has a noisy mean ``p + (1 - 2p) m`` in expectation
    (``p = flip_prob``): averaging over patches and frames recovers the picture for ``p < 0.5``.

    ## Action Space
    ``Discrete(6)``: NOOP, FIRE, RIGHT (up), LEFT (down), RIGHTFIRE, LEFTFIRE (Pong's minimal set).

    ## Observation Space
    ``Box(0, 255, (84, 84, 1), uint8)`` with values in {0, 255} (an image for SB3's ``CnnPolicy``; stack
    frames with ``VecFrameStack`` / ``frame_stack: 4`` in the hyperparameters).

    | Num        | Observation                         | Min | Max |
    |------------|-------------------------------------|-----|-----|
    | (i, j, 0)  | pixel of row i, column j (on = 255) | 0   | 255 |

    ## Rewards
    The raw game score change: +1 when the agent scores, -1 when the opponent does (an episode's return is
    the final score difference, in [-21, 21]). The env never clips rewards; SB3's ``Monitor`` therefore
    records the raw score. Clip, if wanted, with a wrapper outside the Monitor (``env_wrapper:
    stable_baselines3.common.atari_wrappers.ClipRewardEnv``). ``info["raw_score"]`` carries the episode's
    raw score on its last step.

    ## Starting State
    A new game after a random 1..``noop_max`` no-ops; the delay history filled with that first frame.

    ## Episode End
    1. Termination: one side reaches 21 points.
    2. Truncation: ``max_num_frames_per_episode`` emulator frames (108,000, ALE v5's cap).

    ## Arguments
    ``gymnasium.make("NoisyPong-v0", flip_prob=0.20, obs_delay=(1, 1), threshold=90,
    repeat_action_probability=0.25, noop_max=30, frame_skip=4, screen_size=84,
    max_num_frames_per_episode=108000, render_mode=None)``. The default shows the previous step's frame with
    20 % flips, a setting the oracle solves (docs/noisy_pong.md); ``flip_prob=0.3, obs_delay=(1, 3)`` is the
    harder camera of the original specification. ``obs_delay=None`` (or ``(0, 0)``) and ``flip_prob=0.0``
    give the clean binarised pipeline. ``info["delay"]`` is the delay of the frame shown.

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        self.config = NoisyPongConfig(**kwargs)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode={render_mode!r} is not supported; allowed: {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self._frames = build_frames(self.config, render_mode)
        self._delay = self._find(RandomObservationDelay)
        self.action_space = gym.spaces.Discrete(int(self._frames.action_space.n))
        self.observation_space = self._frames.observation_space
        self._game_seeded = False
        self._score = 0.0

    def _find(self, wrapper_type: type) -> gym.Wrapper | None:
        env = self._frames
        while isinstance(env, gym.Wrapper):
            if isinstance(env, wrapper_type):
                return env
            env = env.env
        return None

    @property
    def ale(self) -> Any:
        """The ALE interface of the game (e.g. ``cloneState``, ``getScreenRGB``)."""
        return self._frames.unwrapped.ale

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is None and not self._game_seeded:  # first reset without a seed: seed the game from np_random
            seed = int(self.np_random.integers(2**31 - 1))
        obs, info = self._frames.reset(seed=seed)
        self._game_seeded = True
        # one generator for everything random: the game's (seeded just now when a seed was given)
        self._np_random = self._frames.np_random
        self._score = 0.0
        return obs, {**info, "delay": self._last_delay()}

    def _last_delay(self) -> int:
        return 0 if self._delay is None else int(self._delay.last_delay)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self._frames.step(self._check_action(action))
        reward = float(reward)
        self._score += reward
        info = {**info, "delay": self._last_delay()}
        if terminated or truncated:
            info["raw_score"] = self._score
        return obs, reward, bool(terminated), bool(truncated), info

    def _check_action(self, action: Any) -> int:
        try:
            value = operator.index(action)
        except TypeError:
            value = None
        if value is None or not 0 <= value < self.action_space.n:
            raise ValueError(f"action={action!r} is not in the action space Discrete({self.action_space.n})")
        return value

    def render(self) -> Any:
        if self.render_mode is None:
            gym.logger.warn("render() was called without a render_mode; pass render_mode='rgb_array' to make()")
            return None
        return self._frames.render()

    def close(self) -> None:
        self._frames.close()

    def __getstate__(self) -> dict[str, Any]:
        # ale-py pickles an AtariEnv as its constructor arguments; keep the emulator state (RNG included)
        return {**self.__dict__, "_ale_state": self.ale.cloneState(include_rng=True)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        ale_state = state.pop("_ale_state")
        self.__dict__.update(state)
        self.ale.restoreState(ale_state)
        if self._np_random is not None:  # the shared generator, with its saved state
            self._frames.unwrapped._np_random = self._np_random
