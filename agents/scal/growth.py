"""Prototype growth (neurogenesis) for SCAL perception: more prototypes when the active ones run out.

The perception preallocates ``max_prototypes`` prototypes (one LIF neuron each) so that every shape seen by
SB3 and the optimizer stays fixed; a 0/1 mask marks the active ones, and inactive neurons get no input
current (no spikes, zero features). After every adaptation pass :class:`PrototypeGrowth` looks at what the
perception already measures and activates new prototypes, initialised on the inputs they are to cover,
when one of these triggers fires (and ``cooldown`` passes have gone by since the last growth event):

* novelty: the share of inputs whose best cosine similarity to an active prototype is below
  ``novelty_threshold`` exceeds its running baseline by ``novelty_margin`` (inputs the prototypes do not
  cover: a new task). The baseline follows the share, so a stationary stream whose prototypes are still
  converging does not grow; a jump does.
* saturation: the mean spike rate of the busiest 10% of the active neurons is above ``saturation_rate``
  (the source design's "sustained activation above 85%").
* TD error (optional, ``td_error_rise``): a fast running mean of the absolute TD error rises by that
  fraction above a slow one. Off by default: returns grow while an agent learns, and its TD errors with them,
  so on a stationary task this trigger fires too.

Each event adds ``growth_fraction`` of the active count (at least one) up to ``max_prototypes``, each new
prototype placed on the input farthest from every prototype so far (farthest-first; for novelty, only as
many as there are uncovered inputs). With ``prune_after`` the active prototypes that have not won an input
for that many passes are deactivated and their slots reused. Growth state lives in ``running_*`` buffers,
so ``save``/``load`` and exact resume keep it and DQN copies it into its target network.

Growth triggers after the SCAL-RL integration spec's neurogenesis rule (activation above 85%: +10% units,
rising error, a safety maximum on the unit count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import torch
from torch import nn

__all__ = ["GrowthConfig", "GrowthEvent", "PrototypeGrowth"]

BUSIEST_SHARE = 0.1  # the share of active neurons whose spike rate measures saturation
RATE_MOMENTUM = 0.9  # running mean of each neuron's spike rate over adaptation passes
TD_FAST, TD_SLOW = 0.7, 0.97  # momenta of the fast and the slow running mean of |TD error|


@dataclass(frozen=True)
class GrowthConfig:
    """When and how much the perception grows; invalid values raise ``ValueError`` naming the argument.

    Attributes:
        novelty_threshold: an input is novel when its best cosine similarity to an active prototype is below this.
        novelty_margin: growth when the novel share exceeds its running baseline by this much.
        novelty_momentum: weight of the old baseline in the running novel share.
        saturation_rate: growth when the busiest active neurons fire at a mean rate above this.
        growth_fraction: prototypes added per event, as a share of the active ones (at least one).
        cooldown: adaptation passes between growth events.
        td_error_rise: growth when the fast mean of ``|TD error|`` exceeds the slow one by this fraction
            (``None``: off).
        prune_after: deactivate active prototypes that won no input in this many passes (``None``: never).
    """

    novelty_threshold: float = 0.6
    novelty_margin: float = 0.2
    novelty_momentum: float = 0.95
    saturation_rate: float = 0.85
    growth_fraction: float = 0.1
    cooldown: int = 20
    td_error_rise: float | None = None
    prune_after: int | None = None

    def __post_init__(self) -> None:
        _check_range("novelty_threshold", self.novelty_threshold, -1.0, 1.0)
        _check_range("novelty_margin", self.novelty_margin, 0.0, 1.0)
        _check_range("novelty_momentum", self.novelty_momentum, 0.0, 1.0, high_open=True)
        _check_range("saturation_rate", self.saturation_rate, 0.0, 1.0, low_open=True)
        _check_range("growth_fraction", self.growth_fraction, 0.0, 1.0, low_open=True)
        _check_count("cooldown", self.cooldown, minimum=0)
        if self.td_error_rise is not None:
            _check_range("td_error_rise", self.td_error_rise, 0.0, math.inf, low_open=True)
        if self.prune_after is not None:
            _check_count("prune_after", self.prune_after, minimum=1)

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any] | None) -> GrowthConfig:
        """Build from a mapping (``growth_kwargs`` of the perception); unknown keys raise ``ValueError``."""
        kwargs = dict(kwargs or {})
        allowed = [f.name for f in fields(cls)]
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise ValueError(f"growth_kwargs has unknown keys {unknown}; allowed: {', '.join(allowed)}")
        return cls(**kwargs)


def _check_range(
    name: str, value: Any, low: float, high: float, low_open: bool = False, high_open: bool = False
) -> None:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
    if not is_number or value < low or value > high or (low_open and value == low) or (high_open and value == high):
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name}={value!r} must be a number in {interval}")


def _check_count(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}")


def check_prototype_counts(n_prototypes: int, max_prototypes: Any) -> int:
    """``max_prototypes`` as an int, or ``ValueError`` unless it is an integer >= ``n_prototypes``."""
    if isinstance(max_prototypes, bool) or not isinstance(max_prototypes, int) or max_prototypes < n_prototypes:
        raise ValueError(
            f"max_prototypes={max_prototypes!r} must be an integer >= n_prototypes ({n_prototypes}), the prototypes "
            "active at the start"
        )
    return max_prototypes


class GrowthEvent(NamedTuple):
    """One growth step: why, which slots were activated, and the prototypes placed there."""

    trigger: str  # "novelty", "saturation" or "td_error"
    slots: torch.Tensor
    prototypes: torch.Tensor
    n_active: int  # active prototypes after the event
    novel_share: float


class PrototypeGrowth(nn.Module):
    """Active mask, counters and running statistics of a growing prototype layer, and the growth decisions.

    Args:
        n_initial: prototypes active at the start (the first ``n_initial`` slots).
        max_prototypes: slots preallocated; the active count never exceeds it.
        config: triggers and amounts (:class:`GrowthConfig`).
    """

    def __init__(self, n_initial: int, max_prototypes: int, config: GrowthConfig) -> None:
        super().__init__()
        self.config = config
        active = torch.zeros(max_prototypes)
        active[:n_initial] = 1.0
        self.register_buffer("running_active", active)
        self.register_buffer("running_unit_rates", torch.zeros(max_prototypes))
        self.register_buffer("running_last_win", torch.zeros(max_prototypes))
        self.register_buffer("running_novelty", torch.tensor(0.0))
        self.register_buffer("running_td_fast", torch.tensor(0.0))
        self.register_buffer("running_td_slow", torch.tensor(0.0))
        self.register_buffer("running_passes", torch.tensor(0.0))
        self.register_buffer("running_last_growth", torch.tensor(0.0))
        self.register_buffer("running_growth_events", torch.tensor(0.0))
        self.register_buffer("running_pruned", torch.tensor(0.0))

    @property
    def mask(self) -> torch.Tensor:
        """1 for active prototypes, 0 for the preallocated ones not yet grown."""
        return self.running_active

    @property
    def n_active(self) -> int:
        return int(self.running_active.sum())

    def masked(self, similarities: torch.Tensor) -> torch.Tensor:
        """``similarities`` ``(..., slots)`` with the inactive slots at -inf (never the best match)."""
        return similarities.masked_fill(self.running_active == 0, -math.inf)

    @torch.no_grad()
    def record_rates(self, rates: torch.Tensor) -> None:
        """Per-neuron spike rates of one pass (for the saturation trigger)."""
        self.running_unit_rates.lerp_(rates * self.running_active, 1.0 - RATE_MOMENTUM)

    @torch.no_grad()
    def record_td_error(self, mean_abs_td_error: float) -> None:
        """Mean ``|TD error|`` of the newest data (for the TD-error trigger)."""
        if self.running_td_slow == 0:
            self.running_td_fast.fill_(mean_abs_td_error)
            self.running_td_slow.fill_(mean_abs_td_error)
            return
        self.running_td_fast.lerp_(torch.tensor(mean_abs_td_error), 1.0 - TD_FAST)
        self.running_td_slow.lerp_(torch.tensor(mean_abs_td_error), 1.0 - TD_SLOW)

    @torch.no_grad()
    def step(self, features: torch.Tensor, prototypes: torch.Tensor) -> GrowthEvent | None:
        """After an adaptation pass over unit-norm ``features`` ``(batch, dim)``: prune, then grow if a trigger fires.

        Returns the event (the caller writes its prototypes into the slots) or ``None``.
        """
        best, winners = self.masked(features @ prototypes.T).max(dim=1)
        novel = best < self.config.novelty_threshold
        novel_share = float(novel.float().mean())
        if self.running_passes == 0:
            self.running_novelty.fill_(novel_share)
        self.running_last_win[winners] = self.running_passes
        self._prune()
        trigger = self._trigger(novel_share)
        self.running_novelty.lerp_(torch.tensor(novel_share), 1.0 - self.config.novelty_momentum)
        self.running_passes.add_(1.0)
        if trigger is None:
            return None
        slots, chosen = self._grow(features, best, only_novel=trigger == "novelty")
        return GrowthEvent(trigger, slots, chosen, self.n_active, novel_share)

    def _trigger(self, novel_share: float) -> str | None:
        config = self.config
        free = self.n_active < self.running_active.numel()
        if not free or self.running_passes - self.running_last_growth < config.cooldown or self.running_passes == 0:
            return None
        if novel_share > float(self.running_novelty) + config.novelty_margin:
            return "novelty"
        active_rates = self.running_unit_rates[self.running_active > 0]
        busiest = active_rates.topk(max(1, math.ceil(BUSIEST_SHARE * active_rates.numel()))).values
        if float(busiest.mean()) > config.saturation_rate:
            return "saturation"
        rise = config.td_error_rise
        if rise is not None and self.running_td_slow > 0 and self.running_td_fast > (1.0 + rise) * self.running_td_slow:
            return "td_error"
        return None

    def _grow(self, features: torch.Tensor, best: torch.Tensor, only_novel: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Activate free slots on farthest-first inputs; returns the slots and their (unit-norm) prototypes."""
        free = torch.nonzero(self.running_active == 0).flatten()
        count = min(free.numel(), max(1, round(self.config.growth_fraction * self.n_active)))
        best = best.clone()
        chosen = []
        for _ in range(count):
            index = int(best.argmin())
            if chosen and only_novel and best[index] >= self.config.novelty_threshold:
                break  # every input is covered
            chosen.append(index)
            best = torch.maximum(best, features @ features[index])
        slots = free[: len(chosen)]
        self.running_active[slots] = 1.0
        self.running_last_win[slots] = self.running_passes
        self.running_unit_rates[slots] = 0.0
        self.running_last_growth.copy_(self.running_passes)
        self.running_growth_events.add_(1.0)
        return slots, features[chosen]

    def _prune(self) -> None:
        if self.config.prune_after is None or self.n_active <= 1:
            return
        idle = (self.running_active > 0) & (self.running_passes - self.running_last_win > self.config.prune_after)
        if bool(idle.all()):  # keep the most recent winner
            idle[int(self.running_last_win.argmax())] = False
        self.running_active[idle] = 0.0
        self.running_pruned.add_(float(idle.sum()))
