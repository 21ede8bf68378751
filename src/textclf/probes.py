"""Measurements of what a trained or fresh network does inside, shared by several chapters."""

from __future__ import annotations

from typing import Callable

import torch

REDUCTIONS = ("norm", "max")


def gradient_per_step(read: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor,
                      reduce: str = "norm") -> torch.Tensor:
    """How much gradient reaches each input step: the gradient of ``read(inputs).sum()`` with
    respect to ``inputs``, reduced over features ("norm": L2, "max": largest absolute value) and
    averaged over the batch. inputs: (batch, steps, features) -> (steps,).

    ``read`` maps the inputs to a loss or to logits, e.g. an RNN followed by its head.
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3 or not inputs.is_floating_point():
        shown = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"inputs must be a float tensor (batch, steps, features), got {shown}")
    x = inputs.detach().clone().requires_grad_(True)
    read(x).sum().backward()
    if x.grad is None:
        raise ValueError("read(inputs) does not depend on inputs: no gradient reached them")
    per_step = x.grad.norm(dim=2) if reduce == "norm" else x.grad.abs().amax(dim=2)
    return per_step.mean(dim=0)                                     # (steps,)
