"""The training loop of lesson 04, packaged so that later lessons can call it in one line."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

__all__ = ["accuracy", "train_one_epoch", "evaluate", "fit", "History"]


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Return the fraction of rows of ``logits`` (B, K) whose argmax equals ``y`` (B,).

    Introduced in lesson 04.
    """
    if not isinstance(logits, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ValueError("logits and y must be tensors")
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (B, K), got {tuple(logits.shape)}")
    if y.ndim != 1 or y.shape[0] != logits.shape[0]:
        raise ValueError(
            f"y must have shape ({logits.shape[0]},) to match logits {tuple(logits.shape)}, "
            f"got {tuple(y.shape)}"
        )
    if y.is_floating_point():
        raise ValueError(f"y must hold integer class indices, got dtype {y.dtype}")
    if len(y) == 0:
        raise ValueError("accuracy of an empty batch is undefined")
    return (logits.argmax(dim=1) == y).float().mean().item()


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    device: torch.device | str = "cpu",
) -> float:
    """Run one pass over ``loader`` updating ``model``; return the mean training loss per example.

    The four steps of every iteration: forward, loss, ``zero_grad`` + ``backward``, ``step``.

    Introduced in lesson 04.
    """
    model.train()
    total_loss, count = 0.0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        logits = model(X)  # 1. forward
        loss = loss_fn(logits, y)  # 2. loss
        optimizer.zero_grad()  # 3. clear old gradients, then backward
        loss.backward()
        optimizer.step()  # 4. update the weights
        total_loss += loss.item() * len(X)
        count += len(X)
    if count == 0:
        raise ValueError("the training loader produced no batches")
    return total_loss / count


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable,
    device: torch.device | str = "cpu",
) -> tuple[float, float]:
    """Return ``(mean loss, accuracy)`` of ``model`` over ``loader`` in eval mode, without gradients.

    The model is put back in the mode it was in (train or eval) before returning.

    Introduced in lesson 04.
    """
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        logits = model(X)
        total_loss += loss_fn(logits, y).item() * len(X)
        correct += (logits.argmax(dim=1) == y).sum().item()
        count += len(X)
    model.train(was_training)
    if count == 0:
        raise ValueError("the validation loader produced no batches")
    return total_loss / count, correct / count


@dataclass
class History:
    """Per-epoch numbers recorded by ``fit``; ``best_epoch`` is 1-based (0 when unused).

    Introduced in lesson 04.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    num_epochs: int,
    device: torch.device | str = "cpu",
    scheduler=None,
    keep_best: bool = False,
    patience: int | None = None,
    progress: bool = True,
) -> History:
    """Train for ``num_epochs`` epochs, validating after each; return a ``History``.

    ``scheduler`` (optional) is stepped once per epoch. ``keep_best=True`` restores the
    weights of the epoch with the lowest validation loss at the end. ``patience=N``
    stops early after N epochs without a new best validation loss.

    Introduced in lesson 04.
    """
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or num_epochs < 1:
        raise ValueError(f"num_epochs must be a positive int, got {num_epochs!r}")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(f"patience must be None or a positive int, got {patience!r}")
    from tqdm.auto import tqdm

    history = History()
    best_loss, best_state, epochs_since_best = float("inf"), None, 0
    bar = tqdm(range(1, num_epochs + 1), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        history.lr.append(optimizer.param_groups[0]["lr"])
        train_loss = train_one_epoch(model, train_loader, loss_fn, optimizer, device)
        val_loss, val_acc = evaluate(model, val_loader, loss_fn, device)
        if scheduler is not None:
            scheduler.step()
        history.train_loss.append(train_loss)
        history.val_loss.append(val_loss)
        history.val_acc.append(val_acc)
        bar.set_postfix(train_loss=f"{train_loss:.3f}", val_loss=f"{val_loss:.3f}", val_acc=f"{val_acc:.3f}")
        if val_loss < best_loss:
            best_loss, epochs_since_best, history.best_epoch = val_loss, 0, epoch
            if keep_best:
                best_state = copy.deepcopy(model.state_dict())
        else:
            epochs_since_best += 1
            if patience is not None and epochs_since_best >= patience:
                history.stopped_early = True
                break
    bar.close()
    if keep_best and best_state is not None:
        model.load_state_dict(best_state)
    return history
