"""The training loop of lesson 04, packaged so that later lessons can call it in one line.

The bodies of ``accuracy``, ``train_one_epoch``, ``evaluate`` and ``fit`` are the ones
lesson 04 writes in the open; the only additions are the checks that turn a confusing
failure deep inside PyTorch (an empty loader, labels of the wrong shape) into a
``ValueError`` that says what was expected.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

__all__ = ["accuracy", "train_one_epoch", "evaluate", "fit", "History"]


def accuracy(logits: torch.Tensor, y: torch.Tensor, k: int = 1) -> float:
    """Return the fraction of rows of ``logits`` (B, K) whose top-``k`` classes contain ``y`` (B,).

    ``k=1`` is the usual accuracy (the argmax must equal the label); ``k=5`` is the
    "top-5 accuracy" quoted for ImageNet models.

    Introduced in lesson 04.
    """
    if not isinstance(logits, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ValueError(
            f"logits and y must be tensors, got {type(logits).__name__} and {type(y).__name__}"
        )
    if logits.ndim != 2:
        raise ValueError(
            f"logits must have shape (B, K), got {tuple(logits.shape)}; "
            "for a single example add a batch axis with unsqueeze(0)"
        )
    if y.ndim != 1 or y.shape[0] != logits.shape[0]:
        raise ValueError(
            f"y must have shape ({logits.shape[0]},) to match logits {tuple(logits.shape)}, "
            f"got {tuple(y.shape)}"
        )
    if y.is_floating_point():
        raise ValueError(f"y must hold integer class indices, got dtype {y.dtype}")
    if len(y) == 0:
        raise ValueError("accuracy of an empty batch is undefined")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= logits.shape[1]:
        raise ValueError(f"k must be an int between 1 and the number of classes {logits.shape[1]}, got {k!r}")
    top_k = logits.topk(k, dim=1).indices  # (B, k) most likely classes per row
    return (top_k == y.unsqueeze(1)).any(dim=1).float().mean().item()


def _check_batch(batch, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(X, y)`` from one loader batch, or raise ValueError saying what a batch must be."""
    if not isinstance(batch, list | tuple) or len(batch) != 2:
        size = f" of {len(batch)} items" if isinstance(batch, list | tuple) else ""
        raise ValueError(
            f"each batch of the {what} loader must be a pair (X, y), got a "
            f"{type(batch).__name__}{size}; a DataLoader over a TensorDataset(X, y) gives pairs"
        )
    X, y = batch
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ValueError(
            f"X and y of a {what} batch must be tensors, got {type(X).__name__} and {type(y).__name__}; "
            "add v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]) to the dataset "
            "or wrap arrays with torch.as_tensor"
        )
    return X, y


def _loss(loss_fn: Callable, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return ``loss_fn(logits, y)``; shape mistakes become a ValueError that shows both shapes."""
    if logits.shape[0] != y.shape[0]:
        raise ValueError(
            f"the model returned {logits.shape[0]} rows of outputs ({tuple(logits.shape)}) for a batch "
            f"of {y.shape[0]} labels ({tuple(y.shape)}); check the model's reshapes (e.g. view(-1, 784) "
            "on a batch that is not flat)"
        )
    try:
        loss = loss_fn(logits, y)
    except (RuntimeError, ValueError, IndexError) as err:
        raise ValueError(
            f"loss_fn failed on outputs of shape {tuple(logits.shape)} ({logits.dtype}) and targets of "
            f"shape {tuple(y.shape)} ({y.dtype}): {err}. nn.CrossEntropyLoss wants logits (B, K) and "
            "int64 class indices (B,); nn.MSELoss and nn.BCEWithLogitsLoss want float targets shaped "
            "like the outputs"
        ) from err
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(
            f"loss_fn must return a single number (a 0-d tensor), got {shape}; "
            "use reduction='mean' (the default)"
        )
    return loss


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    device: torch.device | str = "cpu",
    log_every: int | None = None,
) -> float:
    """Run one pass over ``loader`` updating ``model``; return the mean training loss per example.

    The four steps of every iteration: forward, loss, ``zero_grad`` + ``backward``, ``step``.
    With ``log_every=N`` the running mean loss is printed after the first batch and every N batches.

    Introduced in lesson 04.
    """
    model.train()
    total_loss, count = 0.0, 0
    for batch, data in enumerate(loader, start=1):
        X, y = _check_batch(data, "training")
        X, y = X.to(device), y.to(device)
        logits = model(X)  # 1. forward
        loss = _loss(loss_fn, logits, y)  # 2. loss
        optimizer.zero_grad()  # 3. clear old gradients, then backward
        loss.backward()
        optimizer.step()  # 4. update the weights
        total_loss += loss.item() * len(X)
        count += len(X)
        if log_every and (batch == 1 or batch % log_every == 0):
            print(f"  batch {batch:3d}: running loss {total_loss / count:.3f}")
    if count == 0:
        raise ValueError(
            "the training loader produced no batches; is the dataset empty, or is drop_last=True "
            "with a batch_size larger than the dataset?"
        )
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
    model.eval()  # dropout off, batch norm uses its running statistics
    total_loss, correct, count = 0.0, 0, 0
    try:
        for data in loader:
            X, y = _check_batch(data, "validation")
            X, y = X.to(device), y.to(device)
            logits = model(X)
            total_loss += _loss(loss_fn, logits, y).item() * len(X)
            correct += (logits.argmax(dim=1) == y).sum().item()
            count += len(X)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("the validation loader produced no batches; is its dataset empty?")
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

    ``scheduler`` (optional) is stepped once per epoch (``ReduceLROnPlateau`` is given the
    validation loss). ``keep_best=True`` restores the weights of the epoch with the lowest
    validation loss at the end. ``patience=N`` stops early after N epochs without a new
    best validation loss.

    Introduced in lesson 04.
    """
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or num_epochs < 1:
        raise ValueError(f"num_epochs must be a positive int, got {num_epochs!r}")
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience < 1):
        raise ValueError(f"patience must be None or a positive int, got {patience!r}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(
            f"optimizer must be a torch.optim.Optimizer such as torch.optim.SGD(model.parameters(), lr=0.1), "
            f"got {type(optimizer).__name__}"
        )
    from tqdm.auto import tqdm

    history = History()
    best_loss, best_state, epochs_since_best = float("inf"), None, 0
    bar = tqdm(range(1, num_epochs + 1), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        history.lr.append(optimizer.param_groups[0]["lr"])  # the lr used during this epoch
        train_loss = train_one_epoch(model, train_loader, loss_fn, optimizer, device)
        val_loss, val_acc = evaluate(model, val_loader, loss_fn, device)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(val_loss)
        elif scheduler is not None:
            scheduler.step()
        history.train_loss.append(train_loss)
        history.val_loss.append(val_loss)
        history.val_acc.append(val_acc)
        bar.set_postfix(train_loss=f"{train_loss:.3f}", val_loss=f"{val_loss:.3f}", val_acc=f"{val_acc:.3f}")
        if val_loss < best_loss:  # a new best: remember it
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
        model.load_state_dict(best_state)  # back to the weights of the best epoch
    return history
