"""CartPole dynamics as a pure function (Gymnasium's CartPole, Euler integration).

Constants and equations follow ``gymnasium/envs/classic_control/cartpole.py`` (Barto, Sutton and
Anderson 1983; corrected equations of Florian 2007), so trajectories match CartPole-v1 exactly.
``step_state`` works on Python floats (with ``math``'s functions, fast for one env) and on numpy
arrays (with numpy's, for a batch).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
TOTAL_MASS = MASS_CART + MASS_POLE
HALF_LENGTH = 0.5
POLEMASS_LENGTH = MASS_POLE * HALF_LENGTH
FORCE_MAG = 10.0
TAU = 0.02
THETA_LIMIT = 12 * 2 * math.pi / 360
X_LIMIT = 2.4
RESET_BOUND = 0.05


def step_state(
    x: float, x_dot: float, theta: float, theta_dot: float, force: float,
    cos: Callable = math.cos, sin: Callable = math.sin,
) -> tuple:
    """Advance (x, x_dot, theta, theta_dot) by one Euler step under ``force`` (floats or arrays)."""
    c, s = cos(theta), sin(theta)
    temp = (force + POLEMASS_LENGTH * theta_dot * theta_dot * s) / TOTAL_MASS
    theta_acc = (GRAVITY * s - c * temp) / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * c * c / TOTAL_MASS))
    x_acc = temp - POLEMASS_LENGTH * theta_acc * c / TOTAL_MASS
    return x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot, theta_dot + TAU * theta_acc


def has_fallen(x: float, theta: float) -> bool:
    """Termination: the cart left the track or the pole passed 12 degrees (floats or arrays)."""
    return (abs(x) > X_LIMIT) | (abs(theta) > THETA_LIMIT)


def linearised_model() -> tuple[np.ndarray, np.ndarray]:
    """Discrete-time (A, B) of the Euler step linearised at the upright rest state, B per newton."""
    denom = HALF_LENGTH * (4.0 / 3.0 - MASS_POLE / TOTAL_MASS)
    theta_acc_theta, theta_acc_force = GRAVITY / denom, -1.0 / (TOTAL_MASS * denom)
    x_acc_theta = -POLEMASS_LENGTH * theta_acc_theta / TOTAL_MASS
    x_acc_force = 1.0 / TOTAL_MASS - POLEMASS_LENGTH * theta_acc_force / TOTAL_MASS
    a = np.eye(4)
    a[0, 1] = a[2, 3] = TAU
    a[1, 2], a[3, 2] = TAU * x_acc_theta, TAU * theta_acc_theta
    b = np.array([0.0, TAU * x_acc_force, 0.0, TAU * theta_acc_force])
    return a, b
