"""Tests for the lesson 04 exercise checks: answers pass, stubs are "not done", mistakes get hints."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.checks import CheckFailed
from helpers.exercises.lesson04 import (
    check_early_stopping,
    check_overfit_one_batch,
    check_repairs,
    check_save_and_reload,
    check_smoothed_cross_entropy,
    check_training_loop,
)

# ---------------------------------------------------------------- Exercise 1: label smoothing


def _smooth_log_softmax(logits, y, eps):
    log_p = torch.log_softmax(logits, dim=1)
    nll = -log_p[torch.arange(len(y)), y]
    return ((1 - eps) * nll - eps * log_p.mean(dim=1)).mean()


def _smooth_target_distribution(logits, y, eps):
    k = logits.shape[1]
    q = torch.full_like(logits, eps / k)
    q[torch.arange(len(y)), y] += 1 - eps
    return -(q * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


def _smooth_naive(logits, y, eps):
    p = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
    nll = -torch.log(p[torch.arange(len(y)), y])
    return ((1 - eps) * nll - eps * torch.log(p).mean(dim=1)).mean()


def _smooth_others(logits, y, eps):
    log_p = torch.log_softmax(logits, dim=1)
    nll = -log_p[torch.arange(len(y)), y]
    return ((1 - eps) * nll + eps * (-log_p.sum(dim=1) - nll) / (logits.shape[1] - 1)).mean()


@pytest.mark.parametrize(
    "answer",
    [
        _smooth_log_softmax,
        _smooth_target_distribution,
        lambda logits, y, eps: F.cross_entropy(logits, y, label_smoothing=eps),
        lambda logits, y, eps: float(F.cross_entropy(logits, y, label_smoothing=eps)),
    ],
)
def test_smoothed_cross_entropy_answers_pass(lenient, capsys, answer):
    assert check_smoothed_cross_entropy(answer)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("stub", [None, lambda logits, y, eps: None])
def test_smoothed_cross_entropy_stub_not_done(lenient, capsys, stub):
    assert not check_smoothed_cross_entropy(stub)
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda logits, y, eps: F.cross_entropy(logits, y), "smoothing is ignored"),
        (_smooth_others, "K - 1"),
        (lambda logits, y, eps: (F.cross_entropy(logits, y, reduction="none")
                                 - eps * torch.log_softmax(logits, 1).mean(1)).mean(), "keeps weight 1"),
        (lambda logits, y, eps: ((1 - eps) * F.cross_entropy(logits, y, reduction="none")
                                 - eps * torch.log_softmax(logits, 1).sum(1)).mean(), "not their sum"),
        (lambda logits, y, eps: F.cross_entropy(logits, y, label_smoothing=eps, reduction="none"),
         "one loss per example"),
        (lambda logits, y, eps: F.cross_entropy(logits, y, label_smoothing=eps, reduction="sum"), "sum over the batch"),
        (lambda logits, y, eps: -F.cross_entropy(logits, y, label_smoothing=eps), "sign is flipped"),
        (lambda logits, y, eps: -((1 - eps) * torch.softmax(logits, 1)[torch.arange(len(y)), y]
                                  + eps * torch.softmax(logits, 1).mean(1)).mean(), "natural log"),
        (lambda logits, y, eps: ((1 - eps) * -torch.log_softmax(logits, 0)[torch.arange(len(y)), y]
                                 - eps * torch.log_softmax(logits, 0).mean(1)).mean(), "wrong dimension"),
        (_smooth_naive, "overflows"),
        (lambda logits, y: F.cross_entropy(logits, y), "three arguments"),
        (lambda logits, y, eps: logits.sum(), "label_smoothing="),
        (lambda logits, y, eps: "2.3", "return the loss as a tensor"),
    ],
)
def test_smoothed_cross_entropy_wrong_answers_get_hints(lenient, capsys, wrong, hint):
    assert not check_smoothed_cross_entropy(wrong)
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out


def test_smoothed_cross_entropy_strict_raises(strict):
    with pytest.raises(CheckFailed):
        check_smoothed_cross_entropy(_smooth_others)


# ---------------------------------------------------------------- Exercise 2: overfit one batch


def _overfit(zero_grad=True, step=True, record="before", own_optimizer=False,
             copy_model=False, steps_offset=0, returns="list"):
    """A loop over one batch with any of the classic slips switched on."""

    def overfit_one_batch(model, loss_fn, optimizer, X, y, steps=50):
        if copy_model:
            model = copy.deepcopy(model)
        if own_optimizer or copy_model:
            optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
        losses = []
        for _ in range(steps + steps_offset):
            loss = loss_fn(model(X), y)
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            if step:
                optimizer.step()
            if record == "after":
                with torch.no_grad():
                    loss = loss_fn(model(X), y)
            losses.append(loss.item())
        if returns == "none":
            return None
        if returns == "last":
            return losses[-1]
        return losses

    return overfit_one_batch


def _overfit_while(model, loss_fn, optimizer, X, y, steps=50):
    """A second spelling: a while loop, model.zero_grad(), the losses kept as tensors and stacked."""
    losses, done = [], 0
    while done < steps:
        model.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        done += 1
    return torch.stack(losses)


@pytest.mark.parametrize("answer", [_overfit(), _overfit(record="after"), _overfit_while])
def test_overfit_one_batch_answers_pass(lenient, capsys, answer):
    assert check_overfit_one_batch(answer)
    assert "✓" in capsys.readouterr().out


def test_overfit_one_batch_stub_not_done(lenient, capsys):
    assert not check_overfit_one_batch(None)
    assert not check_overfit_one_batch(lambda model, loss_fn, optimizer, X, y, steps=50: None)
    assert capsys.readouterr().out.count("not done yet") == 2


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_overfit(zero_grad=False), "optimizer.zero_grad()"),
        (_overfit(step=False), "never changes"),
        (_overfit(own_optimizer=True), "was never used"),
        (_overfit(copy_model=True), "was never used"),
        (_overfit(steps_offset=1), "returned 16 losses"),
        (_overfit(returns="last"), "got a single number"),
        (_overfit(returns="none"), "forget `return losses`"),
        (lambda model, loss_fn, optimizer, X, y, steps: {"losses": []}, "got a dict"),
        (lambda model, loss_fn, optimizer, X, y, steps: [2 * v for v in _overfit()(model, loss_fn, optimizer, X, y, steps)],
         "differ from a correct loop"),
        (lambda model, loss_fn, optimizer, X, y, steps: 1 / 0, "raised ZeroDivisionError"),
        (3, "must be a function"),
    ],
)
def test_overfit_one_batch_mistakes_get_their_hint(lenient, capsys, wrong, hint):
    assert check_overfit_one_batch(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out
    assert out.count("\n") == 1


def test_overfit_one_batch_untouched_model_is_named(lenient, capsys):
    def no_training(model, loss_fn, optimizer, X, y, steps):
        with torch.no_grad():
            return [loss_fn(model(X + 0.1 * k), y).item() for k in range(steps)]

    assert not check_overfit_one_batch(no_training)
    assert "did not change" in capsys.readouterr().out


def test_overfit_one_batch_draws_new_data_and_leaves_the_rng_alone(lenient):
    from helpers.exercises import lesson04

    state = torch.random.get_rng_state()
    seen = []
    assert check_overfit_one_batch(lambda m, lf, o, X, y, s: seen.append(X.clone()) or _overfit()(m, lf, o, X, y, s))
    assert check_overfit_one_batch(lambda m, lf, o, X, y, s: seen.append(X.clone()) or _overfit()(m, lf, o, X, y, s))
    assert not torch.equal(seen[0], seen[1])
    assert torch.equal(torch.random.get_rng_state(), state)
    assert lesson04._OF_STEPS == 15


def test_overfit_one_batch_strict_raises(strict):
    with pytest.raises(CheckFailed):
        check_overfit_one_batch(_overfit(zero_grad=False))


def _tiny_mlp(hidden=16):
    return nn.Sequential(nn.Flatten(), nn.Linear(12, hidden), nn.ReLU(), nn.Linear(hidden, 3))


def _healthy():
    model = _tiny_mlp()
    return model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.02)


def _softmax_at_the_end():
    model = nn.Sequential(_tiny_mlp(), nn.Softmax(dim=1))
    return model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.02)


def _optimizer_on_other_weights():
    model = _tiny_mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    model = _tiny_mlp()
    return model, nn.CrossEntropyLoss(), optimizer


_SETUPS = {"a": _healthy, "b": _softmax_at_the_end, "c": _optimizer_on_other_weights}
_X = torch.randn(12, 12, generator=torch.Generator().manual_seed(3))
_Y = torch.arange(12) % 3


def _log_of_softmax():
    """A second repair of b: keep the softmax, take its log and use the negative log-likelihood."""
    model = nn.Sequential(_tiny_mlp(), nn.Softmax(dim=1))
    return model, lambda probs, y: F.nll_loss(torch.log(probs + 1e-12), y), torch.optim.Adam(
        model.parameters(), lr=0.02)


@pytest.mark.parametrize("repair_b", [_healthy, _log_of_softmax])
def test_repairs_pass(lenient, capsys, repair_b):
    assert check_repairs({"b": repair_b, "c": _healthy}, _SETUPS, _X, _Y)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("stub", [None, {}])
def test_repairs_stub_not_done(lenient, capsys, stub):
    assert not check_repairs(stub, _SETUPS, _X, _Y)
    assert "not done yet" in capsys.readouterr().out


def _bigger():
    model = _tiny_mlp(hidden=32)
    return model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.02)


def _sgd_instead():
    model = _tiny_mlp()
    return model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)


def _too_slow():
    model = _tiny_mlp()
    return model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=1e-5)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        ({"a": _healthy, "b": _healthy, "c": _healthy}, "setup_a is not broken"),
        ({"b": _healthy}, "setup_c is broken too"),
        ({"b": _healthy, "c": _healthy, "z": _healthy}, "no set-up is called 'z'"),
        ({"b": _bigger, "c": _healthy}, "keep the architecture"),
        ({"b": _healthy, "c": _sgd_instead}, "keep the optimiser's type"),
        ({"b": _healthy, "c": _too_slow}, "still does not learn"),
        ({"b": _healthy, "c": lambda: _tiny_mlp()}, "must return (model, loss_fn, optimizer)"),
        ({"b": _healthy, "c": lambda: 1 / 0}, "raised ZeroDivisionError"),
        ([_healthy], "must be a dict"),
    ],
)
def test_repairs_mistakes_get_their_hint(lenient, capsys, wrong, hint):
    assert check_repairs(wrong, _SETUPS, _X, _Y) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out
    assert out.count("\n") == 1


def test_repairs_a_loss_that_breaks_in_training_is_reported(lenient, capsys):
    def bad_loss():
        model = _tiny_mlp()
        return model, lambda logits, y: logits.sum().item(), torch.optim.Adam(model.parameters(), lr=0.02)

    assert not check_repairs({"b": _healthy, "c": bad_loss}, _SETUPS, _X, _Y)
    assert "training the repair of setup_c raised" in capsys.readouterr().out


def test_repairs_leave_the_rng_alone(lenient):
    state = torch.random.get_rng_state()
    check_repairs({"b": _healthy, "c": _healthy}, _SETUPS, _X, _Y)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_repairs_strict_raises(strict):
    with pytest.raises(CheckFailed):
        check_repairs({"b": _healthy}, _SETUPS, _X, _Y)


# ---------------------------------------------------------------- Exercise 3: find the bugs
import contextlib  # noqa: E402


def _loop(softmax=False, zero_grad="optimizer", eval_=True, no_grad="no_grad", dim=1, denominator="dataset"):
    """The lesson's training loop with any of its planted bugs switched on."""

    def train_and_validate(model, train_loader, val_loader, loss_fn, optimizer, num_epochs):
        for _ in range(num_epochs):
            model.train()
            for X, y in train_loader:
                logits = model(X)
                loss = loss_fn(torch.softmax(logits, dim=1) if softmax else logits, y)
                if zero_grad == "optimizer":
                    optimizer.zero_grad()
                elif zero_grad == "model":
                    model.zero_grad()
                loss.backward()
                optimizer.step()
        if eval_:
            model.eval()
        context = {"no_grad": torch.no_grad, "inference": torch.inference_mode}.get(no_grad, contextlib.nullcontext)
        correct = 0
        with context():
            for X, y in val_loader:
                correct += (model(X).argmax(dim=dim) == y).sum().item()
        return correct / (len(val_loader.dataset) if denominator == "dataset" else len(val_loader))

    return train_and_validate


@pytest.mark.parametrize("answer", [_loop(), _loop(zero_grad="model", no_grad="inference")])
def test_training_loop_fixed_versions_pass(lenient, capsys, answer):
    assert check_training_loop(answer)
    assert "✓" in capsys.readouterr().out


def test_training_loop_stub_not_done(lenient, capsys):
    assert not check_training_loop(None)
    assert not check_training_loop(lambda *args: None)
    assert capsys.readouterr().out.count("not done yet") == 2


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_loop(softmax=True), "the loss is given probabilities"),
        (_loop(zero_grad=None), "optimizer.zero_grad()"),
        (_loop(eval_=False), "model.eval()"),
        (_loop(no_grad=None), "torch.no_grad()"),
        (_loop(dim=0), "argmax(dim=1)"),
        (_loop(denominator="batches"), "counts batches"),
        (lambda model, tl, vl, loss_fn, opt, n: 0.9, "weights never changed"),
        (lambda model, tl, vl, loss_fn, opt, n: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_training_loop_each_bug_gets_its_hint(lenient, capsys, wrong, hint):
    assert not check_training_loop(wrong)
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out


def test_training_loop_names_every_bug_of_the_given_loop(lenient, capsys):
    assert not check_training_loop(_loop(softmax=True, zero_grad=None, eval_=False, no_grad=None, dim=0))
    out = capsys.readouterr().out
    assert "5 bugs left" in out
    for hint in ["probabilities", "zero_grad", "model.eval()", "torch.no_grad()", "dim=1"]:
        assert hint in out


def test_training_loop_leaves_the_global_rng_alone(lenient):
    state = torch.random.get_rng_state()
    check_training_loop(_loop())
    assert torch.equal(torch.random.get_rng_state(), state)


def test_training_loop_strict_raises(strict):
    with pytest.raises(CheckFailed):
        check_training_loop(_loop(softmax=True))


# ---------------------------------------------------------------- Exercise 5: save and reload


def make_mlp(hidden=16, depth=1, dropout=0.0):
    layers = [nn.Flatten()]
    width = 12
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    layers.append(nn.Linear(width, 3))
    return nn.Sequential(*layers)


HPARAMS = {"hidden": 8, "depth": 2, "dropout": 0.3}
X = torch.randn(5, 12)


def right_answer(model, hparams, path):
    torch.save({"hparams": hparams, "model_state": model.state_dict()}, path)
    checkpoint = torch.load(path, weights_only=True)
    new_model = make_mlp(**checkpoint["hparams"])
    new_model.load_state_dict(checkpoint["model_state"])
    return new_model


def helper_answer(model, hparams, path):
    from helpers.checkpoints import load_checkpoint, save_checkpoint

    save_checkpoint(path, model, hparams)
    return load_checkpoint(path, make_mlp)[0]


def implicit_weights_only(model, hparams, path):
    torch.save([hparams, model.state_dict()], path)  # another layout is fine
    saved_hparams, state = torch.load(path)  # weights_only defaults to True on this torch
    new_model = make_mlp(**saved_hparams)
    new_model.load_state_dict(state)
    return new_model


def check(fn, folder):
    return check_save_and_reload(fn, make_mlp, HPARAMS, X, folder=folder)


@pytest.mark.parametrize("answer", [right_answer, helper_answer])
def test_save_and_reload_answers_pass(lenient, capsys, tmp_path, answer):
    assert check(answer, tmp_path)
    out = capsys.readouterr().out
    assert "✓" in out and "tip" not in out
    assert not (tmp_path / "exercise2_check.pt").exists(), "the check must clean up its file"


def test_save_and_reload_default_weights_only_passes_with_a_tip(lenient, capsys, tmp_path):
    assert check(implicit_weights_only, tmp_path)
    assert "write weights_only=True explicitly" in capsys.readouterr().out


def test_save_and_reload_uses_a_temporary_folder_by_default(lenient, capsys):
    assert check_save_and_reload(right_answer, make_mlp, HPARAMS, X)


@pytest.mark.parametrize("stub", [None, lambda model, hparams, path: None])
def test_save_and_reload_stub_not_done(lenient, capsys, tmp_path, stub):
    assert not check(stub, tmp_path)
    assert "not done yet" in capsys.readouterr().out


def _no_file(model, hparams, path):
    new_model = make_mlp(**hparams)
    new_model.load_state_dict(model.state_dict())
    return new_model


def _not_read_back(model, hparams, path):
    torch.save({"hparams": hparams, "model_state": model.state_dict()}, path)
    new_model = make_mlp(**hparams)
    new_model.load_state_dict(model.state_dict())
    return new_model


def _unsafe(model, hparams, path):
    torch.save({"hparams": hparams, "model_state": model.state_dict()}, path)
    checkpoint = torch.load(path, weights_only=False)
    new_model = make_mlp(**checkpoint["hparams"])
    new_model.load_state_dict(checkpoint["model_state"])
    return new_model


def _no_hparams(model, hparams, path):
    torch.save(model.state_dict(), path)
    new_model = make_mlp(**hparams)
    new_model.load_state_dict(torch.load(path, weights_only=True))
    return new_model


def _whole_model_pickled(model, hparams, path):
    torch.save({"hparams": hparams, "model": model}, path)
    return copy.deepcopy(torch.load(path, weights_only=False)["model"])


def _forgot_load_state_dict(model, hparams, path):
    torch.save({"hparams": hparams, "model_state": model.state_dict()}, path)
    checkpoint = torch.load(path, weights_only=True)
    return make_mlp(**checkpoint["hparams"])  # random weights


def _same_object(model, hparams, path):
    torch.save({"hparams": hparams, "model_state": model.state_dict()}, path)
    model.load_state_dict(torch.load(path, weights_only=True)["model_state"])
    return model


def _shares_tensors(model, hparams, path):
    torch.save({"hparams": hparams, "model_state": model.state_dict()}, path)
    torch.load(path, weights_only=True)
    new_model = make_mlp(**hparams)
    for new_p, p in zip(new_model.parameters(), model.parameters(), strict=True):
        new_p.data = p.data  # same storage as the original
    return new_model


def _wrong_architecture(model, hparams, path):
    torch.save({"hparams": hparams, "model_state": model.state_dict()}, path)
    torch.load(path, weights_only=True)
    return make_mlp(hidden=hparams["hidden"], depth=1)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_no_file, "nothing was written"),
        (_not_read_back, "never read back"),
        (_unsafe, "never pass weights_only=False"),
        (_no_hparams, "does not hold the hyper-parameters"),
        (_whole_model_pickled, "never pass weights_only=False"),
        (_forgot_load_state_dict, "predicts differently"),
        (_same_object, "you returned the model you were given"),
        (_shares_tensors, "shares its tensors"),
        (_wrong_architecture, "reloaded model has keys"),
        (lambda model, hparams, path: "model.pt", "return the reloaded model"),
        (lambda model, hparams, path: torch.load(path, weights_only=True), "raised FileNotFoundError"),
    ],
)
def test_save_and_reload_wrong_answers_get_hints(lenient, capsys, tmp_path, wrong, hint):
    assert not check(wrong, tmp_path)
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out


def test_save_and_reload_restores_torch_load_and_the_model(lenient, tmp_path):
    real_load = torch.load
    state = torch.random.get_rng_state()
    check(lambda model, hparams, path: 1 / 0, tmp_path)
    assert torch.load is real_load
    assert torch.equal(torch.random.get_rng_state(), state), "the check must not disturb the global RNG"


def test_save_and_reload_needs_valid_arguments(lenient):
    with pytest.raises(ValueError, match="needs build_model"):
        check_save_and_reload(right_answer, make_mlp, HPARAMS, [[1.0] * 12])


def test_save_and_reload_strict_raises(strict, tmp_path):
    with pytest.raises(CheckFailed):
        check(_forgot_load_state_dict, tmp_path)
    with pytest.raises(CheckFailed):
        check(None, tmp_path)


# ---------------------------------------------------------------- Exercise 6: Fashion-MNIST
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from helpers import data  # noqa: E402
from helpers.exercises.lesson04 import FASHION_SUBSET, check_fashion_classifier  # noqa: E402

needs_fashion = pytest.mark.skipif(
    not data.FASHION_MNIST_SYSTEM_DIR.is_dir() and not (data.data_dir("fashion-mnist") / "FashionMNIST").is_dir(),
    reason="Fashion-MNIST is not on this machine (make test installs Debian's dataset-fashion-mnist as root)",
)


def _mlp(hidden=256, dropout=0.2):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 10))


def _train(model, X, y, epochs):
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    return model


def _normalised(images, mean, std):
    return ((images.float() / 255 - mean) / std).unsqueeze(1)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Small models train faster on one thread (as in the lesson), and much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def fashion():
    """The lesson's training subset, normalised with its own statistics, and a model trained as the answer is."""
    train = data.load_fashion_mnist(train=True, subset=FASHION_SUBSET)
    pixels = train.data.float() / 255
    mean, std = pixels.mean().item(), pixels.std().item()
    X, y = _normalised(train.data, mean, std), train.targets
    model = _seeded(lambda: _train(_mlp(), X, y, epochs=2))
    return {"X": X, "y": y, "mean": mean, "std": std, "model": model}


@needs_fashion
def test_fashion_answer_passes_and_its_mode_is_restored(lenient, capsys, fashion):
    model = fashion["model"].train()
    assert check_fashion_classifier(model, fashion["mean"], fashion["std"])
    out = capsys.readouterr().out
    assert "✓" in out and "10,000 test images" in out
    assert model.training  # the check evaluated in eval mode and put the mode back
    # another correct style: a float64 model, in eval mode, and a CNN-shaped input path
    assert check_fashion_classifier(copy.deepcopy(fashion["model"]).double().eval(), fashion["mean"], fashion["std"])


@needs_fashion
def test_fashion_stub_is_not_done(lenient, capsys):
    assert not check_fashion_classifier(None, 0.29, 0.35)
    assert "not done yet" in capsys.readouterr().out


def _constant_model():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.copy_(torch.arange(10.0))
    return model


@needs_fashion
@pytest.mark.parametrize(
    ("build", "hint"),
    [
        (lambda f: _constant_model(), "for every test image"),
        (lambda f: _seeded_untrained(), "near chance"),
        (lambda f: _digit_model(), "this model learned digits"),
        pytest.param(lambda f: _test_set_model(f), "trained on the test set?", marks=pytest.mark.slow),
        (lambda f: _train(_seeded(lambda: _mlp(8, 0.0)), f["X"][:300], f["y"][:300], 1), "below the mark of 0.80"),
        (lambda f: nn.Sequential(nn.Linear(784, 10)), "start the model with nn.Flatten()"),
        (lambda f: nn.Sequential(nn.Flatten(), nn.Linear(784, 5)), "logits of shape (B, 10)"),
        (lambda f: "a model", "return the trained model (an nn.Module)"),
    ],
    ids=["constant", "untrained", "mnist-only", "trained-on-test", "undertrained", "no-flatten", "five-outputs",
         "not-a-module"],
)
def test_fashion_wrong_answers_get_their_hint(lenient, capsys, fashion, build, hint):
    assert not check_fashion_classifier(build(fashion), fashion["mean"], fashion["std"])
    assert hint in capsys.readouterr().out


def _seeded(build, seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build()


def _seeded_untrained():
    return _seeded(_mlp)


def _digit_model():
    """Lesson 04's MLP trained on the bundled MNIST digits instead of clothes."""
    digits = data.load_mnist(train=True)
    pixels = digits.data.float() / 255
    X = _normalised(digits.data, pixels.mean().item(), pixels.std().item())
    return _seeded(lambda: _train(_mlp(), X, digits.targets, epochs=2))


def _test_set_model(fashion):
    """A model that learned the public test images by heart."""
    test = data.load_fashion_mnist(train=False)
    X = _normalised(test.data, fashion["mean"], fashion["std"])
    return _seeded(lambda: _train(_mlp(512, 0.0), X, test.targets, epochs=6))


@needs_fashion
def test_fashion_bad_statistics_and_a_raising_model_are_reported(lenient, capsys, fashion):
    assert not check_fashion_classifier(fashion["model"], "0.3", 0.35)
    assert "mean and std as numbers" in capsys.readouterr().out
    assert not check_fashion_classifier(fashion["model"], 0.3, 0.0)

    class Broken(nn.Module):
        def forward(self, x):
            raise ZeroDivisionError("oops")

    assert not check_fashion_classifier(Broken(), fashion["mean"], fashion["std"])
    assert "the model raised ZeroDivisionError: oops" in capsys.readouterr().out


@needs_fashion
def test_fashion_strict_raises(strict, fashion):
    with pytest.raises(CheckFailed):
        check_fashion_classifier(_constant_model(), fashion["mean"], fashion["std"])


# ---------------------------------------------------------------- Exercise 4: early stopping


class DeepcopyStopper:
    """The lesson's answer: fit's rule, weights kept with copy.deepcopy."""

    def __init__(self, patience):
        self.patience, self.best_loss, self.best_epoch = patience, float("inf"), 0
        self.epoch, self.bad_epochs, self.best_state = 0, 0, None

    def improved(self, val_loss):
        return val_loss < self.best_loss

    def save(self, model):
        self.best_state = copy.deepcopy(model.state_dict())

    def step(self, val_loss, model):
        self.epoch += 1
        if self.improved(val_loss):
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, self.epoch, 0
            self.save(model)
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restore(self, model):
        model.load_state_dict(self.best_state)


class CloneStopper:
    """A second spelling: a list of losses, weights cloned tensor by tensor, numpy bool returned."""

    def __init__(self, patience):
        self.patience, self.losses, self.saved = patience, [], {}

    @property
    def best_loss(self):
        return min(self.losses)

    @property
    def best_epoch(self):
        return self.losses.index(self.best_loss) + 1  # the first epoch that reached the minimum

    def step(self, val_loss, model):
        self.losses.append(val_loss)
        if self.best_epoch == len(self.losses):
            self.saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return np.bool_(len(self.losses) - self.best_epoch >= self.patience)

    def restore(self, model):
        model.load_state_dict(self.saved)


class StubStopper:
    def __init__(self, patience):
        pass

    def step(self, val_loss, model):
        pass

    def restore(self, model):
        pass


class ReferenceStopper(DeepcopyStopper):
    def save(self, model):
        self.best_state = model.state_dict()


class ShallowDictStopper(DeepcopyStopper):
    def save(self, model):
        self.best_state = dict(model.state_dict())


class EarlyByOne(DeepcopyStopper):
    def step(self, val_loss, model):
        self.epoch += 1
        if self.improved(val_loss):
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, self.epoch, 0
            self.save(model)
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience - 1


class LateByOne(DeepcopyStopper):
    def step(self, val_loss, model):
        stop = super().step(val_loss, model)
        return stop and self.bad_epochs > self.patience


class NoReset(DeepcopyStopper):
    def step(self, val_loss, model):
        bad = self.bad_epochs
        super().step(val_loss, model)
        if self.bad_epochs == 0:  # undo the reset
            self.bad_epochs = bad
        return self.bad_epochs >= self.patience


class TiesImprove(DeepcopyStopper):
    def improved(self, val_loss):
        return val_loss <= self.best_loss


class ComparesWithPrevious(DeepcopyStopper):
    def __init__(self, patience):
        super().__init__(patience)
        self.previous = float("inf")

    def step(self, val_loss, model):
        self.epoch += 1
        better_than_previous, self.previous = val_loss < self.previous, val_loss
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch = val_loss, self.epoch
            self.save(model)
        if better_than_previous:
            self.bad_epochs = 0
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience


class ReturnsNone(DeepcopyStopper):
    def step(self, val_loss, model):
        super().step(val_loss, model)


class ReturnsString(DeepcopyStopper):
    def step(self, val_loss, model):
        return "stop" if super().step(val_loss, model) else "go on"


class IgnoresPatience(DeepcopyStopper):
    def __init__(self, patience):
        super().__init__(5)


class RestoresLast(DeepcopyStopper):
    def step(self, val_loss, model):
        stop = super().step(val_loss, model)
        self.save(model)  # every epoch, not only on a new best
        return stop


class RestoreDoesNothing(DeepcopyStopper):
    def restore(self, model):
        return self.best_state


class NeverStops(DeepcopyStopper):
    def step(self, val_loss, model):
        super().step(val_loss, model)
        return False


class ZeroBasedEpoch(DeepcopyStopper):
    def step(self, val_loss, model):
        stop = super().step(val_loss, model)
        if self.best_epoch == self.epoch:
            self.best_epoch -= 1
        return stop


class NoBestAttributes(DeepcopyStopper):
    def __init__(self, patience):
        super().__init__(patience)
        del self.best_epoch

    def step(self, val_loss, model):
        self.epoch += 1
        if val_loss < self.best_loss:
            self.best_loss, self.bad_epochs = val_loss, 0
            self.save(model)
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience


class Raises(DeepcopyStopper):
    def step(self, val_loss, model):
        return self.counter >= self.patience


@pytest.mark.parametrize("answer", [DeepcopyStopper, CloneStopper])
def test_early_stopping_answers_pass(lenient, capsys, answer):
    assert check_early_stopping(answer)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("stub", [None, StubStopper])
def test_early_stopping_stub_not_done(lenient, capsys, stub):
    assert not check_early_stopping(stub)
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (ReferenceStopper, "followed the live model"),
        (ShallowDictStopper, "copy.deepcopy(model.state_dict())"),
        (EarlyByOne, "one epoch early"),
        (LateByOne, "one epoch late"),
        (NoReset, "not reset"),
        (TiesImprove, "tie with the best"),
        (ComparesWithPrevious, "previous epoch"),
        (ReturnsNone, "step returned None"),
        (ReturnsString, "return a plain bool"),
        (IgnoresPatience, "as if patience were always 5"),
        (RestoresLast, "weights of the last epoch"),
        (RestoreDoesNothing, "left the model it was given unchanged"),
        (NeverStops, "never returned True"),
        (ZeroBasedEpoch, "count epochs from 1"),
        (NoBestAttributes, "self.best_epoch"),
        (Raises, "raised AttributeError"),
        (42, "must be a class"),
    ],
)
def test_early_stopping_wrong_answers_get_hints(lenient, capsys, wrong, hint):
    assert not check_early_stopping(wrong)
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out


def test_early_stopping_agrees_with_fit(lenient, monkeypatch):
    """The check's rule is fit's: fed the same validation losses, fit stops at the same epoch."""
    from helpers import training
    from helpers.exercises.lesson04 import _ES_CASES, _simulate

    for patience, losses in _ES_CASES:
        scripted = iter(losses)
        monkeypatch.setattr(training, "train_one_epoch", lambda *args, **kwargs: 0.0)
        monkeypatch.setattr(training, "evaluate", lambda *args, _it=scripted, **kwargs: (next(_it), 0.0))
        model = nn.Linear(1, 1)
        history = training.fit(model, [], [], nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                               len(losses), "cpu", patience=patience, progress=False)
        stop = len(history.val_loss) if history.stopped_early else None
        assert (stop, history.best_epoch) == _simulate(patience, losses)
        stopper, stop = DeepcopyStopper(patience), None
        for epoch, loss in enumerate(losses, start=1):
            if stopper.step(loss, model):
                stop = epoch
                break
        assert (stop, stopper.best_epoch) == _simulate(patience, losses)


def test_early_stopping_strict_raises(strict):
    with pytest.raises(CheckFailed):
        check_early_stopping(TiesImprove)
    with pytest.raises(CheckFailed):
        check_early_stopping(StubStopper)


# ------------------------------------------------------------------ issue 18: reading the file back, by behaviour
def _with_serialization_load(model, hparams, path):
    torch.save({"hparams": hparams, "model_state": model.state_dict()}, path)
    checkpoint = torch.serialization.load(path, weights_only=True)
    new_model = make_mlp(**checkpoint["hparams"])
    new_model.load_state_dict(checkpoint["model_state"])
    return new_model


def _with_imported_load(model, hparams, path):
    from torch import load, save

    save({"hparams": hparams, "model_state": model.state_dict()}, path)
    checkpoint = load(path, weights_only=True)
    new_model = make_mlp(**checkpoint["hparams"])
    new_model.load_state_dict(checkpoint["model_state"])
    return new_model


def _deepcopy_after_load_for_show(model, hparams, path):
    torch.save({"hparams": hparams, "model_state": model.state_dict()}, path)
    torch.load(path, weights_only=True)  # read, then ignored
    return copy.deepcopy(model)


def _forgot_return(model, hparams, path):
    torch.save({"hparams": hparams, "model_state": model.state_dict()}, path)
    new_model = make_mlp(**hparams)
    new_model.load_state_dict(torch.load(path, weights_only=True)["model_state"])


@pytest.mark.parametrize("answer", [_with_serialization_load, _with_imported_load])
def test_save_and_reload_any_way_of_reading_passes(lenient, capsys, tmp_path, answer):
    assert check(answer, tmp_path) is True
    assert "✓" in capsys.readouterr().out


def test_save_and_reload_load_for_show_is_caught(lenient, capsys, tmp_path):
    assert check(_deepcopy_after_load_for_show, tmp_path) is False
    assert "never read back" in capsys.readouterr().out


def test_save_and_reload_forgotten_return_is_named(lenient, capsys, tmp_path):
    assert check(_forgot_return, tmp_path) is False
    out = capsys.readouterr().out
    assert "forget `return`" in out and "not done yet" not in out


def test_save_and_reload_error_text_is_one_clean_line(lenient, capsys, tmp_path):
    import pickle

    def unpickling(model, hparams, path):
        raise pickle.UnpicklingError("\x1b[1mWeights only load failed.\x1b[0m\nPlease file an issue")

    assert check(unpickling, tmp_path) is False
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "\x1b" not in out and "UnpicklingError: Weights only load failed." in out


def test_save_and_reload_float64_model_is_reported_not_raised(lenient, capsys, tmp_path):
    def as_double(model, hparams, path):
        return right_answer(model, hparams, path).double()

    assert check(as_double, tmp_path) in (True, False)  # either way: one line, no traceback
    assert capsys.readouterr().out.count("\n") == 1


class _OnBytes(nn.Module):
    """A model that works on pixels 0-255, as one trained on unscaled images does."""

    def __init__(self, inner, mean, std):
        super().__init__()
        self.inner, self.mean, self.std = inner, mean, std

    def forward(self, x):
        return self.inner((x / 255 - self.mean) / self.std)


class _Permuted(nn.Module):
    """A right model whose outputs are in another class order."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)[:, torch.tensor([3, 4, 5, 6, 7, 8, 9, 0, 1, 2])]


@needs_fashion
def test_fashion_unscaled_pixels_and_class_order_are_named(lenient, capsys, fashion):
    model = fashion["model"].eval()
    assert not check_fashion_classifier(_OnBytes(model, fashion["mean"], fashion["std"]), fashion["mean"], fashion["std"])
    assert "trained on pixels 0-255" in capsys.readouterr().out
    assert not check_fashion_classifier(_Permuted(model), fashion["mean"], fashion["std"])
    assert "another order" in capsys.readouterr().out


@needs_fashion
def test_fashion_mark_is_fixed_at_import(lenient, capsys, fashion, monkeypatch):
    import helpers.exercises.lesson04 as lesson04

    monkeypatch.setattr(lesson04, "FASHION_PASS_MARK", 0.0)
    assert check_fashion_classifier.__wrapped__.__kwdefaults__["_mark"] == 0.80  # bound at import, not read later
    weak = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))  # untrained: far below the mark, not one class
    assert not check_fashion_classifier(weak, fashion["mean"], fashion["std"])
