"""Reward formulas of the synapse scenarios (pure functions of tensors and floats)."""

from __future__ import annotations

import torch


def semi_reward(out_counts: torch.Tensor, label: int, n_steps: int, alpha_margin: float, alpha_spike: float) -> float:
    """``R = R_cls + α_margin·(r_y − max_{k≠y} r_k) − α_spike·Σ s_k / (T·10)``.

    ``R_cls`` is +1 when the output neuron with most spikes is ``label`` (ties and silence count as
    wrong), −1 otherwise; ``r_k`` are output rates (spikes per step).

    Example:
        >>> semi_reward(torch.tensor([0.0, 4, 0, 0, 0, 0, 0, 0, 0, 2]), 1, 10, 1.0, 0.5)
        1.17
    """
    rates = out_counts / n_steps
    others = torch.cat([rates[:label], rates[label + 1 :]])
    correct = bool(out_counts[label] > others.max() * n_steps)
    r_cls = 1.0 if correct else -1.0
    margin = float(rates[label] - others.max())
    spikes = float(out_counts.sum()) / (n_steps * len(out_counts))
    return round(r_cls + alpha_margin * margin - alpha_spike * spikes, 6)


def grad_mimicry_rewards(g_scaled: torch.Tensor, delta_d: torch.Tensor, lam: float) -> torch.Tensor:
    """Per-event ``r = −g·Δd − λ·Δd²`` with ``g`` in units of its running RMS (so ``Δd* = −g / 2λ``).

    This is ``−g·Δw − λ·Δw²`` of the design with ``Δw = η·Δd`` and ``g, λ`` rescaled by η and the RMS.

    Example:
        >>> grad_mimicry_rewards(torch.tensor([1.0, -1.0]), torch.tensor([-1.0, 0.5]), 0.5).tolist()
        [0.5, 0.375]
    """
    return -g_scaled * delta_d - lam * delta_d**2


def unsup_reward(
    sparsity: float,
    sparsity_target: float,
    diversity: float,
    stability: float | None,
    weights: tuple[float, float, float],
) -> float:
    """Episode reward ``w_s·(1 − |ρ − ρ*| / max(ρ*, 1 − ρ*)) + w_d·diversity + w_t·stability``.

    ``sparsity`` ρ is the share of excitatory neurons that spiked for the image, ``diversity`` the share
    of distinct winners over recent images, ``stability`` 1/0 whether a re-presented image has the same
    winner (``None`` when no image was re-presented: the term is left out). A silent network gets −1.

    Example:
        >>> unsup_reward(0.05, 0.05, 1.0, None, (1.0, 1.0, 1.0))
        2.0
    """
    if sparsity == 0.0:
        return -1.0
    w_sparse, w_div, w_stab = weights
    sparse_term = 1.0 - abs(sparsity - sparsity_target) / max(sparsity_target, 1.0 - sparsity_target)
    return w_sparse * sparse_term + w_div * diversity + (w_stab * stability if stability is not None else 0.0)


UNSUP_REWARDS = ("design", "reconstruction", "decorrelation", "predictability", "discrimination")
"""Names of the unsupervised rewards (``unsup_reward`` env argument); ``design``: :func:`unsup_reward`."""


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine of two vectors, 0 when either is zero.

    Example:
        >>> round(cosine_similarity(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])), 4)
        0.7071
    """
    norm = float(a.norm() * b.norm())
    return float(a @ b) / norm if norm > 0 else 0.0


def reconstruction(input_counts: torch.Tensor, weight: torch.Tensor, exc_counts: torch.Tensor) -> float:
    """How well the responding neurons' receptive fields reconstruct the input: ``cos(x, W·c)``, ``x`` the input
    spike counts, ``W`` the ``(n_input, n_exc)`` input weights and ``c`` the excitatory spike counts (each field
    weighted by its neuron's spikes; the winner-take-all code of Diehl & Cook makes ``W·c`` the winners' fields).

    Example:
        >>> w = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> reconstruction(torch.tensor([3.0, 0.0]), w, torch.tensor([2.0, 0.0]))
        1.0
    """
    return cosine_similarity(input_counts, weight @ exc_counts)


def decorrelation(exc_counts: torch.Tensor, others: list[torch.Tensor]) -> float | None:
    """``1 − mean cos(c, c_j)`` over the responses ``c_j`` to other recent images (``None`` without any): high
    when different images excite different neurons (Földiák 1990's decorrelating code).

    Example:
        >>> decorrelation(torch.tensor([1.0, 0.0]), [torch.tensor([0.0, 2.0]), torch.tensor([1.0, 0.0])])
        0.5
    """
    if not others:
        return None
    return 1.0 - sum(cosine_similarity(exc_counts, other) for other in others) / len(others)


def discrimination(exc_counts: torch.Tensor, previous: torch.Tensor | None, others: list[torch.Tensor]) -> float | None:
    """``cos(c, c_prev) − mean cos(c, c_j)``: how much more the response resembles the last response to the same
    image (``previous``; ``None`` when the image is not a re-presentation) than the responses to other images.

    Example:
        >>> discrimination(torch.tensor([1.0, 0.0]), torch.tensor([2.0, 0.0]), [torch.tensor([0.0, 1.0])])
        1.0
    """
    if previous is None:
        return None
    spread = decorrelation(exc_counts, others)
    return cosine_similarity(exc_counts, previous) - (0.0 if spread is None else 1.0 - spread)


def unsup_candidates(
    input_counts: torch.Tensor,
    weight: torch.Tensor,
    exc_counts: torch.Tensor,
    previous: torch.Tensor | None,
    others: list[torch.Tensor],
) -> dict[str, float | None]:
    """Every label-free reward of :data:`UNSUP_REWARDS` but ``design`` for one image (``None``: undefined for this
    image, e.g. predictability when the image is not a re-presentation). A silent network gets −1 in each.

    ``predictability`` is ``cos(c, c_prev)``, the response's similarity to the last response to the same image.

    Example:
        >>> c = torch.tensor([1.0, 0.0])
        >>> unsup_candidates(torch.ones(2), torch.eye(2), c, c, [])["predictability"]
        1.0
    """
    if float(exc_counts.max()) <= 0:
        return {name: -1.0 for name in UNSUP_REWARDS[1:]}
    return {
        "reconstruction": reconstruction(input_counts, weight, exc_counts),
        "decorrelation": decorrelation(exc_counts, others),
        "predictability": None if previous is None else cosine_similarity(exc_counts, previous),
        "discrimination": discrimination(exc_counts, previous, others),
    }
