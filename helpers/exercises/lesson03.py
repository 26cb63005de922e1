"""Exercise checks for lesson 03 · Neural networks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from helpers.checks import is_missing, report

__all__ = ["check_mlp_forward", "check_init_weights"]

# (batch size, layer widths): widths[0] is the input size, widths[-1] the output size.
_MLP_CASES = [(4, [6, 5, 3]), (3, [6, 8, 4, 2]), (5, [3, 2]), (1, [10, 7, 4])]


def _mlp_reference(
    X: torch.Tensor,
    layers: list[tuple[torch.Tensor, torch.Tensor]],
    activation: Callable[[torch.Tensor], torch.Tensor] | None = torch.relu,
    last_activation: bool = False,
    bias: bool = True,
) -> torch.Tensor:
    """Return the output (B, out) of the layers applied to X (B, in); variants model common mistakes."""
    out = X
    for i, (W, b) in enumerate(layers):
        out = out @ W + (b if bias else 0)  # (B, in) @ (in, out) -> (B, out)
        is_last = i == len(layers) - 1
        if activation is not None and (not is_last or last_activation):
            out = activation(out)
    return out


def _make_layers(widths: list[int], gen: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(torch.randn(n_in, n_out, generator=gen), torch.randn(n_out, generator=gen))
            for n_in, n_out in zip(widths[:-1], widths[1:], strict=True)]


def check_mlp_forward(fn: Any) -> bool:
    """Check ``fn(X (B, in), layers [(W (in, out), b (out,)), ...]) -> logits (B, out)`` with ReLU between layers.

    Networks of one, two and three layers are tried; forgetting the biases, the
    ReLU, a ReLU after the last layer, a fixed number of layers or a transposed
    product each get a specific hint.

    Introduced in lesson 03.
    """
    name = "Exercise 1 (mlp_forward)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"mlp_forward must be a function, got a {type(fn).__name__}")
    gen = torch.Generator().manual_seed(3)
    for batch, widths in _MLP_CASES:
        X = torch.randn(batch, widths[0], generator=gen)
        layers = _make_layers(widths, gen)
        expected = _mlp_reference(X, layers)
        shapes = " -> ".join(str(w) for w in widths)
        where = f"for a batch of {batch} and layer sizes {shapes}"
        try:
            got = fn(X.clone(), [(W.clone(), b.clone()) for W, b in layers])
        except Exception as err:  # learner code may fail in any way
            hint = ""
            if "cannot be multiplied" in str(err):
                hint = (". Each W has shape (in, out), so multiply the batch on the left: "
                        "(B, in) @ (in, out) -> (B, out)")
            return report(name, False, f"{where} it raised {type(err).__name__}: {err}{hint}")
        if is_missing(got):
            return report(name, None)
        if not isinstance(got, torch.Tensor):
            return report(name, False, f"return the output tensor, got a {type(got).__name__}")
        if tuple(got.shape) != tuple(expected.shape):
            hint = f"{where} the output should have shape {tuple(expected.shape)}, got {tuple(got.shape)}"
            if len(widths) != 3:
                hint += ". Loop over every (W, b) pair in `layers`; do not assume two layers"
            return report(name, False, hint)
        got = got.detach()
        if torch.allclose(got, expected, atol=1e-5):
            continue
        if torch.allclose(got, torch.relu(expected), atol=1e-5):
            return report(name, False, f"{where}: no ReLU after the last layer. The output is raw scores "
                          "(logits), which may be negative")
        if torch.allclose(got, _mlp_reference(X, layers, activation=None), atol=1e-5):
            return report(name, False, f"{where}: apply torch.relu between layers; without it the stacked "
                          "linear layers collapse into a single linear map")
        if torch.allclose(got, _mlp_reference(X, layers, bias=False), atol=1e-5):
            return report(name, False, f"{where}: add the bias b after each product, X @ W + b")
        if torch.allclose(got, _mlp_reference(X, layers, activation=torch.sigmoid), atol=1e-5):
            return report(name, False, f"{where}: the hidden activation here is ReLU, not sigmoid")
        diff = (got - expected).abs().max().item()
        return report(name, False, f"{where} the values differ by up to {diff:.3g}; compute "
                      "out = relu(out @ W + b) for every layer but the last, and out @ W + b for the last")
    return report(name, True, f"correct on {len(_MLP_CASES)} networks of one to three layers")


def _init_test_model() -> nn.Sequential:
    """Return a small network with three Linear layers of different sizes, a BatchNorm and activations."""
    return nn.Sequential(nn.Linear(300, 200), nn.ReLU(), nn.BatchNorm1d(200), nn.Linear(200, 50), nn.Tanh(),
                         nn.Linear(50, 10))


def _close(value: float, target: float, rel: float = 0.15) -> bool:
    return abs(value - target) <= rel * target


def check_init_weights(fn: Any) -> bool:
    """Check ``fn(module)`` for ``model.apply``: Xavier-uniform weights and zero biases on every ``nn.Linear``.

    The function is applied to a fresh network with three Linear layers of
    different sizes, a BatchNorm and activations. For each Linear it checks zero
    biases, weights inside the Xavier bound ``sqrt(6 / (fan_in + fan_out))`` and a
    standard deviation close to ``bound / sqrt(3)``; other modules must be left
    alone. Kaiming, Xavier-normal and PyTorch's default initialisation are
    recognised and named in the hint.

    Introduced in lesson 03.
    """
    name = "Exercise 2 (init_weights)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"init_weights must be a function, got a {type(fn).__name__}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        model = _init_test_model()
        before = {k: v.clone() for k, v in model.state_dict().items()}
        try:
            model.apply(fn)
        except AttributeError as err:
            return report(name, False, f"model.apply raised AttributeError: {err}. apply visits every module, "
                          "including ReLU and Tanh, which have no weight: test isinstance(module, nn.Linear) first")
        except ValueError as err:
            return report(name, False, f"model.apply raised ValueError: {err}. A BatchNorm's weight is 1-D, so "
                          "Xavier cannot compute its fans: only touch modules where isinstance(module, nn.Linear)")
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"model.apply raised {type(err).__name__}: {err}")
    after = model.state_dict()
    if all(torch.equal(before[k], after[k]) for k in before):
        return report(name, None, "not done yet: the model's weights did not change")
    norm = model[2]
    if not (torch.equal(norm.weight, before["2.weight"]) and torch.equal(norm.bias, before["2.bias"])):
        return report(name, False, "the BatchNorm layer was changed: only initialise modules where "
                      "isinstance(module, nn.Linear)")
    for layer in (m for m in model if isinstance(m, nn.Linear)):
        fan_out, fan_in = layer.weight.shape
        label = f"Linear({fan_in} -> {fan_out})"
        weight, bias = layer.weight.detach(), layer.bias.detach()
        if not (isinstance(layer.weight, nn.Parameter) and layer.weight.requires_grad):
            return report(name, False, f"{label}: the weight is no longer a trainable nn.Parameter; change it in "
                          "place with nn.init.xavier_uniform_(module.weight)")
        if torch.count_nonzero(bias) > 0:
            return report(name, False, f"{label}: the biases should be zero, use nn.init.zeros_(module.bias)")
        bound = math.sqrt(6 / (fan_in + fan_out))
        largest, std = weight.abs().max().item(), weight.std().item()
        if largest > bound * (1 + 1e-5):
            if _close(std, math.sqrt(2 / (fan_in + fan_out))):
                hint = "the values follow a normal distribution (xavier_normal_?); use nn.init.xavier_uniform_"
            elif largest <= math.sqrt(6 / fan_in) * (1 + 1e-5) and _close(std, math.sqrt(2 / fan_in)):
                hint = ("this looks like Kaiming uniform, whose bound sqrt(6 / fan_in) uses fan_in only; "
                        "Xavier uses fan_in + fan_out")
            else:
                hint = "use nn.init.xavier_uniform_ with the default gain=1"
            return report(name, False, f"{label}: weights reach {largest:.4f} but the Xavier-uniform bound is "
                          f"sqrt(6 / ({fan_in} + {fan_out})) = {bound:.4f}; {hint}")
        if not _close(std, bound / math.sqrt(3)):
            if torch.equal(weight, before[f"{list(model).index(layer)}.weight"]):
                hint = "the weights were not changed (this is PyTorch's default init); use nn.init.xavier_uniform_"
            else:
                hint = "fill the whole range uniformly with nn.init.xavier_uniform_(module.weight)"
            return report(name, False, f"{label}: the weights' standard deviation is {std:.4f}, but Xavier uniform "
                          f"gives about {bound / math.sqrt(3):.4f}; {hint}")
    return report(name, True, "every Linear has zero biases and Xavier-uniform weights; other modules untouched")
