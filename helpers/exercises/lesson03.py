"""Exercise checks for lesson 03 · Neural networks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from helpers.checks import dtype_problem, is_missing, missing_result, never_raises, report

__all__ = ["check_mlp_forward", "check_dropout", "check_init_weights"]

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


@never_raises("Exercise 1 (mlp_forward)")
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
            return missing_result(name, fn, got)
        if not isinstance(got, torch.Tensor):
            return report(name, False, f"return the output tensor, got a {type(got).__name__}")
        if tuple(got.shape) != tuple(expected.shape):
            hint = f"{where} the output should have shape {tuple(expected.shape)}, got {tuple(got.shape)}"
            if len(widths) != 3:
                hint += ". Loop over every (W, b) pair in `layers`; do not assume two layers"
            return report(name, False, hint)
        if got.dtype != expected.dtype or got.device != expected.device:
            if got.device != expected.device:
                return report(name, False, f"{where} the output is on {got.device}; keep it on the inputs' device "
                              f"({expected.device})")
            return report(name, False, f"{where}: {dtype_problem(got, expected)}")
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


@never_raises("Exercise 3 (init_weights)")
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
    name = "Exercise 3 (init_weights)"
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


# (shape, p) tried in training mode; p = 0.2 tells "keeps with probability p" apart from 1 - p.
_DROPOUT_CASES = [((200, 500), 0.2), ((4, 50, 250), 0.5), ((100_000,), 0.7)]


def _call_dropout(fn: Any, x: torch.Tensor, p: float, training: bool) -> tuple[Any, str | None]:
    """Return ``(fn(x, p, training), None)``, or ``(None, message)`` when the call raises."""
    try:
        return fn(x, p, training), None
    except Exception as err:  # learner code may fail in any way
        return None, f"dropout(x, p={p}, training={training}) raised {type(err).__name__}: {err}"


@never_raises("Exercise 2 (dropout)")
def check_dropout(fn: Any) -> bool:
    """Check ``fn(x (any shape), p, training) -> tensor (same shape)`` against ``nn.Dropout``'s behaviour.

    In training mode each element must be kept with probability ``1 - p`` (one
    random draw per element, a fresh mask on every call) and the survivors scaled
    by ``1 / (1 - p)``, so that the mean is preserved; in evaluation mode the input
    comes back unchanged. The input must not be modified in place. Forgetting the
    rescale, keeping with probability ``p``, dropping or scaling in eval mode, a
    mask that repeats, one draw per column and in-place changes each get a hint.
    The global random state is left as it was.

    Introduced in lesson 03.
    """
    name = "Exercise 2 (dropout)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"dropout must be a function, got a {type(fn).__name__}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(11)
        return _check_dropout(fn, name)


def _check_dropout(fn: Any, name: str) -> bool:
    x = torch.rand(300, 400) + 0.5  # positive and never zero, so a zero means "dropped"
    p = 0.2
    original = x.clone()
    out, error = _call_dropout(fn, x, p, True)
    if error:
        return report(name, False, error)
    if is_missing(out):
        return missing_result(name, fn, out)
    if not isinstance(out, torch.Tensor):
        return report(name, False, f"return a tensor, got a {type(out).__name__}")
    if not torch.equal(x, original):
        return report(name, False, "your function changed its input in place (x *= mask, x[...] = 0 or a method "
                      "ending in _); build a new tensor such as x * mask / (1 - p), as nn.Dropout does by default")
    if tuple(out.shape) != tuple(x.shape):
        return report(name, False, f"the output should have the input's shape {tuple(x.shape)}, got "
                      f"{tuple(out.shape)}; multiply x element-wise by a mask of the same shape")
    out_eval, error = _call_dropout(fn, x.clone(), p, False)
    if error:
        return report(name, False, error)
    if torch.equal(out.detach(), x):
        if isinstance(out_eval, torch.Tensor) and tuple(out_eval.shape) == tuple(x.shape) and \
                not torch.equal(out_eval.detach(), x):
            return report(name, False, "with training=True nothing was dropped, but with training=False it "
                          "was: the test of `training` is the wrong way round")
        return report(name, None, "not done yet: dropout returned x unchanged in training mode")
    # ---- training mode: which elements survive, and how are they scaled?
    for shape, p in _DROPOUT_CASES:
        x = torch.rand(*shape) + 0.5
        out, error = _call_dropout(fn, x, p, True)
        if error:
            return report(name, False, error)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(x.shape):
            return report(name, False, f"for an input of shape {shape} return a tensor of the same shape")
        out = out.detach()
        kept = out != 0
        kept_frac = kept.float().mean().item()
        where = f"with p = {p}"
        if abs(kept_frac - p) < 0.02 and abs(p - 0.5) > 0.05:
            return report(name, False, f"{where} {kept_frac:.2f} of the elements were kept: each should be kept "
                          f"with probability 1 - p = {1 - p:.1f} (p is the probability of dropping)")
        if abs(kept_frac - (1 - p)) > 0.02:
            return report(name, False, f"{where} {kept_frac:.2f} of the elements were kept, expected about "
                          f"1 - p = {1 - p:.1f}; keep each element when torch.rand_like(x) >= p")
        if len(shape) > 1 and torch.equal(kept, kept[:1].expand_as(kept)):
            return report(name, False, f"{where} the same elements are dropped in every row: draw one random "
                          "number per element with torch.rand_like(x), not one per column")
        ratio = out[kept] / x[kept]
        for factor, hint in [(1.0, "the survivors were not rescaled: divide them by 1 - p so that the mean stays "
                                   "the same (inverted dropout, what nn.Dropout does)"),
                             (1 - p, "the survivors were multiplied by 1 - p; divide by 1 - p instead"),
                             (1 / p, "the survivors were divided by p; divide by the keep probability 1 - p")]:
            if abs(factor - 1 / (1 - p)) > 1e-3 and torch.allclose(ratio, torch.full_like(ratio, factor), rtol=1e-4):
                return report(name, False, f"{where}: {hint}")
        if not torch.allclose(ratio, torch.full_like(ratio, 1 / (1 - p)), rtol=1e-4):
            return report(name, False, f"{where} the kept elements should be x / (1 - p) = x * {1 / (1 - p):.3f}; "
                          f"yours were scaled by {ratio.min().item():.3f} to {ratio.max().item():.3f}")
    # ---- a fresh mask on every call
    x = torch.rand(200, 300) + 0.5
    first, second = fn(x, 0.5, True), fn(x, 0.5, True)
    if torch.equal(first != 0, second != 0):
        return report(name, False, "two calls dropped exactly the same elements: draw a new random mask on every "
                      "call (no torch.manual_seed and no mask saved from an earlier call)")
    # ---- evaluation mode: the identity
    out_eval, error = _call_dropout(fn, x.clone(), 0.5, False)
    if error:
        return report(name, False, error)
    if not isinstance(out_eval, torch.Tensor) or tuple(out_eval.shape) != tuple(x.shape):
        return report(name, False, "with training=False return x itself (a tensor of the same shape)")
    out_eval = out_eval.detach()
    if torch.equal(out_eval, x) or torch.allclose(out_eval, x, rtol=1e-6, atol=0):
        return report(name, True, "keeps 1 - p of the elements at random, scales them by 1 / (1 - p), "
                      "a new mask every call, the identity in eval mode")
    if (out_eval == 0).any():
        return report(name, False, "with training=False elements were still dropped: in evaluation mode "
                      "dropout does nothing, return x")
    for factor in (2.0, 0.5):
        if torch.allclose(out_eval, x * factor, rtol=1e-5):
            return report(name, False, f"with training=False the input was scaled by {factor:g}: in evaluation "
                          "mode return x unchanged; the 1 / (1 - p) in training already keeps the mean right")
    return report(name, False, "with training=False dropout must return x unchanged")
