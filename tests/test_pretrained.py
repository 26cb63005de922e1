"""Tests for helpers.pretrained: the offline EfficientNet-Lite0, its preprocessing and shortcuts."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from helpers.data import sample_photos
from helpers.pretrained import (
    FEATURE_DIM,
    EfficientNetLite0,
    count_parameters,
    efficientnet_transform,
    extract_features,
    last_stage,
    last_stage_inputs,
    load_efficientnet_lite0,
    normalize_batch,
    predict_topk,
)

CAT_CLASSES = {"tabby", "tiger cat", "Egyptian cat"}


@pytest.fixture(scope="module")
def imagenet_model():
    return load_efficientnet_lite0()


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return load_efficientnet_lite0(num_classes=3, freeze_features=True)


@pytest.fixture(scope="module")
def chelsea():
    return sample_photos()["chelsea"]


# ------------------------------------------------------------------------- loading
def test_imagenet_model_shape_mode_and_size(imagenet_model):
    assert isinstance(imagenet_model, EfficientNetLite0)
    assert not imagenet_model.training
    assert isinstance(imagenet_model.head, nn.Linear)
    assert (imagenet_model.head.in_features, imagenet_model.head.out_features) == (FEATURE_DIM, 1000)
    assert count_parameters(imagenet_model)["total"] == 4_652_008
    with torch.no_grad():
        logits = imagenet_model(torch.zeros(2, 3, 64, 64))
    assert logits.shape == (2, 1000)


def test_imagenet_weights_are_real(imagenet_model, chelsea):
    names = [name for name, _ in predict_topk(imagenet_model, chelsea, k=3)]
    assert CAT_CLASSES & set(names), names


def test_new_head_is_seeded_and_sized():
    torch.manual_seed(1)
    a = load_efficientnet_lite0(num_classes=4)
    torch.manual_seed(1)
    b = load_efficientnet_lite0(num_classes=4)
    torch.manual_seed(2)
    c = load_efficientnet_lite0(num_classes=4)
    assert (a.head.in_features, a.head.out_features) == (FEATURE_DIM, 4)
    assert torch.equal(a.head.weight, b.head.weight)
    assert not torch.equal(a.head.weight, c.head.weight)
    assert all(p.requires_grad for p in a.parameters())


def test_freeze_features_leaves_only_the_head_trainable(small_model):
    counts = count_parameters(small_model)
    assert counts["trainable"] == FEATURE_DIM * 3 + 3
    assert counts["frozen"] == counts["total"] - counts["trainable"]
    assert not any(p.requires_grad for p in small_model.backbone.parameters())
    assert all(p.requires_grad for p in small_model.head.parameters())


@pytest.mark.parametrize("bad", [0, 1, -3, 1.5, "10", True, [3]])
def test_bad_num_classes(bad):
    with pytest.raises(ValueError, match="num_classes must be None .* int >= 2"):
        load_efficientnet_lite0(num_classes=bad)


def test_bad_freeze_flag():
    with pytest.raises(ValueError, match="freeze_features"):
        load_efficientnet_lite0(freeze_features="yes")


# ------------------------------------------------------------------- input checks
@pytest.mark.parametrize(
    ("shape", "dtype", "hint"),
    [
        ((2, 1, 32, 32), torch.float32, r"got \(2, 1, 32, 32\): repeat the grey channel with x.expand"),
        ((3, 32, 32), torch.float32, r"got \(3, 32, 32\): add the batch axis with x.unsqueeze\(0\)"),
        ((1, 32, 32), torch.float32, r"one grey image"),
        ((2, 32, 32, 3), torch.float32, r"channels come last; use x.permute\(0, 3, 1, 2\)"),
        ((2, 4, 32, 32), torch.float32, r"exactly 3 channels"),
        ((5,), torch.float32, r"1-D input \(5,\)"),
        ((2, 3, 32, 32), torch.uint8, r"dtype torch.uint8"),
    ],
)
def test_forward_rejects_bad_input(small_model, shape, dtype, hint):
    with pytest.raises(ValueError, match=r"expected .*" + hint):
        small_model(torch.zeros(shape, dtype=dtype))


def test_forward_rejects_non_tensor(small_model):
    with pytest.raises(ValueError, match="torch.Tensor"):
        small_model(np.zeros((1, 3, 32, 32), dtype=np.float32))


def test_model_exports_to_onnx(small_model):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            small_model, (torch.zeros(1, 3, 64, 64),), buffer, dynamo=False,
            input_names=["images"], output_names=["logits"],
        )
    assert len(buffer.getvalue()) > 1_000_000


# --------------------------------------------------------------------- transforms
def test_transform_photo_array_and_pil(chelsea):
    transform = efficientnet_transform(96)
    from_array = transform(chelsea)  # a read-only view: must not warn or fail
    from_pil = transform(Image.fromarray(chelsea))
    assert from_array.shape == (3, 96, 96) and from_array.dtype == torch.float32
    assert torch.allclose(from_array, from_pil, atol=1e-6)
    assert from_array.min() >= -1 and from_array.max() <= 1
    assert from_array.min() < -0.5 and from_array.max() > 0.5  # really normalised to [-1, 1]


def test_transform_grey_and_rgba_become_rgb(chelsea):
    transform = efficientnet_transform(64)
    grey = chelsea[..., 0].copy()
    assert transform(grey).shape == (3, 64, 64)
    assert transform(Image.fromarray(grey)).shape == (3, 64, 64)
    rgba = np.concatenate([chelsea, np.full(chelsea.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    assert torch.allclose(transform(rgba), transform(chelsea))


def test_transform_resizes_shorter_side_then_crops():
    text = repr(efficientnet_transform(224))
    assert "Resize(size=[256]" in text and "CenterCrop(size=(224, 224))" in text
    assert "Resize(size=[300]" in repr(efficientnet_transform(224, resize_size=300))


@pytest.mark.parametrize(("image_size", "resize_size"), [(224, None), (96, None), (64, 100)])
def test_transform_v2_gives_the_tensors_of_the_v1_pipeline(chelsea, image_size, resize_size):
    from torchvision import transforms
    from torchvision.transforms import v2

    from helpers.pretrained import MEAN, STD

    new = efficientnet_transform(image_size, resize_size)
    assert isinstance(new, v2.Compose)
    old = transforms.Compose([  # what lessons 07 and 08 used before transforms.v2
        new.transforms[0],
        transforms.Resize(resize_size or round(image_size * 256 / 224), antialias=True),
        transforms.CenterCrop(image_size),
        transforms.Normalize(MEAN, STD),
    ])
    for image in (chelsea, Image.fromarray(chelsea), chelsea[40:200, 10:330]):  # landscape and crops
        assert torch.equal(new(image), old(image))


@pytest.mark.parametrize("kwargs", [{"image_size": 0}, {"image_size": 8}, {"image_size": "224"},
                                    {"image_size": True}, {"image_size": 224, "resize_size": 100}])
def test_transform_bad_sizes(kwargs):
    with pytest.raises(ValueError, match="must be an int"):
        efficientnet_transform(**kwargs)


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((32, 32, 3), dtype=np.float32), "uint8"),
        (np.zeros((3, 32, 32), dtype=np.uint8), r"transpose\(1, 2, 0\)"),
        ([[0, 1], [2, 3]], "PIL image or a NumPy array"),
    ],
)
def test_transform_bad_images(image, match):
    with pytest.raises(ValueError, match=match):
        efficientnet_transform(64)(image)


def test_normalize_batch_grey_and_resize():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 32, 32)
    out = normalize_batch(x)
    assert out.shape == (4, 3, 32, 32)
    assert torch.allclose(out[:, 1], x[:, 0] * 2 - 1)
    resized = normalize_batch(x, image_size=64)
    assert resized.shape == (4, 3, 64, 64)
    assert resized.min() >= -1 - 1e-5 and resized.max() <= 1 + 1e-5
    rgb = torch.rand(2, 3, 16, 16)
    assert torch.allclose(normalize_batch(rgb), (rgb - 0.5) / 0.5)


@pytest.mark.parametrize(
    ("x", "kwargs", "match"),
    [
        (torch.zeros(2, 1, 8, 8, dtype=torch.uint8), {}, r"x.float\(\) / 255"),
        (torch.full((2, 1, 8, 8), 200.0), {}, "values in"),
        (torch.full((2, 1, 8, 8), -1.0), {}, "normalised already"),
        (torch.zeros(2, 8, 8), {}, r"unsqueeze\(1\)"),
        (torch.zeros(2, 2, 8, 8), {}, "C = 1 or 3"),
        (np.zeros((2, 1, 8, 8)), {}, "torch.Tensor"),
        (torch.zeros(2, 1, 8, 8), {"image_size": 4}, "image_size"),
    ],
)
def test_normalize_batch_bad_input(x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        normalize_batch(x, **kwargs)


# ------------------------------------------------------------------------ features
def test_extract_features_matches_backbone_and_batches(small_model):
    torch.manual_seed(0)
    X = normalize_batch(torch.rand(5, 1, 32, 32), image_size=64)
    features = extract_features(small_model, X, batch_size=2)
    assert features.shape == (5, FEATURE_DIM)
    assert not features.requires_grad
    with torch.no_grad():
        direct = small_model.backbone(X)
    assert torch.allclose(features, direct, atol=1e-5)


def test_extract_features_restores_train_mode(small_model):
    small_model.train()
    try:
        extract_features(small_model, torch.zeros(1, 3, 32, 32))
        assert small_model.training
    finally:
        small_model.eval()


@pytest.mark.parametrize(
    ("model_kind", "X", "kwargs", "match"),
    [
        ("linear", torch.zeros(1, 3, 32, 32), {}, "backbone"),
        ("ours", torch.zeros(2, 1, 32, 32), {}, "repeat the grey channel"),
        ("ours", torch.zeros(1, 3, 32, 32), {"batch_size": 0}, "batch_size"),
        ("ours", torch.zeros(0, 3, 32, 32), {}, "empty"),
    ],
)
def test_extract_features_bad_input(small_model, model_kind, X, kwargs, match):
    model = small_model if model_kind == "ours" else nn.Linear(3, 3)
    with pytest.raises(ValueError, match=match):
        extract_features(model, X, **kwargs)


# ----------------------------------------------------------------------- predictions
def test_predict_topk_array_and_tensor_agree(imagenet_model, chelsea):
    top = predict_topk(imagenet_model, chelsea, k=5)
    assert len(top) == 5
    assert all(isinstance(name, str) and isinstance(p, float) for name, p in top)
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    x = efficientnet_transform(224)(chelsea)
    again = predict_topk(imagenet_model, x, k=5)
    assert [n for n, _ in again] == [n for n, _ in top]
    assert [p for _, p in again] == pytest.approx(probs, abs=1e-6)
    assert [n for n, _ in predict_topk(imagenet_model, x.unsqueeze(0), k=5)] == [n for n, _ in top]


def test_predict_topk_class_names(small_model):
    image = np.zeros((40, 40, 3), dtype=np.uint8)
    default = predict_topk(small_model, image, k=3, image_size=32)
    assert sorted(name for name, _ in default) == ["0", "1", "2"]
    assert sum(p for _, p in default) == pytest.approx(1, abs=1e-5)
    named = predict_topk(small_model, image, k=2, class_names=["a", "b", "c"], image_size=32)
    assert {name for name, _ in named} <= {"a", "b", "c"}


@pytest.mark.parametrize(
    ("image", "kwargs", "match"),
    [
        (np.zeros((40, 40, 3), np.uint8), {"k": 0}, "k must be"),
        (np.zeros((40, 40, 3), np.uint8), {"k": 4}, "k must be"),
        (np.zeros((40, 40, 3), np.uint8), {"k": 2.5}, "k must be"),
        (np.zeros((40, 40, 3), np.uint8), {"k": 2, "class_names": ["a", "b"]}, "3 outputs but 2 class names"),
        (torch.zeros(2, 3, 32, 32), {}, "one image"),
    ],
)
def test_predict_topk_bad_input(small_model, image, kwargs, match):
    with pytest.raises(ValueError, match=match):
        predict_topk(small_model, image, image_size=32, **kwargs)


def test_count_parameters():
    layer = nn.Linear(4, 2)
    layer.bias.requires_grad = False
    assert count_parameters(layer) == {"total": 10, "trainable": 8, "frozen": 2}
    with pytest.raises(ValueError, match="nn.Module"):
        count_parameters(torch.zeros(3))


def test_last_stage_rebuilds_the_features(small_model):
    X = torch.randn(3, 3, 96, 96)
    maps = last_stage_inputs(small_model, X, batch_size=2)
    assert maps.shape == (3, 320, 3, 3)
    stage = last_stage(small_model)
    assert not stage.training and all(p.requires_grad for p in stage.parameters())
    with torch.no_grad():
        assert torch.allclose(stage(maps), extract_features(small_model, X), atol=1e-5)
    # a copy: training it leaves the model alone
    before = small_model.backbone._conv_head.weight.clone()
    with torch.no_grad():
        next(stage.parameters()).add_(1.0)
    assert torch.equal(before, small_model.backbone._conv_head.weight)
    small_model.train()
    last_stage_inputs(small_model, X[:1])
    assert small_model.training  # the mode it was in
    small_model.eval()


def test_last_stage_bad_input(small_model):
    with pytest.raises(ValueError, match="unsqueeze"):
        last_stage_inputs(small_model, torch.randn(3, 64, 64))
    with pytest.raises(ValueError, match="batch_size"):
        last_stage_inputs(small_model, torch.randn(1, 3, 64, 64), batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        last_stage_inputs(small_model, torch.randn(0, 3, 64, 64))
    with pytest.raises(ValueError, match="load_efficientnet_lite0"):
        last_stage(nn.Linear(2, 2))
    wrong = nn.Module()
    wrong.backbone = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="EfficientNet-Lite0's"):
        last_stage(wrong)
