"""The learned rule's kernel Δd(Δt): the action for one pre and one post spike Δt = t_post − t_pre apart."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.synapse.layout import SCALARS


def probe_rows(
    k: int, capacity: int, lags: np.ndarray, weight: float = 0.5, group: float = 0.0, third_factor: float = 0.0
) -> np.ndarray:
    """Event rows (flat, one per slot) with one pre and one post spike; the later one is the current step.

    Row ``i`` has ``Δt = lags[i]``: positive → pre before post (a post event), negative → a pre event.

    Example:
        >>> probe_rows(4, 3, np.array([2, -1])).reshape(3, -1)[:2, :8].tolist()
        [[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0]]
    """
    width = 2 * k + len(SCALARS)
    rows = np.zeros((capacity, width), np.float32)
    for i, lag in enumerate(lags[:capacity]):
        pre_at, post_at = (k - 1 - lag, k - 1) if lag >= 0 else (k - 1, k - 1 + lag)
        rows[i, pre_at], rows[i, k + post_at] = 1.0, 1.0
        scalars = dict(
            mask=1.0,
            weight=weight,
            pre_event=float(lag <= 0),
            post_event=float(lag >= 0),
            group=group,
            third_factor=third_factor,
        )
        for name, value in scalars.items():
            rows[i, 2 * k + SCALARS.index(name)] = value
    return rows.reshape(-1)


def rule_kernel(model: Any, k: int, capacity: int, max_lag: int | None = None, **row_kwargs: Any) -> tuple:
    """``(lags, Δd)`` of a rule (anything with SB3's ``predict``) for Δt in ``[−max_lag, max_lag]``."""
    max_lag = min(k - 1, max_lag or k - 1, (capacity - 1) // 2)
    lags = np.arange(-max_lag, max_lag + 1)
    action, _ = model.predict(probe_rows(k, capacity, lags, **row_kwargs)[None], deterministic=True)
    return lags, np.asarray(action)[0, : len(lags)]
