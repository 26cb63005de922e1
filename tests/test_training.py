"""Tests for helpers.training: accuracy, train_one_epoch, evaluate, fit (keep_best, patience, scheduler)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers.training import History, accuracy, evaluate, fit, train_one_epoch


def _blobs(n=120, seed=0):
    """Three well separated Gaussian blobs in 2-D: (n, 2) floats and (n,) labels."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centres = torch.tensor([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    X = centres[y] + 0.5 * torch.randn(n, 2, generator=gen)
    return X, y


def _loaders(batch_size=16):
    X, y = _blobs()
    X_val, y_val = _blobs(60, seed=1)
    train = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True,
                       generator=torch.Generator().manual_seed(0))
    val = DataLoader(TensorDataset(X_val, y_val), batch_size=30)
    return train, val


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))


# ---------------------------------------------------------------- accuracy


def test_accuracy_top1_and_topk():
    logits = torch.tensor([[3.0, 2.0, 1.0], [0.0, 1.0, 5.0], [1.0, 3.0, 2.0], [2.0, 1.0, 0.0]])
    y = torch.tensor([0, 2, 2, 1])
    assert accuracy(logits, y) == pytest.approx(0.5)
    assert accuracy(logits, y, k=2) == pytest.approx(1.0)
    assert accuracy(logits, y, k=3) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("logits", "y", "k", "message"),
    [
        (torch.zeros(4), torch.zeros(4, dtype=torch.long), 1, "shape \\(B, K\\)"),
        (torch.zeros(4, 3), torch.zeros(5, dtype=torch.long), 1, "must have shape \\(4,\\)"),
        (torch.zeros(4, 3), torch.zeros(4, 1, dtype=torch.long), 1, "must have shape \\(4,\\)"),
        (torch.zeros(4, 3), torch.zeros(4), 1, "integer class indices"),
        (torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), 1, "empty batch"),
        (torch.zeros(4, 3), torch.zeros(4, dtype=torch.long), 4, "k must be an int between 1 and"),
        (torch.zeros(4, 3), torch.zeros(4, dtype=torch.long), 0, "k must be"),
        ([[1.0, 2.0]], torch.zeros(1, dtype=torch.long), 1, "must be tensors"),
    ],
)
def test_accuracy_bad_input(logits, y, k, message):
    with pytest.raises(ValueError, match=message):
        accuracy(logits, y, k=k)


# ---------------------------------------------------------------- train_one_epoch / evaluate


def test_train_one_epoch_lowers_the_loss_and_returns_mean_per_example():
    train, val = _loaders()
    model = _model()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    before, _ = evaluate(model, val, loss_fn)
    losses = [train_one_epoch(model, train, loss_fn, optimizer) for _ in range(5)]
    after, acc = evaluate(model, val, loss_fn)
    assert losses[-1] < losses[0]
    assert after < before
    assert acc > 0.9
    assert model.training, "train_one_epoch leaves the model in training mode"


def test_train_one_epoch_weights_batches_by_size():
    # One batch of 3 with loss 1 and one of 1 with loss 5: mean per example is (3 + 5) / 4 = 2.
    batches = [(torch.zeros(3, 1), torch.ones(3, 1)), (torch.zeros(1, 1), torch.full((1, 1), 5.0))]
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    loss = train_one_epoch(model, batches, lambda out, y: (y - out).abs().mean(), optimizer)
    assert loss == pytest.approx(2.0)


def test_train_one_epoch_logs_the_running_loss(capsys):
    train, _ = _loaders(batch_size=10)  # 12 batches
    model = _model()
    train_one_epoch(model, train, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), log_every=5)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and "batch   1: running loss" in lines[0]
    assert "batch   5: running loss" in lines[1] and "batch  10" in lines[2]


def test_evaluate_restores_the_mode_and_keeps_no_graph():
    _, val = _loaders()
    model = _model()
    loss_fn = nn.CrossEntropyLoss()
    model.eval()
    evaluate(model, val, loss_fn)
    assert not model.training
    model.train()
    loss, acc = evaluate(model, val, loss_fn)
    assert model.training
    assert isinstance(loss, float) and 0.0 <= acc <= 1.0
    assert all(p.grad is None for p in model.parameters())


def test_evaluate_is_deterministic_in_eval_mode():
    _, val = _loaders()
    model = _model()
    assert evaluate(model, val, nn.CrossEntropyLoss()) == evaluate(model, val, nn.CrossEntropyLoss())


def test_empty_loaders_are_refused():
    model = _model()
    loss_fn = nn.CrossEntropyLoss()
    with pytest.raises(ValueError, match="training loader produced no batches"):
        train_one_epoch(model, [], loss_fn, torch.optim.SGD(model.parameters(), lr=0.1))
    empty = DataLoader(TensorDataset(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)), batch_size=4)
    with pytest.raises(ValueError, match="validation loader produced no batches"):
        evaluate(model, empty, loss_fn)


def test_drop_last_with_a_huge_batch_is_explained():
    X, y = _blobs(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=64, drop_last=True)
    model = _model()
    with pytest.raises(ValueError, match="drop_last=True"):
        train_one_epoch(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1))


@pytest.mark.parametrize(
    ("batches", "message"),
    [
        ([torch.zeros(4, 2)], "must be a pair \\(X, y\\)"),
        ([(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), torch.zeros(4))], "of 3 items"),
        ([(torch.zeros(4, 2).tolist(), torch.zeros(4, dtype=torch.long))], "must be tensors"),
        ([(torch.zeros(4, 2), torch.zeros(4, 1, dtype=torch.long))], "loss_fn failed on outputs of shape \\(4, 3\\)"),
        ([(torch.zeros(4, 2), torch.zeros(4))], "int64 class indices"),
        ([(torch.zeros(4, 2), torch.full((4,), 7))], "loss_fn failed"),
    ],
)
def test_bad_batches_give_helpful_errors(batches, message):
    model = _model()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=message):
        train_one_epoch(model, batches, loss_fn, optimizer)


def test_batch_size_mismatch_between_outputs_and_labels():
    model = nn.Sequential(nn.Flatten(0), nn.Unflatten(0, (-1, 3)))  # regroups rows: 4 inputs of 3 -> 4 rows
    X = torch.zeros(2, 6)  # the model turns 2 rows into 4
    with pytest.raises(ValueError, match="returned 4 rows of outputs .* batch of 2 labels"):
        evaluate(model, [(X, torch.zeros(2, dtype=torch.long))], nn.CrossEntropyLoss())


def test_loss_that_is_not_a_scalar_is_refused():
    model = _model()
    loss_fn = nn.CrossEntropyLoss(reduction="none")
    with pytest.raises(ValueError, match="single number"):
        train_one_epoch(model, [(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))], loss_fn,
                        torch.optim.SGD(model.parameters(), lr=0.1))


def test_evaluate_restores_the_mode_even_after_an_error():
    model = _model()
    model.train()
    with pytest.raises(ValueError):
        evaluate(model, [torch.zeros(3)], nn.CrossEntropyLoss())
    assert model.training


# ---------------------------------------------------------------- fit


def test_fit_records_a_history_and_matches_a_hand_written_loop():
    train, val = _loaders()
    torch.manual_seed(0)
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, train, val, nn.CrossEntropyLoss(), optimizer, 4, progress=False)
    assert isinstance(history, History)
    assert len(history.train_loss) == len(history.val_loss) == len(history.val_acc) == len(history.lr) == 4
    assert history.lr == [0.1] * 4
    assert 1 <= history.best_epoch <= 4 and not history.stopped_early
    assert set(history.as_dict()) == {"train_loss", "val_loss", "val_acc", "lr", "best_epoch", "stopped_early"}

    train2, val2 = _loaders()
    torch.manual_seed(0)
    model2 = _model()
    optimizer2 = torch.optim.SGD(model2.parameters(), lr=0.1)
    by_hand = []
    for _ in range(4):
        by_hand.append(train_one_epoch(model2, train2, nn.CrossEntropyLoss(), optimizer2))
        evaluate(model2, val2, nn.CrossEntropyLoss())
    assert by_hand == history.train_loss


def test_fit_steps_the_scheduler_once_per_epoch():
    train, val = _loaders()
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    history = fit(model, train, val, nn.CrossEntropyLoss(), optimizer, 5, scheduler=scheduler, progress=False)
    assert history.lr == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


class _ScriptedModel(nn.Module):
    """Logits whose validation loss follows a script, one value per evaluate() call."""

    def __init__(self, val_losses):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.script = list(val_losses)
        self.calls = 0

    def forward(self, X):
        if self.training:
            return X[:, :3] * 0 + self.w
        value = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        # logits whose cross-entropy against class 0 is exactly `value`: log-softmax[0] = -value.
        # For K = 3, logits (a, 0, 0) give -log(e^a / (e^a + 2)); solve for a.
        a = torch.log(torch.tensor(2.0) / (torch.exp(torch.tensor(value)) - 1))
        return torch.stack([a.expand(len(X)), torch.zeros(len(X)), torch.zeros(len(X))], dim=1)


def _scripted_fit(script, **kwargs):
    model = _ScriptedModel(script)
    data = [(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, fit(model, data, data, nn.CrossEntropyLoss(), optimizer, len(script), progress=False, **kwargs)


def test_fit_gives_reduce_on_plateau_the_validation_loss():
    model = _ScriptedModel([1.0, 1.1, 1.2, 1.3])  # never improves after epoch 1
    data = [(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)
    history = fit(model, data, data, nn.CrossEntropyLoss(), optimizer, 4, scheduler=scheduler, progress=False)
    assert history.lr == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_fit_patience_stops_early():
    _, history = _scripted_fit([1.0, 0.8, 0.9, 0.95, 1.1, 0.5, 0.4], patience=3)
    assert history.stopped_early
    assert len(history.val_loss) == 5  # best at epoch 2, then 3 epochs without a new best
    assert history.best_epoch == 2
    assert history.val_loss == pytest.approx([1.0, 0.8, 0.9, 0.95, 1.1], abs=1e-5)


def test_fit_without_patience_runs_every_epoch():
    _, history = _scripted_fit([1.0, 0.8, 0.9, 0.95, 1.1])
    assert not history.stopped_early and len(history.val_loss) == 5 and history.best_epoch == 2


def test_fit_keep_best_restores_the_best_weights():
    train, val = _loaders()
    torch.manual_seed(0)
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)  # noisy on purpose
    history = fit(model, train, val, nn.CrossEntropyLoss(), optimizer, 8, keep_best=True, progress=False)
    restored_loss, _ = evaluate(model, val, nn.CrossEntropyLoss())
    assert restored_loss == pytest.approx(min(history.val_loss), rel=1e-5)
    assert history.val_loss[history.best_epoch - 1] == min(history.val_loss)


def test_fit_keep_best_with_patience_restores_the_best_epoch():
    model, history = _scripted_fit([1.0, 0.6, 0.9, 0.95, 1.1], keep_best=True, patience=2)
    assert history.stopped_early and history.best_epoch == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_epochs": 0}, "num_epochs must be a positive int"),
        ({"num_epochs": 2.5}, "num_epochs must be a positive int"),
        ({"num_epochs": True}, "num_epochs must be a positive int"),
        ({"num_epochs": 2, "patience": 0}, "patience must be None or a positive int"),
        ({"num_epochs": 2, "patience": "3"}, "patience must be None or a positive int"),
    ],
)
def test_fit_bad_arguments(kwargs, message):
    train, val = _loaders()
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=message):
        fit(model, train, val, nn.CrossEntropyLoss(), optimizer, progress=False, **kwargs)


def test_fit_needs_an_optimizer():
    train, val = _loaders()
    model = _model()
    with pytest.raises(ValueError, match="torch.optim.Optimizer"):
        fit(model, train, val, nn.CrossEntropyLoss(), "adam", 1, progress=False)


def test_fit_with_an_empty_validation_loader():
    train, _ = _loaders()
    model = _model()
    with pytest.raises(ValueError, match="validation loader produced no batches"):
        fit(model, train, [], nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), 1, progress=False)
