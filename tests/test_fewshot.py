"""helpers.fewshot: photo tensors, the colour-histogram baseline, nearest centroid, the scratch CNN, balanced accuracy."""

from __future__ import annotations

import pytest
import torch

from helpers.fewshot import (
    HIST_BINS,
    balanced_accuracy,
    handmade_features,
    nearest_centroid,
    photo_tensors,
    scratch_cnn,
)
from helpers.photos import PHOTO_CLASSES, photo_splits


# ------------------------------------------------------------------ photo_tensors
def test_photo_tensors_shapes_and_order():
    pairs = photo_splits(1, seed=0)["train"]
    X, y = photo_tensors(pairs)
    assert X.shape == (len(PHOTO_CLASSES), 3, 224, 224) and X.dtype == torch.uint8
    assert y.dtype == torch.int64 and y.tolist() == [label for _, label in pairs]
    small, y_small = photo_tensors(pairs[:2], size=64)
    assert small.shape == (2, 3, 64, 64) and small.dtype == torch.uint8
    assert y_small.tolist() == y.tolist()[:2]
    # resizing keeps the picture: the mean colour barely moves
    assert (small.float().mean((2, 3)) - X[:2].float().mean((2, 3))).abs().max() < 3


@pytest.mark.parametrize(
    ("pairs", "size", "match"),
    [
        ([], 224, "empty"),
        ("helpers/photos_data", 224, "list of"),
        ([("a.jpg",)], 224, r"pairs\[0\] must be a \(path, label\)"),
        ([("a.jpg", -1)], 224, "non-negative"),
        ([("a.jpg", 1.0)], 224, "non-negative ints"),
        ([("a.jpg", 0)], 4, "size must be an int >= 8"),
        ([("a.jpg", 0)], 64.0, "size must be"),
        ([("/no/such/photo.jpg", 0)], 224, "is not a file"),
    ],
)
def test_photo_tensors_bad_input(pairs, size, match):
    with pytest.raises(ValueError, match=match):
        photo_tensors(pairs, size=size)


# ------------------------------------------------------------------ handmade_features
def test_handmade_features_is_a_colour_histogram():
    X = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    X[0] = 255  # white
    X[1, 0] = 255  # red
    X[1, :, :2] = 0  # top half black
    h = handmade_features(X)
    assert h.shape == (2, HIST_BINS**3) and h.dtype == torch.float32
    assert torch.allclose(h.sum(1), torch.ones(2))
    assert h[0, -1] == 1  # every pixel in the brightest cell
    red = (HIST_BINS - 1) * HIST_BINS**2
    assert h[1, 0] == pytest.approx(0.5) and h[1, red] == pytest.approx(0.5)
    assert handmade_features(X, bins=2).shape == (2, 8)


def test_handmade_features_on_photos():
    X, _ = photo_tensors(photo_splits(1, seed=0)["train"], size=32)
    h = handmade_features(X)
    assert h.shape == (5, 64) and torch.allclose(h.sum(1), torch.ones(5))


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (torch.zeros(2, 3, 8, 8), "uint8"),
        (torch.zeros(2, 8, 8, 3, dtype=torch.uint8), "channels last"),
        (torch.zeros(3, 8, 8, dtype=torch.uint8), r"\(N, 3, H, W\)"),
        (torch.zeros(0, 3, 8, 8, dtype=torch.uint8), "empty"),
        ([[0]], "tensor"),
    ],
)
def test_handmade_features_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        handmade_features(X)


def test_handmade_features_bad_bins():
    with pytest.raises(ValueError, match="bins"):
        handmade_features(torch.zeros(1, 3, 2, 2, dtype=torch.uint8), bins=1)


# ------------------------------------------------------------------ nearest_centroid
def test_nearest_centroid_picks_the_closest_mean():
    train = torch.tensor([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0]])
    y = torch.tensor([3, 3, 1, 1])  # labels need not start at 0 nor be contiguous
    pred = nearest_centroid(train, y, torch.tensor([[1.0, 1.0], [9.0, 1.0], [4.9, 1.0]]))
    assert pred.tolist() == [3, 1, 3] and pred.dtype == torch.int64


@pytest.mark.parametrize(
    ("train", "y", "ev", "match"),
    [
        (torch.zeros(2, 3), torch.tensor([0, 1]), torch.zeros(1, 4), "same function"),
        (torch.zeros(2, 3), torch.tensor([0]), torch.zeros(1, 3), "1 labels for 2 rows"),
        (torch.zeros(2, 3), torch.tensor([0.0, 1.0]), torch.zeros(1, 3), "integer tensor"),
        (torch.zeros(2, 3), torch.tensor([0, -1]), torch.zeros(1, 3), "negative"),
        (torch.zeros(0, 3), torch.zeros(0, dtype=torch.int64), torch.zeros(1, 3), "empty"),
        (torch.zeros(2, 3, dtype=torch.int64), torch.tensor([0, 1]), torch.zeros(1, 3), "float"),
        (torch.zeros(2, 3), torch.tensor([0, 1]), torch.zeros(3), "2-D"),
    ],
)
def test_nearest_centroid_bad_input(train, y, ev, match):
    with pytest.raises(ValueError, match=match):
        nearest_centroid(train, y, ev)


# ------------------------------------------------------------------ scratch_cnn
def test_scratch_cnn_shapes_and_seeding():
    torch.manual_seed(0)
    net = scratch_cnn()
    torch.manual_seed(0)
    again = scratch_cnn(num_classes=5)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values(), strict=True))
    assert net(torch.randn(2, 3, 64, 64)).shape == (2, 5)
    assert scratch_cnn(3)(torch.randn(1, 3, 32, 32)).shape == (1, 3)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert 5_000 < sum(p.numel() for p in net.parameters()) < 8_000
    assert scratch_cnn(5, width=16)(torch.randn(1, 3, 64, 64)).shape == (1, 5)


def test_scratch_cnn_bad_width():
    with pytest.raises(ValueError, match="width"):
        scratch_cnn(5, width=0)


@pytest.mark.parametrize("bad", [1, 0, 2.0, True, "5"])
def test_scratch_cnn_bad_num_classes(bad):
    with pytest.raises(ValueError, match="num_classes"):
        scratch_cnn(bad)


# ------------------------------------------------------------------ balanced_accuracy
def test_balanced_accuracy_weights_classes_equally():
    y = torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    always_zero = torch.zeros(10, dtype=torch.int64)
    assert balanced_accuracy(always_zero, y, 2) == pytest.approx(0.5)  # plain accuracy would say 0.8
    assert balanced_accuracy(y, y, 2) == 1.0
    pred = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1, 0])  # class 0: 4/8, class 1: 1/2
    assert balanced_accuracy(pred, y, 2) == pytest.approx(0.5)
    # a class absent from y is left out of the mean
    assert balanced_accuracy(torch.tensor([0, 2]), torch.tensor([0, 2]), 5) == 1.0
    # logits are reduced with argmax
    logits = torch.tensor([[2.0, 0.0], [0.0, 3.0]])
    assert balanced_accuracy(logits, torch.tensor([0, 1]), 2) == 1.0
    assert isinstance(balanced_accuracy(y, y, 2), float)


@pytest.mark.parametrize(
    ("pred", "y", "k", "match"),
    [
        (torch.tensor([0, 1]), torch.tensor([0]), 2, "1 rows"),
        (torch.tensor([0, 5]), torch.tensor([0, 1]), 2, r"outside 0\.\.1"),
        (torch.tensor([0, 1]), torch.tensor([0, 7]), 2, r"y holds labels outside"),
        (torch.tensor([], dtype=torch.int64), torch.tensor([], dtype=torch.int64), 2, "empty"),
        (torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), 2, "integer tensor"),
        (torch.tensor([0, 1]), torch.tensor([0.0, 1.0]), 2, "true labels"),
        (torch.zeros(2, 3), torch.tensor([0, 1]), 2, "logits with 3 columns"),
        (torch.tensor([0, 1]), torch.tensor([0, 1]), 1, "num_classes"),
    ],
)
def test_balanced_accuracy_bad_input(pred, y, k, match):
    with pytest.raises(ValueError, match=match):
        balanced_accuracy(pred, y, k)
