"""Pieces that several chapters' models share."""

from __future__ import annotations

import torch


def last_real_step(output: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The output at each sequence's last real token, not at the last (maybe padded) column.

    output: (batch, steps, features), lengths: (batch,) -> (batch, features).
    """
    if output.dim() != 3 or lengths.shape != output.shape[:1]:
        raise ValueError(f"need output (batch, steps, features) and lengths (batch,), got {tuple(output.shape)} and {tuple(lengths.shape)}")
    lengths = lengths.to(output.device)
    if lengths.min() < 1 or lengths.max() > output.shape[1]:
        raise ValueError(f"lengths must lie in 1..{output.shape[1]} (the steps of output), got {lengths.min()}..{lengths.max()}")
    return output[torch.arange(output.shape[0], device=output.device), lengths - 1]
