"""Section 4: what ``helpers.training.fit`` costs compared with a bare hand-written loop.

Both train lesson 04's MLP (784-512-10, dropout 0.5, Adam lr 2e-3, batch 64) on the
bundled MNIST for the same number of epochs, validating on the 1,000 test digits after
each epoch, from the same seed and the same shuffling order, on one thread. The bare
loop is the one lesson 04 writes by hand (forward, loss, ``zero_grad``, ``backward``,
``step``, a running loss, then a validation pass); ``fit`` adds its argument and batch
checks, the ``History`` record and a progress bar, switched off with ``progress=False``
as the lessons do. Only the training call is timed: building the model, the optimizer
and the loaders happens before the clock starts.

The two are timed in pairs, alternating which goes first, after one untimed warm-up
pair; the result is the median of the per-pair ratios ``fit / bare`` and their spread.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.recipes import load_mnist_tensors, single_thread
from benchmarks.stats import Summary, pairwise_ratios, summarize

__all__ = ["bare_fit", "OverheadResult", "measure_fit_overhead"]

GOAL = 1.05  # fit may cost at most 5 % more than the bare loop


def bare_fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    num_epochs: int,
    device: torch.device | str = "cpu",
) -> dict[str, list[float]]:
    """Lesson 04's hand-written loop: train and validate ``num_epochs`` times; return the per-epoch numbers."""
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_acc": []}
    for _ in range(num_epochs):
        model.train()
        total_loss, count = 0.0, 0
        for X, y in train_loader:
            X, y = X.to(device), y.to(device)
            logits = model(X)
            loss = loss_fn(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(X)
            count += len(X)
        model.eval()
        val_loss, correct, val_count = 0.0, 0, 0
        with torch.no_grad():
            for X, y in val_loader:
                X, y = X.to(device), y.to(device)
                logits = model(X)
                val_loss += loss_fn(logits, y).item() * len(X)
                correct += (logits.argmax(dim=1) == y).sum().item()
                val_count += len(X)
        model.train()
        history["train_loss"].append(total_loss / count)
        history["val_loss"].append(val_loss / val_count)
        history["val_acc"].append(correct / val_count)
    return history


@dataclass
class OverheadResult:
    """Timings of ``fit`` and of the bare loop, pair by pair, and how far their numbers differ."""

    epochs: int
    fit_s: list[float]
    bare_s: list[float]
    ratios: list[float]
    max_difference: float  # largest difference between the two loops' losses and accuracies

    @property
    def summary(self) -> Summary:
        return summarize(self.ratios, "fit / bare ratios")

    @property
    def fit_summary(self) -> Summary:
        return summarize(self.fit_s, "fit times")

    @property
    def bare_summary(self) -> Summary:
        return summarize(self.bare_s, "bare-loop times")

    @property
    def meets_goal(self) -> bool:
        return self.summary.median <= GOAL


def _setup(data: dict[str, torch.Tensor], seed: int):
    from helpers import seed_everything

    mean, std = data["x_train"].mean(), data["x_train"].std()
    x_train, x_test = (data["x_train"] - mean) / std, (data["x_test"] - mean) / std
    seed_everything(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    train_loader = DataLoader(
        TensorDataset(x_train, data["y_train"]), batch_size=64, shuffle=True,
        generator=torch.Generator().manual_seed(seed), num_workers=0,
    )
    val_loader = DataLoader(TensorDataset(x_test, data["y_test"]), batch_size=500, num_workers=0)
    return model, optimizer, train_loader, val_loader


def _timed(kind: str, data: dict[str, torch.Tensor], epochs: int, seed: int) -> tuple[float, dict[str, list[float]]]:
    from helpers.training import fit

    model, optimizer, train_loader, val_loader = _setup(data, seed)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    if kind == "fit":
        history = fit(model, train_loader, val_loader, loss_fn, optimizer, epochs, progress=False)
        numbers = {"train_loss": history.train_loss, "val_loss": history.val_loss, "val_acc": history.val_acc}
    else:
        numbers = bare_fit(model, train_loader, val_loader, loss_fn, optimizer, epochs)
    return time.perf_counter() - start, numbers


def measure_fit_overhead(repeats: int = 5, epochs: int = 2, seed: int = 0, log=print) -> OverheadResult:
    """Time ``fit`` and the bare loop ``repeats`` times each, in alternating pairs; return the ratios."""
    for name, value in (("repeats", repeats), ("epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    data = load_mnist_tensors()
    fit_s, bare_s = [], []
    max_difference = 0.0
    with single_thread():
        _timed("fit", data, epochs, seed)  # warm-up pair: first calls allocate memory and fill caches
        _timed("bare", data, epochs, seed)
        for i in range(repeats):
            order = ("fit", "bare") if i % 2 == 0 else ("bare", "fit")
            pair = {kind: _timed(kind, data, epochs, seed) for kind in order}
            fit_s.append(pair["fit"][0])
            bare_s.append(pair["bare"][0])
            for key, values in pair["fit"][1].items():
                diffs = [abs(a - b) for a, b in zip(values, pair["bare"][1][key], strict=True)]
                max_difference = max(max_difference, *diffs)
            log(f"  [{i + 1}/{repeats}] fit {fit_s[-1]:.2f} s, bare loop {bare_s[-1]:.2f} s, "
                f"ratio {fit_s[-1] / bare_s[-1]:.3f}")
    return OverheadResult(
        epochs=epochs, fit_s=fit_s, bare_s=bare_s,
        ratios=pairwise_ratios(fit_s, bare_s, "fit / bare"), max_difference=max_difference,
    )
