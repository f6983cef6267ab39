"""FLOP counting from the layers: forward hooks read each layer's real input and output shapes.

One multiply-accumulate counts as 2 FLOPs; a bias, an activation, an addition or a division as 1
FLOP per output element. A module with parameters that no counter knows raises ``ValueError``
rather than being silently counted as free.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def conv2d_flops(layer: nn.Conv2d, inputs: torch.Tensor, output: torch.Tensor) -> int:
    """``2·(C_in/groups)·k_h·k_w`` per output element, plus one per output element for the bias."""
    kh, kw = layer.kernel_size
    per_output = 2 * (layer.in_channels // layer.groups) * kh * kw + (layer.bias is not None)
    return per_output * output[0].numel()


def linear_flops(layer: nn.Linear, inputs: torch.Tensor, output: torch.Tensor) -> int:
    """``2·in_features`` per output element, plus one per output element for the bias."""
    return (2 * layer.in_features + (layer.bias is not None)) * output[0].numel()


def elementwise_flops(layer: nn.Module, inputs: torch.Tensor, output: torch.Tensor) -> int:
    """One FLOP per output element (activations, residual additions)."""
    return output[0].numel()


def avgpool_flops(layer: nn.Module, inputs: torch.Tensor, output: torch.Tensor) -> int:
    """One addition per input element and one division per output element."""
    return inputs[0].numel() + output[0].numel()


def free(layer: nn.Module, inputs: torch.Tensor, output: torch.Tensor) -> int:
    """Reshapes cost nothing."""
    return 0


COUNTERS: dict[type[nn.Module], Callable[[nn.Module, torch.Tensor, torch.Tensor], int]] = {
    nn.Conv2d: conv2d_flops,
    nn.Linear: linear_flops,
    nn.ReLU: elementwise_flops,
    nn.AvgPool2d: avgpool_flops,
    nn.Flatten: free,
    nn.Identity: free,
}


def count_flops(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass of ``module`` on one input of ``input_shape`` (no batch dimension).

    Every submodule whose type is in :data:`COUNTERS` (or that defines ``own_flops(inputs, output)``
    for work it does outside its children, like a residual addition) is counted.

    Example:
        >>> count_flops(nn.Linear(3, 2), (3,))  # 2 outputs × (2·3 multiply-adds + 1 bias)
        14
    """
    total = 0
    handles = []

    def hook(layer: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        counter = COUNTERS.get(type(layer))
        total += counter(layer, inputs[0], output) if counter else layer.own_flops(inputs[0], output)

    for layer in module.modules():
        counted = type(layer) in COUNTERS or hasattr(layer, "own_flops")
        if not counted and any(True for _ in layer.parameters(recurse=False)):
            raise ValueError(
                f"no FLOP counter for layer {type(layer).__name__}; known: {sorted(c.__name__ for c in COUNTERS)}"
            )
        if counted:
            handles.append(layer.register_forward_hook(hook))
    try:
        with torch.no_grad():
            module(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    return total
