"""Training plumbing shared by every chapter: set-up, ``fit``, ``evaluate``, ``predict``.

Every model in the book takes ``(ids, lengths)`` and returns logits: shape ``(batch,)`` or
``(batch, 1)`` for a binary task (trained with ``BCEWithLogitsLoss``), ``(batch, classes)`` for
several classes (``CrossEntropyLoss``). Batches are ``(ids, lengths, labels)`` from
:func:`textclf.text.data_loader`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import platform
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from . import settings
from .checks import check_int, check_real

#: In quick mode ``fit`` runs at most this many epochs of at most this many batches.
QUICK_EPOCHS, QUICK_BATCHES = 2, 8

#: The number formats a model can run in: float32, or bfloat16 autocast (``"auto"`` picks bf16
#: where the processor has bfloat16 instructions, else fp32).
PRECISIONS = ("fp32", "bf16", "auto")

_started: float | None = None
_seed: int | None = None
_load_at_start: float | None = None
_precision: str = "fp32"


def setup(seed: int = 0, threads: int | None = None, precision: str = "fp32") -> torch.device:
    """Seed every RNG, pick the device, apply CPU speed settings and print one summary line.

    ``torch.set_flush_denormal(True)`` makes tiny floats zero instead of "denormals", which some
    processors handle very slowly (the appendix "Recurrent models fast on a CPU" measures it);
    it costs no accuracy. The flag is per thread and worker threads copy it when they start, so
    call this first. ``precision="bf16"`` makes :func:`fit`, :func:`evaluate` and :func:`predict`
    run models under bfloat16 autocast (the appendix measures its speed and cost); it is refused
    on a processor without bfloat16 instructions, where it is slower. ``"auto"`` picks for you.
    """
    global _started, _seed, _load_at_start, _precision
    seed = check_int(seed, "seed", 0)
    if seed >= 2**32:
        shown = seed if seed.bit_length() <= 64 else f"a {seed.bit_length()}-bit number"
        raise ValueError(f"seed must be below 2**32 (NumPy's limit), got {shown}")
    threads = check_int(threads, "threads", 1, allow_none=True)
    device = pick_device()
    chosen = _check_precision(precision, device)
    _started, _seed, _precision = time.perf_counter(), seed, chosen
    _load_at_start = round(os.getloadavg()[0], 2)  # how busy the machine was when the run began
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    flush = torch.set_flush_denormal(True)
    torch.set_num_threads(threads or os.cpu_count() or 1)
    mode = "quick" if settings.quick_mode() else "full"
    print(
        f"torch {torch.__version__} | device {describe_device(device)} | {torch.get_num_threads()} threads"
        f" | flush-denormal {'on' if flush else 'unsupported'} | seed {seed} | {mode} mode"
        + (" | bfloat16 autocast" if chosen == "bf16" else "")
    )
    return device


def bf16_supported(device: torch.device | None = None) -> bool:
    """True where bfloat16 runs natively: a CPU with AVX512-BF16 or AMX instructions, or a GPU
    that supports it. Elsewhere autocast emulates it, more slowly than float32."""
    device = device or pick_device()
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def _check_precision(precision: object, device: torch.device) -> str:
    """``precision`` resolved to ``"fp32"`` or ``"bf16"``; an error for a name not in PRECISIONS,
    or for ``"bf16"`` where the device has no bfloat16 instructions."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r:.40}")
    if precision == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    if precision == "bf16" and not bf16_supported(device):
        raise ValueError(
            f"precision='bf16' needs bfloat16 instructions (AVX512-BF16 or AMX on a CPU); this "
            f"{device.type} ({describe_processor() if device.type == 'cpu' else device}) has none, "
            f"and emulated bfloat16 is slower than float32: use precision='fp32' (or 'auto')"
        )
    return precision


def precision() -> str:
    """The precision models run in: ``"fp32"``, or ``"bf16"`` (autocast) as chosen in :func:`setup`."""
    return _precision


@contextlib.contextmanager
def using_precision(name: str):
    """Run the block with ``fit``/``evaluate``/``predict`` in precision ``name`` ("fp32" or "bf16"),
    then restore the previous one: for comparing both in one run. Unlike :func:`setup` it does not
    refuse bf16 without bfloat16 instructions (a measurement there shows the emulation's cost)."""
    global _precision
    if name not in ("fp32", "bf16"):
        raise ValueError(f"using_precision takes 'fp32' or 'bf16', got {name!r:.40}")
    previous, _precision = _precision, name
    try:
        yield
    finally:
        _precision = previous


def autocast(device: torch.device | str = "cpu"):
    """The autocast context of the current precision: bfloat16 under ``"bf16"``, a no-op under
    ``"fp32"``. Wrap a model's forward pass in it (not the backward pass)."""
    device_type = device.type if isinstance(device, torch.device) else str(device)
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=_precision == "bf16")


def forward(model: nn.Module, ids: torch.Tensor, lengths: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``model(ids, lengths)`` in the current precision, returned as float32 outputs (losses and
    probabilities are computed in float32 in both precisions)."""
    with autocast(device):
        out = model(ids, lengths)
    return out.float() if isinstance(out, torch.Tensor) and out.dtype == torch.bfloat16 else out


def pick_device() -> torch.device:
    """CUDA if present, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device: torch.device) -> str:
    """A human name for a device, e.g. ``cpu (x86_64, 2 cores)`` or the GPU's name."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({platform.machine()}, {os.cpu_count()} cores)"
    return device.type


def describe_processor() -> str:
    """The CPU's model name and the widest vector instructions torch uses, e.g. ``AMD EPYC, AVX2``:
    the same code runs at different speeds, and rounds differently, on different processors."""
    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:  # not Linux
        pass
    name = name or platform.processor() or platform.machine() or "unknown processor"
    return f"{name}, {torch.backends.cpu.get_cpu_capability()}"


def seconds_since_setup() -> float:
    """Wall seconds since :func:`setup` was called (the chapter's run time)."""
    if _started is None:
        raise RuntimeError("call training.setup() first, in the chapter's first cell")
    return time.perf_counter() - _started


def setup_seed() -> int | None:
    """The seed given to :func:`setup` (None before it ran)."""
    return _seed


def setup_load() -> float | None:
    """The 1-minute load average when :func:`setup` ran (None before it ran)."""
    return _load_at_start


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"count_parameters takes a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _one_logit_as_vector(logits: torch.Tensor) -> torch.Tensor:
    """A binary model's ``(batch, 1)`` logits as ``(batch,)``; other shapes unchanged."""
    return logits.squeeze(1) if logits.dim() == 2 and logits.shape[1] == 1 else logits


def _loss_and_predictions(logits: torch.Tensor, labels: torch.Tensor, loss_fn: nn.Module):
    """Match logits to labels for the loss and turn them into class predictions (None for a loss
    with its own ``loss_and_predictions`` method that has no classes to count)."""
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"the model must return a tensor of logits, got {type(logits).__name__}")
    if callable(getattr(loss_fn, "loss_and_predictions", None)):
        return loss_fn.loss_and_predictions(logits, labels)
    if not isinstance(labels, torch.Tensor) or labels.dtype == torch.bool or labels.is_floating_point() \
            or labels.is_complex():
        shown = labels.dtype if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise TypeError(f"labels must be an integer tensor of class indices (0, 1, ...), got {shown}")
    logits = _one_logit_as_vector(logits)
    if logits.dim() not in (1, 2) or logits.shape[0] != labels.shape[0] or labels.dim() != 1:
        raise ValueError(
            f"the model returned logits of shape {tuple(logits.shape)} for labels of shape {tuple(labels.shape)}; "
            f"expected (batch,) or (batch, 1) for a binary task, (batch, classes) for several classes"
        )
    if len(labels) and labels.min() < 0:
        raise ValueError(f"labels must be class indices 0, 1, ..., got {int(labels.min())}")
    if logits.dim() == 1:  # binary: one logit per example, labels 0/1
        if isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)):
            raise ValueError(
                f"a model with one output (binary) needs nn.BCEWithLogitsLoss(), got {type(loss_fn).__name__}; "
                f"or give the model one output per class"
            )
        if len(labels) and labels.max() > 1:
            raise ValueError(
                f"a model with one output is a binary classifier and needs labels 0 and 1, got {int(labels.max())}; "
                f"give the model one output per class (and use CrossEntropyLoss) for more classes"
            )
        return loss_fn(logits, labels.float()), (logits > 0).long()
    if isinstance(loss_fn, (nn.BCEWithLogitsLoss, nn.BCELoss)):
        raise ValueError(
            f"{type(loss_fn).__name__} takes one output per example, but the model has {logits.shape[1]}; "
            f"use nn.CrossEntropyLoss() for several classes"
        )
    if len(labels) and labels.max() >= logits.shape[1]:
        raise ValueError(f"label {int(labels.max())} is out of range for a model with {logits.shape[1]} outputs (classes)")
    return loss_fn(logits, labels), logits.argmax(dim=1)


def median_step_seconds(model: nn.Module, batches, optimizer: torch.optim.Optimizer,
                        loss_fn: nn.Module, warmup: int = 1) -> float:
    """Median wall time of one training step (forward, backward, optimizer step) over ``batches``,
    leaving out the first ``warmup`` steps; for speed comparisons on the same batches."""
    warmup = check_int(warmup, "warmup", 0)
    if len(batches) <= warmup:
        raise ValueError(f"need more than warmup={warmup} batches to time, got {len(batches)}")
    model.train()
    times = []
    for ids, lengths, labels in batches:
        start = time.perf_counter()
        loss, _ = _loss_and_predictions(forward(model, ids, lengths, ids.device), labels, loss_fn)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return float(np.median(times[warmup:]))


@contextlib.contextmanager
def using_threads(count: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(count)``, then restore the previous count."""
    count = check_int(count, "count", 1)
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def thread_timings(model: nn.Module, batches: Sequence, optimizer_factory: Callable,
                   loss_fn: nn.Module, candidates: Sequence[int] = (1, 2), warmup: int = 1) -> dict[int, float]:
    """Median seconds of a training step with each thread count in ``candidates``.

    Every count trains its own copy of ``model`` with ``optimizer_factory(parameters)`` on the
    same ``batches``; ``model``, the thread count and the random number generator are left as
    they were."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(optimizer_factory):
        raise TypeError(f"optimizer_factory must make an optimizer from parameters (e.g. "
                        f"lambda p: torch.optim.Adam(p, lr=1e-3)), got {type(optimizer_factory).__name__}")
    if isinstance(candidates, (str, bytes)) or not isinstance(candidates, Sequence) or not candidates:
        raise ValueError(f"candidates must be a non-empty sequence of thread counts, got {candidates!r:.40}")
    candidates = [check_int(count, "candidates", 1) for count in candidates]
    batches = list(batches)
    timings = {}
    with torch.random.fork_rng(devices=[]):                 # dropout draws are given back
        for count in candidates:
            trial = copy.deepcopy(model)
            optimizer = optimizer_factory(trial.parameters())
            with using_threads(count):
                timings[count] = median_step_seconds(trial, batches, optimizer, loss_fn, warmup)
    return timings


def _check_min_gain(min_gain: object) -> None:
    check_real(min_gain, "min_gain", 0, 1, high_open=True, meaning=" (a share of a step)")


def choose_thread_count(timings: Mapping[int, float], min_gain: float = 0.05) -> int:
    """The thread count to train with, from ``{threads: seconds per step}`` (:func:`thread_timings`):
    more threads only where they save at least ``min_gain`` of the step over the count chosen so far."""
    _check_min_gain(min_gain)
    if not isinstance(timings, Mapping) or not timings:
        raise ValueError(f"timings must be a non-empty dict {{threads: seconds per step}}, got {timings!r:.60}")
    for count, seconds in timings.items():
        check_int(count, "timings' thread count", 1)
        check_real(seconds, f"timings[{count}]", 0, low_open=True, meaning=" (seconds per step)")
    best = min(timings)
    for count in sorted(timings):
        if timings[count] < (1 - min_gain) * timings[best]:
            best = count
    return best


def best_thread_count(model: nn.Module, batches: Sequence, optimizer_factory: Callable, loss_fn: nn.Module,
                      candidates: Sequence[int] = (1, 2), warmup: int = 1, verbose: bool = True,
                      min_gain: float = 0.05) -> int:
    """The thread count of ``candidates`` with the fastest training step (see :func:`thread_timings`),
    where more threads must save at least ``min_gain`` of the step (5 %) over fewer: a near tie
    goes to fewer threads, so timing noise does not flip the choice between runs. Prints the
    timings if ``verbose``. Use it with ``with training.using_threads(count): ...``."""
    _check_min_gain(min_gain)
    timings = thread_timings(model, batches, optimizer_factory, loss_fn, candidates, warmup)
    best = choose_thread_count(timings, min_gain)
    if verbose:
        print(" | ".join(f"{n} thread{'s' * (n > 1)}: {t * 1000:.1f} ms per step" for n, t in timings.items())
              + f" -> {best} thread{'s' * (best > 1)}")
    return best


def precision_summary(histories: dict[str, History]) -> dict[str, float]:
    """Results keys comparing one model trained from the same start in each number format
    (``{"bf16": history, "fp32": history}``): each run's kept epoch (validation accuracy and loss),
    its median seconds per epoch and, when both ran, bf16's speed-up (fp32 seconds / bf16)."""
    if not isinstance(histories, dict) or not histories:
        raise TypeError(f"precision_summary takes a dict of precision -> History, got {histories!r:.60}")
    unknown = set(histories) - {"fp32", "bf16"}
    if unknown:
        raise ValueError(f"precision_summary: keys must be 'fp32' or 'bf16', got {sorted(unknown)}")
    summary = {}
    for name, history in histories.items():
        if not isinstance(history, History):
            raise TypeError(f"precision_summary: {name} must be a History from fit, got {type(history).__name__}")
        seconds = history.column("seconds")
        if not seconds:
            raise ValueError(f"precision_summary: the {name} History holds no epochs")
        summary[f"precision.{name}_valid_accuracy"] = history.best["valid_accuracy"]
        summary[f"precision.{name}_valid_loss"] = history.best["valid_loss"]
        summary[f"precision.{name}_seconds_per_epoch"] = float(np.median(seconds))
    if len(histories) == 2:
        summary["precision.bf16_speedup"] = (summary["precision.fp32_seconds_per_epoch"]
                                             / summary["precision.bf16_seconds_per_epoch"])
    return summary


@dataclass
class History:
    """Per-epoch numbers of a :func:`fit` run, and which epoch was restored."""

    epochs: list[dict] = field(default_factory=list)
    best_epoch: int | None = None

    def column(self, key: str) -> list[float]:
        return [row[key] for row in self.epochs]

    @property
    def best(self) -> dict:
        """The restored epoch's row (its validation accuracy, loss, seconds): the one way to read
        it (``history.best["valid_accuracy"]``, not ``history.epochs[history.best_epoch - 1]``)."""
        if self.best_epoch is None:
            raise ValueError("no epoch was restored: this History holds no finished fit")
        return self.epochs[self.best_epoch - 1]

    def best_within(self, epochs: int) -> dict:
        """The row a fit of only the first ``epochs`` epochs would have restored: the lowest
        validation loss among them, the earliest on a tie, never a non-finite loss (as :func:`fit`)."""
        epochs = check_int(epochs, "epochs", 1)
        self._check_not_empty("best_within")
        if epochs > len(self.epochs):
            raise ValueError(f"epochs must be at most the {len(self.epochs)} epochs run, got {epochs}")
        finite = [row for row in self.epochs[:epochs] if math.isfinite(row["valid_loss"])]
        if not finite:
            raise ValueError(f"no finite validation loss in the first {epochs} epochs: none to restore")
        return min(finite, key=lambda row: row["valid_loss"])

    def to_frame(self):
        """One row per epoch, indexed by epoch number."""
        import pandas as pd

        self._check_not_empty("to_frame")
        if any("epoch" not in row for row in self.epochs):
            raise ValueError("History.to_frame: every row of epochs needs an 'epoch' number, as fit records")
        return pd.DataFrame(self.epochs).set_index("epoch")

    def _check_not_empty(self, caller: str) -> None:
        if not self.epochs:
            raise ValueError(f"History.{caller}: this History holds no epochs; it is filled by training.fit")


class BestWeights:
    """The restore rule every fit shares: keep a copy of the weights of the epoch with the lowest
    finite validation loss, stop after ``patience`` epochs without one, put the copy back."""

    def __init__(self, model: nn.Module, history: History, patience: int | None = None):
        self.model, self.history, self.patience = model, history, patience
        self.loss, self.state = float("inf"), None

    def update(self, epoch: int, valid_loss: float) -> bool:
        """Record ``epoch``'s validation loss; True (and a copy of the weights) if it is the best."""
        improved = valid_loss < self.loss  # never true for NaN or +inf
        if improved:
            self.loss, self.history.best_epoch = valid_loss, epoch
            self.state = copy.deepcopy(self.model.state_dict())
        return improved

    def should_stop(self, epoch: int) -> bool:
        """True once ``patience`` epochs have passed since the best one (or since the start)."""
        since = epoch - (self.history.best_epoch or 0)
        return self.patience is not None and since >= self.patience

    def restore(self, verbose: bool = True) -> None:
        """Load the best epoch's weights; a clear error if no epoch had a finite validation loss."""
        if self.state is None:
            raise FloatingPointError(
                f"the validation loss was not a finite number in any of the {len(self.history.epochs)} "
                f"epochs ({self.history.column('valid_loss')}): training diverged and no epoch can be "
                f"restored; the model keeps its last weights. Try a lower learning rate or clip_norm."
            )
        self.model.load_state_dict(self.state)
        if verbose:
            print(f"restored epoch {self.history.best_epoch} (lowest validation loss)")


def _batches(loader, limit: int | None, desc: str, progress: bool = True):
    """The batches of ``loader`` (any iterable), at most ``limit`` of them, behind a progress bar if
    ``progress``."""
    size = len(loader) if hasattr(loader, "__len__") else None
    total = limit if size is None else size if limit is None else min(limit, size)
    shown = tqdm(loader, total=total, desc=desc, leave=False, mininterval=1) if progress else loader
    for i, batch in enumerate(shown):
        if limit is not None and i >= limit:
            break
        yield batch


def run_epoch(model, loader, loss_fn, device, optimizer=None, clip_norm=None, max_batches=None, desc="",
              progress: bool = True) -> dict:
    """One pass over ``loader``; trains when an ``optimizer`` is given. Returns loss and accuracy
    (only the loss for a loss whose ``loss_and_predictions`` gives no predictions)."""
    training = optimizer is not None
    max_batches = check_int(max_batches, "max_batches", 1, allow_none=True)
    model.train(training)
    total_loss, correct, seen = 0.0, 0, 0
    with torch.set_grad_enabled(training):
        for ids, lengths, labels in _batches(loader, max_batches, desc, progress):
            ids, labels = ids.to(device), labels.to(device)
            loss, predicted = _loss_and_predictions(forward(model, ids, lengths, device), labels, loss_fn)
            if training:
                optimizer.zero_grad()
                loss.backward()
                if clip_norm is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
                optimizer.step()
            total_loss += loss.item() * len(labels)
            if predicted is None:
                correct = None                    # a loss without classes: no accuracy to count
            elif correct is not None:
                correct += (predicted == labels).sum().item()
            seen += len(labels)
    if seen == 0:
        raise ValueError(f"the {'training' if training else 'evaluation'} loader yielded no examples; is its dataset empty?")
    return {"loss": total_loss / seen} if correct is None else {"loss": total_loss / seen, "accuracy": correct / seen}


def evaluate(model, loader, loss_fn, device, max_batches=None) -> dict:
    """Mean loss and accuracy of ``model`` on ``loader``, without training."""
    max_batches = check_int(max_batches, "max_batches", 1, allow_none=True)
    if max_batches is None and settings.quick_mode():
        max_batches = QUICK_BATCHES
    return run_epoch(model, loader, loss_fn, device, max_batches=max_batches, desc="evaluate")


#: ``validate(model, loader, device, max_batches) -> {"loss": ..., other measures}``: how
#: :func:`fit` scores a model on the validation loader after each epoch.
Validator = Callable[[nn.Module, Iterable, torch.device, "int | None"], dict]


def classification_validator(loss_fn: nn.Module, progress: bool = True) -> Validator:
    """The default validation of :func:`fit`: mean ``loss_fn`` and accuracy over the loader."""

    def validate(model: nn.Module, loader, device: torch.device, max_batches: int | None) -> dict:
        return run_epoch(model, loader, loss_fn, device, max_batches=max_batches, desc="validate",
                         progress=progress)

    return validate


def _epoch_line(epoch: int, train: dict, valid: dict, seconds: float, improved: bool) -> str:
    """``epoch  3 | train loss 0.4012 acc 81.20% | valid loss ... | 12.3 s *``: accuracies in
    per cent, every other measure with four decimals, in the order they were recorded."""
    def part(name: str, scores: dict) -> str:
        shown = [f"acc {v:.2%}" if k == "accuracy" else f"{k} {v:.4f}" for k, v in scores.items()]
        return " ".join([name, *shown])

    return (f"epoch {epoch:2d} | {part('train', train)} | {part('valid', valid)} | {seconds:.1f} s"
            + (" *" if improved else ""))


def fit(
    model: nn.Module,
    train_loader,
    valid_loader,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    device: torch.device,
    epochs: int,
    clip_norm: float | None = None,
    patience: int | None = None,
    verbose: bool = True,
    validate: Validator | None = None,
    progress: bool = True,
) -> History:
    """Train for ``epochs``, evaluate on ``valid_loader`` after each, restore the best epoch.

    "Best" is the lowest validation loss. ``patience`` stops early after that many epochs
    without improvement. Quick mode caps epochs and batches (see :data:`QUICK_EPOCHS`).
    ``loss_fn`` is a classification loss (its accuracy is counted too) or an object with a
    ``loss_and_predictions(outputs, labels)`` method, as :class:`textclf.ratings.RatingLoss`.
    ``validate(model, loader, device, max_batches)`` returns the validation ``"loss"`` and any
    other measures (default: loss and accuracy); each becomes a ``valid_<name>`` column.
    ``progress`` shows progress bars (on stderr).
    """
    epochs = check_int(epochs, "epochs", 1)
    patience = check_int(patience, "patience", 1, allow_none=True)
    check_real(clip_norm, "clip_norm", 0, low_open=True, allow_none=True)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a loss such as nn.CrossEntropyLoss(), got {type(loss_fn).__name__}")
    if validate is not None and not callable(validate):
        raise TypeError(f"validate must be a function (model, loader, device, max_batches) -> dict, "
                        f"got {type(validate).__name__}")
    validate = validate or classification_validator(loss_fn, progress)
    max_batches = None
    if settings.quick_mode():
        epochs, max_batches = min(epochs, QUICK_EPOCHS), QUICK_BATCHES
    model.to(device)
    history = History()
    best = BestWeights(model, history, patience)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        train = run_epoch(model, train_loader, loss_fn, device, optimizer, clip_norm, max_batches,
                          f"epoch {epoch}", progress)
        seconds = time.perf_counter() - start
        valid = validate(model, valid_loader, device, max_batches)
        if not isinstance(valid, dict) or "loss" not in valid:
            raise ValueError(f"validate must return a dict with a 'loss' entry, got {valid!r:.80}")
        row = {"epoch": epoch, **{f"train_{k}": v for k, v in train.items()},
               **{f"valid_{k}": v for k, v in valid.items()}, "seconds": seconds}
        history.epochs.append(row)
        improved = best.update(epoch, valid["loss"])
        if verbose:
            print(_epoch_line(epoch, train, valid, seconds, improved))
        if best.should_stop(epoch):
            break
    best.restore(verbose)
    return history


@torch.no_grad()
def predict(model: nn.Module, loader, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities ``(n, classes)`` and true labels ``(n,)`` for every example in ``loader``.

    A binary model's single logit becomes the two columns ``[1 - p, p]``.
    """
    model.eval().to(device)
    probabilities, labels = [], []
    for ids, lengths, y in loader:
        logits = forward(model, ids.to(device), lengths, device)
        probabilities.append(logits_to_probabilities(logits).cpu())
        labels.append(y)
    if not probabilities:
        raise ValueError("predict: the loader yielded no batches; is its dataset empty?")
    return torch.cat(probabilities).numpy(), torch.cat(labels).numpy()


def logits_to_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over classes; a single binary logit becomes two columns ``[1 - p, p]``."""
    if not isinstance(logits, torch.Tensor) or logits.dim() not in (1, 2):
        shown = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"logits must have shape (batch,), (batch, 1) or (batch, classes), got {shown}")
    logits = _one_logit_as_vector(logits)
    if logits.dim() == 1:
        p = torch.sigmoid(logits)
        return torch.stack([1 - p, p], dim=1)
    return torch.softmax(logits, dim=1)
