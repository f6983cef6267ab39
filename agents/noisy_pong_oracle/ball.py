"""Grid filter of the ball: position and velocity with Pong's motion, the frame's delay hidden.

The state is the ball's position (the top-left pixel of its 2x2 template, one cell per pixel of the
field, the template reaching at most one row into a wall) and its velocity, which Pong keeps to a few
values: 2.06 columns per step left or right and 0, 1.58, 3.17 or 4.75 rows per step up or down (0, 4, 8
or 12 emulator units). One more number holds the mass of
"no ball on the field". A step moves every velocity class by its velocity (linear interpolation
between pixels), bounces it off the walls, lets the agent's paddle return the balls it covers and the
opponent most of the others (with any new vertical speed), and turns balls that leave into "no ball".
A frame ``d`` steps old shows the ball where each cell's straight motion puts it ``d`` steps ago, so
the likelihood of a cell is the delay-weighted mixture of the exact flip likelihoods there.
"""

from __future__ import annotations

import numpy as np

from agents.noisy_pong_oracle import geometry as g
from agents.noisy_pong_oracle.controller import intercept_rows, reflect

SPEED_X = 2.06
SPEEDS_Y = np.array([-4.75, -3.17, -1.58, 0.0, 1.58, 3.17, 4.75])
ROWS, COLS = g.FIELD_ROWS + 1, g.WIDTH - 1  # template anchors (rows: one more in each wall)
WALL_KEEPS_SPEED = 0.8  # off a wall the ball mostly keeps its vertical speed; else it takes another one
REACH = 5.5  # the agent's paddle returns a ball whose centre is this close to the paddle's hitting row
OPPONENT_RETURNS = 0.9
SERVE_RATE = 0.08  # P(a ball appears) per step while none is on the field
LOST_RATE = 0.005  # P(the ball is anywhere) per step: a floor against a lost track
SERVE_ANCHORS = (34, 50)  # served balls appear in these columns
# A paddle returns a ball by mirroring its column about the paddle's hitting column (anchor coordinates)
# and keeping its vertical speed; the speed then changes over the next steps (VY_SWITCH near the paddle).
MIRROR = g.HIT_COLUMN - 1.0  # 73.5
OPPONENT_MIRROR = 10.5
HIT_BAND = (74, 76)  # anchors a ball reaches in the step it crosses MIRROR moving right
OPPONENT_BAND = (9, 11)  # and OPPONENT_MIRROR moving left
VY_SWITCH = 0.1  # per step, share of a receding ball's mass near the paddle that returned it taking another speed
SWITCH_COLUMNS = 16  # how near
MARGIN = 6  # cells a step can move a ball (up to 5 rows) plus one


def centre_x(anchor_col: np.ndarray) -> np.ndarray:
    return anchor_col + 1.0


def centre_y(anchor_row: np.ndarray) -> np.ndarray:
    return anchor_row + float(g.FIELD_TOP)


def anchor_row(centre: np.ndarray) -> np.ndarray:
    """Nearest anchor row of a ball centred on row ``centre``."""
    return np.rint(np.asarray(centre) - g.FIELD_TOP).astype(np.int64)


def wall_speed_mix() -> np.ndarray:
    """``M[j, k]``: share of a ball of vertical speed class ``k`` that leaves a wall with class ``j``.

    It keeps its (reversed) speed with probability ``WALL_KEEPS_SPEED``, else takes one of the other
    speeds of the same direction.
    """
    same_direction = np.sign(SPEEDS_Y)[:, None] == np.sign(SPEEDS_Y)[None, :]
    others = same_direction & ~np.eye(len(SPEEDS_Y), dtype=bool)
    mix = np.where(others, (1.0 - WALL_KEEPS_SPEED) / np.maximum(others.sum(axis=0, keepdims=True), 1), 0.0)
    mix[np.diag_indices_from(mix)] = np.where(others.any(axis=0), WALL_KEEPS_SPEED, 1.0)
    return mix.astype(np.float32)


def bilinear_steps(amount: float) -> list[tuple[int, float]]:
    """``amount`` cells as (whole cells, weight) pairs of a linear interpolation."""
    whole = int(np.floor(amount))
    part = amount - whole
    return [(step, weight) for step, weight in ((whole, 1.0 - part), (whole + 1, part)) if weight > 0.0]


def back_column(anchor: np.ndarray, travelled: float) -> np.ndarray:
    """Anchor column of a ball ``travelled`` columns ago (the paddle it receded from mirrors its path)."""
    back = anchor - travelled
    if travelled < 0:  # moving left now: it may have come off the agent's paddle
        return np.where(back > MIRROR, 2 * MIRROR - back, back)
    return np.where(back < OPPONENT_MIRROR, 2 * OPPONENT_MIRROR - back, back)


class BallFilter:
    """Posterior over the ball's state on the grid ``(vx class, vy class, anchor row, anchor column)``.

    Args:
        delay_probs: P(the frame shown is ``d`` steps old), ``d = 0..max_delay``.
    """

    def __init__(self, delay_probs: np.ndarray) -> None:
        self.delay_probs = np.asarray(delay_probs, dtype=np.float64)
        self.delays = np.nonzero(self.delay_probs)[0]
        self.vx = np.array([SPEED_X, -SPEED_X])
        self.wall_mix = wall_speed_mix()
        self.border = max(int(np.ceil(d * SPEED_X)) for d in range(len(self.delay_probs))) + 1
        rows, cols = np.arange(ROWS), np.arange(COLS)
        # where a cell's ball was d steps ago, as an index into the flattened evidence of width COLS + 2 border:
        # rows reflected at the walls; columns mirrored about the paddle that returned the ball, and off the
        # field on the border (no evidence)
        width = COLS + 2 * self.border
        back_rows = [anchor_row(reflect(centre_y(rows)[None, :] - d * SPEEDS_Y[:, None])) for d in self.delays]
        back_cols = [[self.border + np.rint(back_column(cols, d * vx)).astype(np.int64) for vx in self.vx]
                     for d in self.delays]
        self.back_index = np.stack([
            np.stack([back_rows[k][:, :, None] * width + back_cols[k][i][None, None, :] for i in range(2)])
            for k in range(len(self.delays))
        ])  # (delay, vx class, vy class, row, column)
        grid_x, grid_y = np.meshgrid(centre_x(cols), centre_y(rows))
        self.intercepts = np.stack(
            [np.rint(intercept_rows(grid_x, grid_y, SPEED_X, vy)).astype(np.int64) for vy in SPEEDS_Y]
        )
        self.reset()

    def reset(self) -> None:
        self.grid = np.zeros((2, len(SPEEDS_Y), ROWS, COLS), dtype=np.float32)
        self.absent = 1.0

    def predict(self, paddle_centre: float) -> None:
        """Move the posterior one step (walls, paddles, balls leaving the field)."""
        n_vy = len(SPEEDS_Y)
        across = np.zeros((2, n_vy, ROWS, COLS + 2 * MARGIN), dtype=self.grid.dtype)
        for i, vx in enumerate(self.vx):
            for dx, wx in bilinear_steps(vx):
                across[i, :, :, MARGIN + dx : MARGIN + dx + COLS] += np.float32(wx) * self.grid[i]
        moved = np.zeros((2, n_vy, ROWS + 2 * MARGIN, COLS + 2 * MARGIN), dtype=self.grid.dtype)
        for j, vy in enumerate(SPEEDS_Y):
            for dy, wy in bilinear_steps(vy):
                moved[:, j, MARGIN + dy : MARGIN + dy + ROWS] += np.float32(wy) * across[:, j]
        # past a wall and back, with the vertical speed reversed (and sometimes changed: WALL_KEEPS_SPEED)
        core = moved[:, :, MARGIN : MARGIN + ROWS, MARGIN : MARGIN + COLS]
        top = moved[:, ::-1, MARGIN - 1 :: -1, MARGIN : MARGIN + COLS][:, :, :MARGIN]
        bottom = moved[:, ::-1, : MARGIN + ROWS - 1 : -1, MARGIN : MARGIN + COLS][:, :, :MARGIN]
        for rows, back in ((slice(1, MARGIN + 1), top), (slice(ROWS - 1 - MARGIN, ROWS - 1), bottom)):
            core[:, :, rows] += np.einsum("jk,ikrc->ijrc", self.wall_mix, back)
        grid = core.copy()  # what left the field sideways is dropped here
        reach = np.abs(centre_y(np.arange(ROWS)) - paddle_centre - g.HIT_OFFSET) <= REACH
        for col in range(*HIT_BAND):  # returned by the agent's paddle where it covers the ball
            grid[1][:, reach, int(2 * MIRROR) - col] += grid[0][:, reach, col]
            grid[0][:, reach, col] = 0.0
        for col in range(*OPPONENT_BAND):  # returned by the opponent, mostly
            grid[0][:, :, int(2 * OPPONENT_MIRROR) - col] += OPPONENT_RETURNS * grid[1][:, :, col]
            grid[1][:, :, col] *= 1.0 - OPPONENT_RETURNS
        for i, near in ((1, slice(int(MIRROR) - SWITCH_COLUMNS, COLS)), (0, slice(0, int(OPPONENT_MIRROR) + SWITCH_COLUMNS))):
            receding = grid[i][:, :, near]
            receding *= np.float32(1.0 - VY_SWITCH)
            receding += np.float32(VY_SWITCH / len(SPEEDS_Y)) * receding.sum(axis=0) / np.float32(1.0 - VY_SWITCH)
        self.absent += max(float(self.grid.sum() - grid.sum()), 0.0)
        self.grid = grid

    def update(self, llr_map: np.ndarray) -> None:
        """Add newly appearing balls, then weigh every cell by the frame (mixture over the delay)."""
        present = self.grid.sum()
        serve, lost = SERVE_RATE * self.absent, LOST_RATE * present
        self.absent -= serve
        self.grid *= 1.0 - LOST_RATE
        self.grid += lost / self.grid.size
        cells = self.grid[..., SERVE_ANCHORS[0] : SERVE_ANCHORS[1]]
        cells += serve / cells.size
        peak = max(float(llr_map.max()), 0.0)
        evidence = np.full((ROWS, COLS + 2 * self.border), np.exp(-peak), dtype=np.float32)  # off the field: nothing
        evidence[:, self.border : self.border + COLS] = np.exp(llr_map - peak)
        seen = evidence.ravel()[self.back_index]  # each cell's evidence under each delay
        self.grid *= np.tensordot(self.delay_probs[self.delays].astype(np.float32), seen, axes=1)
        absent = self.absent * np.exp(-peak)
        total = self.grid.sum() + absent
        self.grid /= np.float32(total)
        self.absent = float(absent / total)

    @property
    def present(self) -> float:
        """P(a ball is on the field)."""
        return 1.0 - self.absent

    @property
    def approaching(self) -> float:
        """P(a ball is on the field and moving towards the agent's paddle)."""
        return float(self.grid[0].sum())

    def intercept_histogram(self) -> np.ndarray:
        """Mass of the approaching ball per row at which it will reach the agent's paddle (index = row)."""
        return np.bincount(self.intercepts.ravel(), weights=self.grid[0].ravel(), minlength=g.FIELD_BOTTOM + 1)

    def estimate(self) -> np.ndarray:
        """Posterior mean ``(x, y, vx, vy)`` of a ball on the field."""
        mass = self.grid.sum()
        if mass <= 0.0:
            return np.array([np.nan, np.nan, 0.0, 0.0])
        position = self.grid.sum(axis=(0, 1)) / mass
        x = float(position.sum(axis=0) @ centre_x(np.arange(COLS)))
        y = float(position.sum(axis=1) @ centre_y(np.arange(ROWS)))
        vx = float(self.grid.sum(axis=(1, 2, 3)) @ self.vx / mass)
        vy = float(self.grid.sum(axis=(0, 2, 3)) @ SPEEDS_Y / mass)
        return np.array([x, y, vx, vy])

    def mean_row(self) -> float:
        mass = self.grid.sum()
        return float(self.grid.sum(axis=(0, 1, 3)) @ centre_y(np.arange(ROWS)) / mass) if mass > 0 else g.FIELD_CENTRE
