"""Tests for the lesson 05 exercise check (helpers.exercises.lesson05)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import Dataset

from helpers.checks import CheckFailed
from helpers.exercises.lesson05 import check_patch_dataset


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)


class Answer(Dataset):
    def __init__(self, images, labels, transform=None):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        x = torch.from_numpy(self.images[index]).float().div(255).unsqueeze(0)
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[index])


class OtherSpelling(Dataset):
    """Another correct answer: tensors stored up front, label as a 0-d tensor, items as a list."""

    def __init__(self, images, labels, transform=None):
        self.x = torch.as_tensor(images, dtype=torch.float32).unsqueeze(1) / 255.0  # (N, 1, H, W)
        self.y = torch.as_tensor(labels)
        self.transform = transform

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, i):
        x = self.x[i]
        return [self.transform(x) if self.transform else x, self.y[i]]


class Stub(Dataset):
    def __init__(self, images, labels, transform=None):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        pass

    def __getitem__(self, index):
        pass


def _variant(**overrides):
    """Return a subclass of Answer whose __getitem__ or __len__ is replaced."""
    return type("Variant", (Answer,), overrides)


def test_answer_passes(capsys):
    assert check_patch_dataset(Answer) is True
    assert "✓" in capsys.readouterr().out


def test_other_correct_spelling_passes(capsys):
    assert check_patch_dataset(OtherSpelling) is True
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("stub", [None, Stub])
def test_stub_is_not_done(stub, capsys):
    assert check_patch_dataset(stub) is False
    assert "not done yet" in capsys.readouterr().out


def _get_unscaled(self, index):
    return torch.from_numpy(self.images[index]).float().unsqueeze(0), int(self.labels[index])


def _get_uint8(self, index):
    return torch.from_numpy(self.images[index]).unsqueeze(0), int(self.labels[index])


def _get_no_channel(self, index):
    return torch.from_numpy(self.images[index]).float().div(255), int(self.labels[index])


def _get_numpy(self, index):
    return self.images[index][None] / 255.0, int(self.labels[index])


def _get_wraps(self, index):
    index = index % len(self.images)
    return torch.from_numpy(self.images[index]).float().div(255).unsqueeze(0), int(self.labels[index])


def _get_off_by_one_label(self, index):
    x = torch.from_numpy(self.images[index]).float().div(255).unsqueeze(0)
    return x, int(self.labels[index - 1])


def _get_ignores_transform(self, index):
    return torch.from_numpy(self.images[index]).float().div(255).unsqueeze(0), int(self.labels[index])


def _get_transform_on_array(self, index):
    image = self.images[index]
    if self.transform is not None:
        image = self.transform(image)
    return torch.from_numpy(image).float().div(255).unsqueeze(0), int(self.labels[index])


def _get_image_only(self, index):
    return torch.from_numpy(self.images[index]).float().div(255).unsqueeze(0)


def _get_float_label(self, index):
    return torch.from_numpy(self.images[index]).float().div(255).unsqueeze(0), float(self.labels[index])


@pytest.mark.parametrize(
    ("overrides", "hint"),
    [
        ({"__getitem__": _get_unscaled}, "divide by 255"),
        ({"__getitem__": _get_uint8}, "still uint8"),
        ({"__getitem__": _get_no_channel}, "unsqueeze(0)"),
        ({"__getitem__": _get_numpy}, "torch.from_numpy"),
        ({"__getitem__": _get_wraps}, "IndexError"),
        ({"__getitem__": _get_off_by_one_label}, "label is"),
        ({"__getitem__": _get_ignores_transform}, "transform is ignored"),
        ({"__getitem__": _get_transform_on_array}, "apply the transform to the tensor"),
        ({"__getitem__": _get_image_only}, "pair (image, label)"),
        ({"__getitem__": _get_float_label}, "must be an integer"),
        ({"__len__": lambda self: self.images.shape[1]}, "len(ds) is 6"),
        ({"__len__": lambda self: float(len(self.images))}, "must return an int"),
    ],
)
def test_wrong_answers_get_specific_hints(overrides, hint, capsys):
    assert check_patch_dataset(_variant(**overrides)) is False
    out = capsys.readouterr().out
    assert "✗" in out
    assert hint in out, out


def test_missing_transform_argument(capsys):
    class NoTransform(Dataset):
        def __init__(self, images, labels):
            self.images, self.labels = images, labels

        def __len__(self):
            return len(self.images)

        def __getitem__(self, index):
            return torch.from_numpy(self.images[index]).float().div(255).unsqueeze(0), int(self.labels[index])

    assert check_patch_dataset(NoTransform) is False
    assert "accept a transform argument" in capsys.readouterr().out


def test_not_a_class(capsys):
    assert check_patch_dataset(42) is False
    assert "must be a class" in capsys.readouterr().out


def test_constructor_error_is_reported(capsys):
    class Broken(Answer):
        def __init__(self, images, labels, transform=None):
            raise RuntimeError("boom")

    assert check_patch_dataset(Broken) is False
    assert "RuntimeError: boom" in capsys.readouterr().out


def test_strict_mode_raises(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed):
        check_patch_dataset(_variant(__getitem__=_get_unscaled))
    with pytest.raises(CheckFailed):
        check_patch_dataset(Stub)
    assert check_patch_dataset(Answer) is True


def test_a_getitem_that_forgets_return_is_named(capsys):
    from helpers.exercises.lesson05 import check_patch_dataset as check

    class ForgotReturn:
        def __init__(self, images, labels, transform=None):
            self.images, self.labels = images, labels

        def __len__(self):
            return len(self.images)

        def __getitem__(self, index):
            x = self.images[index]  # noqa: F841 - the classic mistake: no return

    assert check(ForgotReturn) is False
    out = capsys.readouterr().out
    assert "forget `return`" in out and "not done yet" not in out
