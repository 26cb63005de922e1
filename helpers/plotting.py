"""Plots the lessons reuse: images, image grids, class probabilities, curves, confusion matrices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

__all__ = [
    "to_display",
    "imshow",
    "show_grid",
    "view_classify",
    "plot_history",
    "show_top_losses",
    "confusion_matrix",
    "plot_confusion_matrix",
]


def _as_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor or NumPy array, got {type(x).__name__}")
    return x.detach().cpu()


def to_display(
    image,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> np.ndarray:
    """Return an image ready for ``plt.imshow``: float array (H, W) or (H, W, 3) clipped to [0, 1].

    ``image`` is a tensor (C, H, W) with C in {1, 3}, or (H, W). Give ``mean`` and
    ``std`` (one value per channel) to undo ``transforms.Normalize``; uint8 images are
    scaled from 0..255.

    Introduced in lesson 05.
    """
    x = _as_tensor(image, "image")
    if x.ndim == 3 and x.shape[0] not in (1, 3):
        raise ValueError(
            f"image must have shape (C, H, W) with C = 1 or 3, or (H, W); got {tuple(x.shape)}. "
            "A (H, W, C) image needs image.permute(2, 0, 1) first."
        )
    if x.ndim not in (2, 3):
        raise ValueError(
            f"image must have shape (C, H, W) or (H, W), got {tuple(x.shape)}; "
            "for a batch (B, C, H, W) pick one image with image[0] or use show_grid"
        )
    if x.numel() == 0:
        raise ValueError(f"image is empty, shape {tuple(x.shape)}")
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    if x.ndim == 2:
        x = x.unsqueeze(0)
    channels = x.shape[0]
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std to un-normalise, or neither")
    if mean is not None:
        mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1)
        if mean_t.numel() not in (1, channels) or std_t.numel() not in (1, channels):
            raise ValueError(
                f"mean and std need 1 or {channels} values for a {channels}-channel image, "
                f"got {mean_t.numel()} and {std_t.numel()}"
            )
        x = x * std_t.reshape(-1, 1, 1) + mean_t.reshape(-1, 1, 1)
    x = x.clamp(0, 1)
    if channels == 1:
        return x[0].numpy()
    return x.permute(1, 2, 0).numpy()


def imshow(image, ax=None, title: str | None = None, mean=None, std=None, cmap: str = "gray"):
    """Show one image (tensor (C, H, W) or (H, W)); return the matplotlib ``Axes``.

    Greyscale images use ``cmap``; ``mean``/``std`` undo normalisation.

    Introduced in lesson 05.
    """
    import matplotlib.pyplot as plt

    array = to_display(image, mean, std)
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    if array.ndim == 2:
        ax.imshow(array, cmap=cmap, vmin=0, vmax=1)
    else:
        ax.imshow(array)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return ax


def show_grid(
    images,
    labels=None,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    mean=None,
    std=None,
    size: float = 1.6,
):
    """Show a batch of images (B, C, H, W) or (B, H, W) in a grid with optional labels; return the figure.

    ``labels`` (B,) are shown as titles, mapped through ``class_names`` when given.

    Introduced in lesson 05.
    """
    import matplotlib.pyplot as plt

    x = _as_tensor(images, "images")
    if x.ndim not in (3, 4):
        raise ValueError(
            f"images must be a batch of shape (B, C, H, W) or (B, H, W), got {tuple(x.shape)}; "
            "for one image use imshow, or add a batch axis with unsqueeze(0)"
        )
    if len(x) == 0:
        raise ValueError("images is an empty batch; nothing to show")
    if labels is not None:
        labels = list(_as_tensor(labels, "labels").reshape(-1).tolist()) if not isinstance(
            labels, list | tuple
        ) else list(labels)
        if len(labels) != len(x):
            raise ValueError(f"got {len(x)} images but {len(labels)} labels; they must match")
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, len(x))
    nrows = (len(x) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.2 * nrows))
    axes = np.atleast_1d(axes).reshape(-1)
    for i, ax in enumerate(axes):
        if i >= len(x):
            ax.set_axis_off()
            continue
        title = None
        if labels is not None:
            label = labels[i]
            title = class_names[int(label)] if class_names is not None else str(label)
        imshow(x[i], ax=ax, title=title, mean=mean, std=std)
    fig.tight_layout()
    return fig


def view_classify(image, probs, class_names: Sequence[str] | None = None, top_k: int | None = None, mean=None, std=None):
    """Show an image next to a horizontal bar chart of its class probabilities; return the figure.

    ``image`` (C, H, W) or (H, W); ``probs`` (K,) or (1, K) probabilities summing to 1.
    ``top_k`` keeps only the most likely classes.

    Introduced in lesson 04.
    """
    import matplotlib.pyplot as plt

    p = _as_tensor(probs, "probs").float()
    if p.ndim == 2 and p.shape[0] == 1:
        p = p[0]
    if p.ndim != 1:
        raise ValueError(
            f"probs must have shape (K,) or (1, K) for one image, got {tuple(p.shape)}"
        )
    if p.numel() == 0:
        raise ValueError("probs is empty")
    if p.min() < -1e-6 or abs(float(p.sum()) - 1) > 1e-3:
        raise ValueError(
            f"probs must be probabilities that sum to 1 (got sum {float(p.sum()):.3f}); "
            "apply torch.softmax(logits, dim=1) to logits first"
        )
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(p))]
    if len(names) != len(p):
        raise ValueError(f"got {len(p)} probabilities but {len(names)} class names")
    order = torch.argsort(p, descending=True)
    if top_k is not None:
        order = order[:top_k]
    order = order.flip(0)  # largest bar on top
    fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(7, 3), gridspec_kw={"width_ratios": [1, 1.4]})
    imshow(image, ax=ax_img, mean=mean, std=std)
    ax_bar.barh([names[i] for i in order.tolist()], p[order].numpy())
    ax_bar.set_xlim(0, 1.05)
    ax_bar.set_xlabel("probability")
    fig.tight_layout()
    return fig


def plot_history(history, keys: Sequence[str] | None = None, title: str | None = None, ax=None):
    """Plot training curves (one line per key, x = epoch with integer ticks); return the ``Axes``.

    ``history`` is a ``helpers.training.History`` or a mapping from names to lists of
    per-epoch numbers, e.g. ``{"train_loss": [...], "val_loss": [...]}``. Curves whose
    name contains "acc" are drawn on a second y axis on the right (labelled "accuracy")
    when losses are plotted too, so that a loss of 2 does not flatten an accuracy of 0.9;
    the returned ``Axes`` is the left (loss) one.

    Introduced in lesson 04.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    data = history.as_dict() if hasattr(history, "as_dict") else history
    if not isinstance(data, Mapping):
        raise ValueError(
            f"history must be a History or a dict of lists, got {type(history).__name__}"
        )
    keys = list(keys) if keys is not None else [k for k, v in data.items() if isinstance(v, list | tuple) and v]
    if not keys:
        raise ValueError("history has no non-empty curves to plot")
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f"history has no curve named {missing}; it has {sorted(data)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    accuracy_keys = [k for k in keys if "acc" in k.lower()]
    split = bool(accuracy_keys) and len(accuracy_keys) < len(keys)
    twin = ax.twinx() if split else None
    colours = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0", "C1", "C2", "C3"])
    for i, key in enumerate(keys):
        values = list(data[key])
        target = twin if split and key in accuracy_keys else ax
        target.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=key,
                    color=colours[i % len(colours)], linestyle="--" if target is twin else "-")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if split:
        ax.set_ylabel("loss")
        twin.set_ylabel("accuracy")
        lines = ax.get_lines() + twin.get_lines()
        ax.legend(lines, [line.get_label() for line in lines])
    else:
        if len(accuracy_keys) == len(keys):
            ax.set_ylabel("accuracy")
        elif all("loss" in k.lower() for k in keys):
            ax.set_ylabel("loss")
        ax.legend()
    if title:
        ax.set_title(title)
    return ax


def show_top_losses(
    images,
    logits,
    targets,
    k: int = 8,
    class_names: Sequence[str] | None = None,
    ncols: int = 4,
    mean=None,
    std=None,
    size: float = 1.9,
):
    """Show the ``k`` examples with the largest cross-entropy loss, worst first; return the figure.

    ``images`` (N, C, H, W) or (N, H, W), ``logits`` (N, K) and integer ``targets`` (N,)
    are the model's inputs, outputs and labels. Each title reads "true / predicted" and
    the example's loss and probability of the predicted class. ``mean``/``std`` undo
    normalisation for display. The figure's ``top_indices`` attribute holds the indices
    shown, worst first.

    Introduced in lesson 04.
    """
    import matplotlib.pyplot as plt

    x = _as_tensor(images, "images")
    z = _as_tensor(logits, "logits").float()
    t = _as_tensor(targets, "targets").reshape(-1) if not isinstance(targets, list | tuple) else torch.tensor(targets)
    if x.ndim not in (3, 4):
        raise ValueError(f"images must be a batch (N, C, H, W) or (N, H, W), got {tuple(x.shape)}")
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (N, K), got {tuple(z.shape)}")
    if t.is_floating_point():
        raise ValueError("targets must hold integer class indices (N,), not floats")
    if not len(x) == len(z) == len(t):
        raise ValueError(f"got {len(x)} images, {len(z)} rows of logits and {len(t)} targets; they must match")
    if len(t) and (t.min() < 0 or t.max() >= z.shape[1]):
        raise ValueError(f"targets must lie in [0, {z.shape[1]}) for logits with {z.shape[1]} classes")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(x):
        raise ValueError(f"k must be an int between 1 and the number of examples {len(x)}, got {k!r}")
    names = list(class_names) if class_names is not None else [str(i) for i in range(z.shape[1])]
    if len(names) != z.shape[1]:
        raise ValueError(f"logits have {z.shape[1]} classes but {len(names)} class names were given")
    losses = torch.nn.functional.cross_entropy(z, t.long(), reduction="none")  # (N,)
    probs = torch.softmax(z, dim=1)
    order = torch.argsort(losses, descending=True, stable=True)[:k]
    ncols = max(1, min(ncols, k))
    nrows = (k + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.45) * nrows))
    axes = np.atleast_1d(axes).reshape(-1)
    for ax, i in zip(axes, order.tolist(), strict=False):
        pred = int(probs[i].argmax())
        imshow(x[i], ax=ax, mean=mean, std=std)
        ax.set_title(f"{names[int(t[i])]} / {names[pred]}\nloss {losses[i]:.1f}, p {probs[i, pred]:.2f}",
                     fontsize=8)
    for ax in axes[k:]:
        ax.set_axis_off()
    fig.suptitle("highest losses (true / predicted)", fontsize=9)
    fig.tight_layout()
    fig.top_indices = order.tolist()
    return fig


def confusion_matrix(y_true, y_pred, num_classes: int) -> torch.Tensor:
    """Return the confusion matrix, int64 (num_classes, num_classes): row = true class, column = predicted.

    Introduced in lesson 04.
    """
    t = _as_tensor(y_true, "y_true").reshape(-1)
    p = _as_tensor(y_pred, "y_pred").reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {len(t)} and {len(p)}")
    if t.is_floating_point() or p.is_floating_point():
        raise ValueError(
            "y_true and y_pred must hold integer class indices; for logits use logits.argmax(dim=1)"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if len(t) and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= num_classes):
        raise ValueError(f"class indices must lie in [0, {num_classes}), got values outside it")
    index = t.long() * num_classes + p.long()
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def plot_confusion_matrix(matrix, class_names: Sequence[str] | None = None, ax=None, title: str | None = None):
    """Draw a confusion matrix (K, K) as a heat map with the counts written in; return the ``Axes``.

    Introduced in lesson 04.
    """
    import matplotlib.pyplot as plt

    m = _as_tensor(matrix, "matrix")
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"matrix must be square (K, K), got {tuple(m.shape)}")
    k = m.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(f"matrix is {k} x {k} but {len(names)} class names were given")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * k + 2, 0.45 * k + 1.6))
    ax.imshow(m.numpy(), cmap="Blues")
    ax.set_xticks(range(k), names, rotation=90 if max(map(len, names)) > 3 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = m.max().item() / 2 if m.numel() else 0
    for i in range(k):
        for j in range(k):
            value = m[i, j].item()
            ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=7,
                    color="white" if value > threshold else "black")
    if title:
        ax.set_title(title)
    return ax
