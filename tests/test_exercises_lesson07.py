"""Unit tests for the lesson 07 exercise check: freeze a ResNet, give it a new head, optimise the head only."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.checks import CheckFailed
from helpers.exercises.lesson07 import check_class_centroids, check_prepare_for_new_task, head_cases


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)


def answer(model, num_classes):
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model.fc.parameters()


def another_answer(model, num_classes):
    """Written differently: requires_grad_ on the modules, a dropout + linear head, a list returned."""
    for name, module in model.named_children():
        if name != "fc":
            module.requires_grad_(False)
    model.fc = nn.Sequential(nn.Dropout(0.2), nn.Linear(model.fc.in_features, num_classes))
    return [p for p in model.parameters() if p.requires_grad]


def test_answers_pass(capsys):
    assert check_prepare_for_new_task(answer) is True
    assert check_prepare_for_new_task(another_answer) is True
    out = capsys.readouterr().out
    assert out.count("✓") == 2 and f"all {len(head_cases())} cases" in out


def test_stub_is_not_done(capsys):
    def stub(model, num_classes):
        pass

    assert check_prepare_for_new_task(None) is False
    assert check_prepare_for_new_task(stub) is False
    assert capsys.readouterr().out.count("not done yet") == 2


def head_frozen_too(model, num_classes):
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    for param in model.parameters():
        param.requires_grad = False
    return model.fc.parameters()


def backbone_trainable(model, num_classes):
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model.fc.parameters()


def hard_coded_512(model, num_classes):
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Linear(512, num_classes)
    return model.fc.parameters()


def wrong_class_count(model, num_classes):
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Linear(model.fc.in_features, 3)
    return model.fc.parameters()


def old_head_kept(model, num_classes):
    for param in model.parameters():
        param.requires_grad = False
    model.fc.requires_grad_(True)
    return model.fc.parameters()


def all_parameters(model, num_classes):
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model.parameters()


def only_the_weight(model, num_classes):
    answer(model, num_classes)
    return [model.fc.weight]


def returns_the_module(model, num_classes):
    answer(model, num_classes)
    return model.fc


def returns_nothing(model, num_classes):
    answer(model, num_classes)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (head_frozen_too, "the new head is frozen too"),
        (backbone_trainable, "backbone parameter tensors still have requires_grad=True"),
        (hard_coded_512, "instead of hard-coding it"),
        (wrong_class_count, "must output num_classes"),
        (old_head_kept, "still the original 1000-class layer"),
        (all_parameters, "only the head's"),
        (only_the_weight, "return all of them (weight and bias)"),
        (returns_the_module, "returned a module"),
        (returns_nothing, "nothing was returned"),
    ],
)
def test_wrong_answers_get_their_hint(wrong, hint, capsys):
    assert check_prepare_for_new_task(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out


def test_a_crash_is_reported_not_raised(capsys):
    def crashes(model, num_classes):
        return model.classifier  # ResNets have no classifier attribute

    assert check_prepare_for_new_task(crashes) is False
    assert "AttributeError" in capsys.readouterr().out


def test_bad_input_is_reported(capsys):
    assert check_prepare_for_new_task("fc") is False
    assert "expected a function, got a str" in capsys.readouterr().out


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed):
        check_prepare_for_new_task(backbone_trainable)
    assert check_prepare_for_new_task(answer) is True


def test_the_check_leaves_the_global_random_state_alone():
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_prepare_for_new_task(answer)
    assert torch.equal(torch.rand(3), expected)


# ------------------------------------------------------------------ exercise 2: class centroids
def centroids_answer(X, y, num_classes):
    return torch.stack([X[y == c].mean(dim=0) for c in range(num_classes)])


def centroids_another(X, y, num_classes):
    """Written differently: one-hot matrix product, divided by the counts."""
    one_hot = torch.nn.functional.one_hot(y, num_classes).float()  # (N, C)
    return (one_hot.T @ X) / one_hot.sum(0, keepdim=True).T


def test_centroid_answers_pass(capsys):
    assert check_class_centroids(centroids_answer) is True
    assert check_class_centroids(centroids_another) is True
    assert capsys.readouterr().out.count("✓") == 2


def test_centroid_stub_is_not_done(capsys):
    def stub(X, y, num_classes):
        pass

    assert check_class_centroids(None) is False
    assert check_class_centroids(stub) is False
    assert capsys.readouterr().out.count("not done yet") == 2


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda X, y, k: torch.stack([X[y == c].mean(dim=0) for c in range(k)]).T, "transposed"),
        (lambda X, y, k: torch.stack([X[y == c].mean() for c in range(k)]), "dim=0"),
        (lambda X, y, k: torch.stack([X[y == c].sum(dim=0) for c in range(k)]), "sums"),
        (lambda X, y, k: X.mean(dim=0).expand(k, -1), "mean of all of X"),
        (lambda X, y, k: torch.stack([X[y == c].mean(dim=0) for c in reversed(range(k))]), "out of order"),
        (lambda X, y, k: torch.stack([X[y == c].mean(dim=0) for c in range(k)]).numpy(), "returned a ndarray"),
        (lambda X, y, k: [X[y == c].mean(dim=0) for c in range(k)], "returned a list"),
        (lambda X, y, k: torch.stack([X[y == c].median(dim=0).values for c in range(k)]), "should be"),
        (lambda X, y, k: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_centroid_wrong_answers_get_their_hint(wrong, hint, capsys):
    assert check_class_centroids(wrong) is False
    assert hint in capsys.readouterr().out


def test_centroid_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed):
        check_class_centroids(lambda X, y, k: X[:k])
