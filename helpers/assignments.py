"""Checks for the graded assignments A1–A3, plus the data that A2 is set on.

Every ``check_*`` function runs the learner's answer itself, on inputs it builds
(several shapes, seeds and configurations), prints one line (✓, a specific hint, or
"not done yet") and returns a bool. A check never raises for a wrong or missing
answer and never lets an exception from the learner's code escape (it reports it),
except in strict mode (``COURSE_STRICT_CHECKS=1``), where a failure raises
``helpers.checks.CheckFailed`` after printing. Checks test behaviour, not spelling:
any correct answer passes.

Introduced in assignment A1.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers.checks import is_missing, report, torch_load_calls

__all__ = [
    "check_a1_task1",
    "check_a1_task2",
    "check_a1_task3",
    "check_a1_task4",
    "check_a1_task5",
    "A2_CLASSES",
    "A2_MIN_ACCURACY",
    "A2_MAX_LOSS",
    "a2_data",
    "evaluate_a2",
    "check_a2_preprocess",
    "check_a2",
    "A3_INPUT_NAME",
    "A3_OUTPUT_NAME",
    "A3_MIN_ACCURACY",
    "A3_TRAIN_SIZE",
    "a3_training_data",
    "check_a3_task1",
    "check_a3_task2",
    "check_a3_task3",
]


# --------------------------------------------------------------------------- shared bits
def _err(err: BaseException) -> str:
    """Return ``"TypeError: message"`` with only the first line of the message."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _close(got: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float) -> bool:
    """Return True when two tensors have the same shape and close values (compared in float64)."""
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return False
    g, e = got.detach().double().cpu(), expected.detach().double().cpu()
    return bool(torch.allclose(g, e, atol=atol, rtol=rtol))


def _is_stub_class(cls: Any) -> bool:
    """Return True for a class left as the stub: no ``forward`` of its own."""
    return isinstance(cls, type) and issubclass(cls, nn.Module) and cls.forward is nn.Module.forward


def _model_device(model: nn.Module) -> torch.device:
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


# ===================================================================== A1 · task 1
class _Recorder:
    """Wrap a function of one tensor; remember whether it was ever called on a tensor that requires grad."""

    def __init__(self, f: Callable[[torch.Tensor], torch.Tensor], label: str) -> None:
        self.f, self.label = f, label
        self.saw_graph = False
        self.calls = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if isinstance(x, torch.Tensor) and x.requires_grad:
            self.saw_graph = True
        return self.f(x)

    def __repr__(self) -> str:
        return f"f(x) = {self.label}"


def _t1_cases() -> list[tuple[str, Callable, Callable, Callable, tuple, torch.dtype, bool]]:
    """Return ``(label, f, f', f'', shape, dtype, requires_grad)`` for the second-derivative check.

    The function of the assignment comes first, on three shapes; then functions
    whose second derivative is not a constant (a hard-coded 2 fails them); then one
    with a part that autograd treats as a constant (``x.detach()``), which only an
    answer that really asks autograd gets right.
    """
    return [
        ("x**2 + x", lambda x: x**2 + x, lambda x: 2 * x + 1, lambda x: torch.full_like(x, 2.0), (), torch.float32, False),
        ("x**2 + x", lambda x: x**2 + x, lambda x: 2 * x + 1, lambda x: torch.full_like(x, 2.0), (5,), torch.float32, True),
        ("x**2 + x", lambda x: x**2 + x, lambda x: 2 * x + 1, lambda x: torch.full_like(x, 2.0), (3, 4), torch.float32, False),
        ("x**3", lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x, (2, 3, 4), torch.float32, False),
        ("sin(x)", torch.sin, torch.cos, lambda x: -torch.sin(x), (7,), torch.float32, False),
        ("exp(x)", torch.exp, torch.exp, torch.exp, (4, 4), torch.float32, True),
        ("x**3 - 2*x**2", lambda x: x**3 - 2 * x**2, lambda x: 3 * x**2 - 4 * x, lambda x: 6 * x - 4, (6,), torch.float64, False),
        (
            "x**2 * sin(x)",
            lambda x: x**2 * torch.sin(x),
            lambda x: 2 * x * torch.sin(x) + x**2 * torch.cos(x),
            lambda x: 2 * torch.sin(x) + 4 * x * torch.cos(x) - x**2 * torch.sin(x),
            (3, 5),
            torch.float32,
            False,
        ),
        (
            "x**2 + x + x.detach()**3",
            lambda x: x**2 + x + x.detach() ** 3,
            lambda x: 2 * x + 1,
            lambda x: torch.full_like(x, 2.0),
            (8,),
            torch.float64,
            False,
        ),
    ]


def _t1_exception_hint(err: BaseException) -> str:
    text = str(err)
    if "does not require grad" in text:
        return (
            "autograd found no graph to differentiate. Make x require grad "
            "(x = x.detach().requires_grad_()), and pass create_graph=True to the FIRST "
            "torch.autograd.grad call so that its result can be differentiated again"
        )
    if "only for scalar outputs" in text:
        return (
            "f(x) holds one value per element, and grad needs a single number: "
            "differentiate f(x).sum() (each element only depends on its own x, so this "
            "gives every element's derivative at once)"
        )
    if "backward through the graph a second time" in text:
        return "the graph was freed by the first backward: use create_graph=True on the first derivative"
    return ""


def check_a1_task1(second_derivative: Any) -> bool:
    """Check ``second_derivative(f, x) -> f''(x)`` (same shape and dtype as ``x``), computed with autograd.

    Runs it on several functions (``x**2 + x`` first, then ``x**3``, ``sin``, ``exp``,
    ...), shapes from a 0-d tensor to 3-D, float32 and float64, inputs with and
    without ``requires_grad``. A hard-coded constant fails on the other functions;
    an answer that never lets autograd see ``f`` (finite differences) is rejected.

    Introduced in assignment A1.
    """
    name = "Task 1 (second_derivative)"
    if is_missing(second_derivative):
        return report(name, None)
    if not callable(second_derivative):
        return report(name, False, f"second_derivative must be a function, got a {type(second_derivative).__name__}")
    gen = torch.Generator().manual_seed(11)
    cases = _t1_cases()
    for label, f, d1, d2, shape, dtype, needs_grad in cases:
        x = (torch.rand(shape, generator=gen, dtype=torch.float64) * 4 - 2).to(dtype)  # values in [-2, 2)
        x_in = x.clone().requires_grad_(needs_grad)
        recorder = _Recorder(f, label)
        where = f"for f(x) = {label} and x of shape {tuple(shape)} ({str(dtype).replace('torch.', '')})"
        try:
            got = second_derivative(recorder, x_in)
        except Exception as err:  # the learner's code may fail in any way
            hint = _t1_exception_hint(err)
            return report(name, False, f"{where} it raised {_err(err)}" + (f". Hint: {hint}" if hint else ""))
        if is_missing(got):
            return report(name, None)
        expected = d2(x)
        if isinstance(got, int | float) and not isinstance(got, bool):
            if label != "x**2 + x" or math.isclose(float(got), 2.0):
                return report(name, False, f"{where} it returned the number {got!r}: the constant is hard-coded. "
                              "Compute the second derivative of the f you are given with autograd "
                              "and return a tensor shaped like x")
            return report(name, False, f"{where} it returned the number {got!r}; return a tensor shaped like x")
        if not isinstance(got, torch.Tensor):
            return report(name, False, f"{where} it returned a {type(got).__name__}; return a tensor shaped like x")
        if tuple(got.shape) != tuple(shape):
            hint = f"{where} the result has shape {tuple(got.shape)} but should have x's shape {tuple(shape)}"
            if got.numel() == 1 and x.numel() > 1:
                hint += (": you returned one number for all the points (a sum?). Differentiate f(x).sum() "
                         "with respect to x: that gives one derivative per element")
            return report(name, False, hint)
        if got.dtype != dtype:
            return report(name, False, f"{where} the result has dtype {got.dtype} but should keep x's dtype {dtype}")
        tol = 1e-4 if dtype == torch.float32 else 1e-9
        if recorder.calls == 0:
            return report(name, False, f"{where} your function never called f, so its answer is hard-coded. "
                          "Compute the second derivative of the f you are given, with autograd")
        if _close(got, expected, tol, tol):
            if not recorder.saw_graph:
                return report(name, False, f"{where} the values are right but f was never evaluated on a tensor "
                              "that requires grad, so autograd was not used. Let autograd do the work: "
                              "x.requires_grad_(), then torch.autograd.grad twice")
            continue
        if label != "x**2 + x" and _close(got, torch.full_like(x, 2.0), 1e-4, 1e-4):
            return report(name, False, f"{where} it returned 2 everywhere, the second derivative of x**2 + x: "
                          "the answer is hard-coded. Differentiate the f you are given")
        if _close(got, d1(x), tol, tol):
            return report(name, False, f"{where} you returned the FIRST derivative: differentiate it once more "
                          "(create_graph=True on the first torch.autograd.grad call makes that possible)")
        if _close(got, d1(x) + expected, tol, tol):
            return report(name, False, f"{where} you returned f' + f'': x.grad accumulates across backward() calls. "
                          "Use torch.autograd.grad (it returns the gradient instead of adding it to .grad)")
        if not recorder.saw_graph:
            return report(name, False, f"{where} the values are off and f was never evaluated on a tensor that "
                          "requires grad: finite differences are not accurate enough. Use autograd")
        diff = (got.detach().double() - expected.double()).abs().max().item()
        return report(name, False, f"{where} the values are wrong (largest difference {diff:.3g})")
    return report(name, True, f"correct on {len(cases)} functions and shapes, float32 and float64")


# ===================================================================== A1 · task 2
_T2_CONFIGS = [
    # (in_channels, out_channels, kernel_size, stride, padding, batch_norm or None = default, keywords)
    (3, 8, 3, 1, 1, None, False),
    (3, 8, 3, 1, 1, True, False),
    (1, 4, 5, 2, 2, True, True),
    (2, 6, 3, 2, 0, False, True),
    (4, 5, 1, 1, 0, True, False),
    (2, 3, 4, 3, 1, True, False),
]


def _t2_describe(cfg: tuple) -> str:
    c_in, c_out, k, s, p, bn, _ = cfg
    text = f"ConvWithBatchNorm({c_in}, {c_out}, kernel_size={k}, stride={s}, padding={p}"
    return text + (")" if bn is None else f", batch_norm={bn})")


def _t2_build(cls: Any, cfg: tuple) -> nn.Module:
    c_in, c_out, k, s, p, bn, keywords = cfg
    if keywords:
        return cls(in_channels=c_in, out_channels=c_out, kernel_size=k, stride=s, padding=p, batch_norm=bn)
    return cls(c_in, c_out, k, s, p) if bn is None else cls(c_in, c_out, k, s, p, batch_norm=bn)


def _conv_out(size: int, k: int, s: int, p: int) -> int:
    return (size + 2 * p - k) // s + 1


def _t2_conv_params(module: nn.Module, cfg: tuple, bn_ids: set[int]) -> tuple[Any, Any, str]:
    """Return ``(weight, bias or None, problem)`` of the module's convolution."""
    c_in, c_out, k = cfg[:3]
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if len(convs) > 1:
        return None, None, f"it holds {len(convs)} nn.Conv2d layers; it needs exactly one"
    if convs:
        conv = convs[0]
        if tuple(conv.weight.shape) != (c_out, c_in, k, k):
            return None, None, (f"its nn.Conv2d weight has shape {tuple(conv.weight.shape)} but should be "
                                f"(out_channels, in_channels, k, k) = {(c_out, c_in, k, k)}: pass in_channels, "
                                "out_channels and kernel_size to nn.Conv2d in that order")
        if tuple(conv.stride) != (cfg[3],) * 2 or tuple(conv.padding) != (cfg[4],) * 2 or tuple(conv.dilation) != (1, 1) or conv.groups != 1:
            return None, None, (f"its nn.Conv2d has stride={conv.stride[0]}, padding={conv.padding[0]}; "
                                f"pass stride={cfg[3]} and padding={cfg[4]} through to nn.Conv2d")
        return conv.weight, conv.bias, ""
    weights = [p for p in module.parameters() if tuple(p.shape) == (c_out, c_in, k, k)]
    if len(weights) != 1:
        return None, None, ("no convolution weight of shape (out_channels, in_channels, k, k) = "
                            f"{(c_out, c_in, k, k)} is registered: create an nn.Conv2d in __init__ and keep it "
                            "as an attribute (self.conv = ...)")
    biases = [p for p in module.parameters() if id(p) not in bn_ids and tuple(p.shape) == (c_out,)]
    return weights[0], (biases[0] if len(biases) == 1 else None), ""


def _t2_one(cls: Any, cfg: tuple, gen: torch.Generator) -> tuple[bool | None, str]:
    """Check one configuration; return ``(ok, problem)`` (ok None = not done)."""
    c_in, c_out, k, s, p, bn_flag, _ = cfg
    wants_bn = bool(bn_flag)
    described = _t2_describe(cfg)
    try:
        module = _t2_build(cls, cfg)
    except TypeError as err:
        if "__init__" not in vars(cls):
            return None, ""
        return False, (f"{described} raised {_err(err)}. The signature must be (in_channels, out_channels, "
                       "kernel_size, stride, padding, batch_norm=False)")
    except Exception as err:  # the learner's code may fail in any way
        return False, f"{described} raised {_err(err)}"
    if not isinstance(module, nn.Module):
        return False, f"ConvWithBatchNorm must be an nn.Module subclass, got {type(module).__name__}"
    H, W = 9, 11
    x = torch.randn(4, c_in, H, W, generator=gen)
    # 1. it runs and returns something
    module.train()
    try:
        first = module(x.clone())
    except Exception as err:  # the learner's code may fail in any way
        text = str(err)
        if "running_mean should contain" in text or "expected 4D input" in text or "expected 2D or 3D input" in text:
            return False, (f"{described}: batch norm failed ({_err(err)}). Use nn.BatchNorm2d(out_channels): "
                           "it normalises each of the out_channels maps of a (B, C, H, W) batch")
        if not list(module.parameters()):
            return False, (f"{described}: forward raised {_err(err)} and no parameters are registered: create the "
                           "layers in __init__ and assign them to attributes of self")
        return False, f"{described}: forward raised {_err(err)}"
    if is_missing(first):
        return None, ""
    # 2. registered parameters and batch norm present exactly when asked
    params = list(module.parameters())
    if not params:
        return False, (f"{described} has no registered parameters, so an optimizer would never train it: create "
                       "the layers in __init__ and assign them to attributes of self (self.conv = nn.Conv2d(...)); "
                       "a layer kept in a plain list or built inside forward is invisible to PyTorch")
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    bns = [m for m in norms if isinstance(m, nn.BatchNorm2d)]
    if wants_bn and not norms:
        return False, (f"{described} has no batch-norm layer registered: with batch_norm=True create "
                       "nn.BatchNorm2d(out_channels) in __init__ and apply it after the convolution")
    if wants_bn and not bns:
        return False, (f"{described} uses {type(norms[0]).__name__}; images (B, C, H, W) need nn.BatchNorm2d")
    if not wants_bn and norms:
        default = " (the default when batch_norm is not given)" if bn_flag is None else ""
        return False, (f"{described} has a batch-norm layer although batch_norm=False{default}: create it only "
                       "when batch_norm is True")
    if len(norms) > 1:
        return False, f"{described} has {len(norms)} batch-norm layers; it needs exactly one"
    bn = bns[0] if bns else None
    if bn is not None and bn.num_features != c_out:
        return False, f"{described}: BatchNorm2d has num_features={bn.num_features}, it must be out_channels = {c_out}"
    if bn is not None and (bn.running_mean is None or not bn.affine):
        return False, (f"{described}: keep the BatchNorm2d defaults (affine=True, track_running_stats=True) so it "
                       "learns a scale and shift and keeps running statistics for eval mode")
    bn_ids = {id(q) for q in bn.parameters()} if bn is not None else set()
    weight, bias, problem = _t2_conv_params(module, cfg, bn_ids)
    if problem:
        return False, f"{described}: {problem}"
    expected_count = weight.numel() + (bias.numel() if bias is not None else 0) + (2 * c_out if bn is not None else 0)
    count = sum(q.numel() for q in params)
    if count != expected_count:
        return False, (f"{described} has {count} parameters but a convolution{' + batch norm' if bn else ''} of this "
                       f"size has {expected_count}: remove the extra layers (no activation, no second layer)")
    # 3. output shape
    shape = (4, c_out, _conv_out(H, k, s, p), _conv_out(W, k, s, p))
    if not isinstance(first, torch.Tensor):
        return False, f"{described}: forward returned a {type(first).__name__}, expected a tensor"
    if tuple(first.shape) != shape:
        hint = f"{described}: for input (4, {c_in}, {H}, {W}) the output should be {shape}, got {tuple(first.shape)}"
        if tuple(first.shape[2:]) == (_conv_out(H, k, 1, p), _conv_out(W, k, 1, p)):
            hint += ": the stride was ignored"
        elif tuple(first.shape[2:]) == (_conv_out(H, k, s, 0), _conv_out(W, k, s, 0)):
            hint += ": the padding was ignored"
        return False, hint
    # 4. values in train mode: conv (+ batch norm with batch statistics), same weights as the learner's
    with torch.no_grad():
        if bn is not None:  # random affine parameters, so that an unused scale/shift shows
            bn.weight.copy_(torch.rand(c_out, generator=gen) + 0.5)
            bn.bias.copy_(torch.randn(c_out, generator=gen))
        conv_out = F.conv2d(x, weight, bias, stride=s, padding=p)
    if bn is not None:
        mean_before, var_before = bn.running_mean.clone(), bn.running_var.clone()
    try:
        out_train = module(x.clone())
    except Exception as err:  # the learner's code may fail in any way
        return False, f"{described}: forward raised {_err(err)}"
    with torch.no_grad():
        if bn is not None:
            ref_train = F.batch_norm(conv_out, None, None, bn.weight, bn.bias, training=True, eps=bn.eps)
        else:
            ref_train = conv_out
    if not _close(out_train, ref_train, 1e-4, 1e-4):
        if bn is not None and _close(out_train, conv_out, 1e-4, 1e-4):
            return False, f"{described}: the output is the plain convolution: apply the batch-norm layer in forward"
        if _close(out_train, torch.relu(ref_train), 1e-4, 1e-4):
            return False, f"{described}: remove the activation; the module is only the convolution (+ batch norm)"
        return False, (f"{described}: the output differs from a convolution{' followed by batch norm' if bn else ''} "
                       "with your module's own weights")
    # 5. batch norm: running statistics updated in train mode, used (and left alone) in eval mode
    if bn is not None:
        if torch.equal(bn.running_mean, mean_before) and torch.equal(bn.running_var, var_before):
            return False, (f"{described}: a forward pass in train mode did not update the running statistics: "
                           "call the registered BatchNorm2d module in forward (not F.batch_norm with fixed buffers)")
        mean_now, var_now = bn.running_mean.clone(), bn.running_var.clone()
        module.eval()
        x2 = torch.randn(3, c_in, H, W, generator=gen) * 2 + 1
        try:
            out_eval = module(x2.clone())
        except Exception as err:  # the learner's code may fail in any way
            return False, f"{described}: forward in eval mode raised {_err(err)}"
        with torch.no_grad():
            conv2 = F.conv2d(x2, weight, bias, stride=s, padding=p)
            ref_eval = F.batch_norm(conv2, mean_now, var_now, bn.weight, bn.bias, training=False, eps=bn.eps)
            batch_stats = F.batch_norm(conv2, None, None, bn.weight, bn.bias, training=True, eps=bn.eps)
        if not _close(out_eval, ref_eval, 1e-4, 1e-4):
            if _close(out_eval, batch_stats, 1e-4, 1e-4):
                return False, (f"{described}: in eval mode batch norm must use its running statistics, but yours "
                               "normalised with the batch's own statistics (training=True?)")
            return False, f"{described}: in eval mode the output differs from conv followed by batch norm with running statistics"
        if not (torch.equal(bn.running_mean, mean_now) and torch.equal(bn.running_var, var_now)):
            return False, f"{described}: a forward pass in eval mode changed the running statistics; it must not"
    else:
        module.eval()
        try:
            out_eval = module(x.clone())
        except Exception as err:  # the learner's code may fail in any way
            return False, f"{described}: forward in eval mode raised {_err(err)}"
        if not _close(out_eval, ref_train, 1e-4, 1e-4):
            return False, f"{described}: without batch norm, eval mode must give the same output as train mode"
    # 6. gradients reach the convolution weight
    module.train()
    try:
        module(x.clone()).sum().backward()
    except Exception as err:  # the learner's code may fail in any way
        return False, f"{described}: backward through your module raised {_err(err)}"
    if weight.grad is None:
        return False, f"{described}: no gradient reached the convolution weight; use the registered layer in forward"
    return True, ""


def check_a1_task2(ConvWithBatchNorm: Any) -> bool:  # noqa: N803 - the learner's class is passed in
    """Check the class ``ConvWithBatchNorm(in_channels, out_channels, kernel_size, stride, padding, batch_norm=False)``.

    For several configurations (keyword and positional calls, with and without batch
    norm): the output shape, registered parameters (and their number), an
    ``nn.BatchNorm2d(out_channels)`` present exactly when asked, the output equal to
    ``F.conv2d`` (+ ``F.batch_norm``) with the module's own weights, running
    statistics updated in train mode and used in eval mode, gradients flowing.

    Introduced in assignment A1.
    """
    name = "Task 2 (ConvWithBatchNorm)"
    if is_missing(ConvWithBatchNorm) or _is_stub_class(ConvWithBatchNorm):
        return report(name, None)
    if not isinstance(ConvWithBatchNorm, type) or not issubclass(ConvWithBatchNorm, nn.Module):
        return report(name, False, f"ConvWithBatchNorm must be a class derived from nn.Module, got {ConvWithBatchNorm!r}")
    gen = torch.Generator().manual_seed(22)
    with torch.random.fork_rng():
        torch.manual_seed(22)
        for cfg in _T2_CONFIGS:
            ok, problem = _t2_one(ConvWithBatchNorm, cfg, gen)
            if ok is None:
                return report(name, None)
            if not ok:
                return report(name, False, problem)
    return report(name, True, f"correct on {len(_T2_CONFIGS)} configurations, in train and eval mode")


# ===================================================================== A1 · task 3
_T3_CASES = [(128, 64, -0.5, 0.5), (50, 80, 2.0, 3.0), (200, 30, -3.0, -1.0), (40, 60, -0.05, 0.05)]
_KS_C = 2.23  # Kolmogorov–Smirnov critical value * sqrt(n) at a 0.0001 level


def _ks_uniform(values: torch.Tensor, a: float, b: float) -> float:
    """Return the Kolmogorov–Smirnov distance between the sample ``values`` and U(a, b)."""
    u = ((values.detach().double().flatten() - a) / (b - a)).clamp(0, 1).sort().values
    n = u.numel()
    i = torch.arange(1, n + 1, dtype=torch.float64)
    return max((i / n - u).max().item(), (u - (i - 1) / n).max().item())


def _t3_call(fn: Callable, case: tuple, seed: int) -> Any:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return fn(*case)


def check_a1_task3(uniform_linear: Any) -> bool:
    """Check ``uniform_linear(in_features, out_features, a, b) -> nn.Linear`` with weights drawn from U(a, b).

    For several sizes and ranges (including ranges that exclude 0 and [0, 1)): every
    weight in [a, b], the sample plausibly uniform (Kolmogorov–Smirnov test at the
    0.0001 level, so a correct answer fails about once in 10,000 seeds), not constant,
    not a fixed pattern, different for different seeds, registered as a parameter of
    shape (out, in), and the layer still maps (B, in) to (B, out).

    Introduced in assignment A1.
    """
    name = "Task 3 (uniform_linear)"
    if is_missing(uniform_linear):
        return report(name, None)
    if not callable(uniform_linear):
        return report(name, False, f"uniform_linear must be a function, got a {type(uniform_linear).__name__}")
    for case in _T3_CASES:
        n_in, n_out, a, b = case
        where = f"uniform_linear({n_in}, {n_out}, a={a}, b={b})"
        try:
            layer = _t3_call(uniform_linear, case, seed=3)
        except Exception as err:  # the learner's code may fail in any way
            text = str(err)
            if "leaf Variable that requires grad" in text:
                hint = ("an in-place change of a parameter must happen under torch.no_grad() "
                        "(nn.init.uniform_ does that for you)")
            elif "cannot assign" in text:
                hint = "a layer's weight must stay an nn.Parameter: fill it in place, or wrap the new tensor in nn.Parameter"
            else:
                hint = ""
            return report(name, False, f"{where} raised {_err(err)}" + (f". Hint: {hint}" if hint else ""))
        if is_missing(layer):
            return report(name, None)
        if not isinstance(layer, nn.Module) or not isinstance(getattr(layer, "weight", None), torch.Tensor):
            return report(name, False, f"{where} returned a {type(layer).__name__}; return the layer (an nn.Linear)")
        weight = layer.weight
        if not any(weight is q for q in layer.parameters()):
            return report(name, False, f"{where}: the weight is not a registered parameter (wrap it in nn.Parameter "
                          "or fill the existing one in place), so an optimizer would never update it")
        if tuple(weight.shape) != (n_out, n_in):
            hint = f"{where}: the weight has shape {tuple(weight.shape)} but should be (out_features, in_features) = {(n_out, n_in)}"
            if tuple(weight.shape) == (n_in, n_out):
                hint += ": nn.Linear stores its weight transposed"
            return report(name, False, hint)
        w = weight.detach().double()
        if not torch.isfinite(w).all():
            return report(name, False, f"{where}: some weights are not finite (nan or inf); was the tensor filled at all?")
        lo, hi = w.min().item(), w.max().item()
        default_bound = 1 / math.sqrt(n_in)  # nn.Linear's own init is U(-1/sqrt(in), 1/sqrt(in))
        if lo >= -default_bound - 1e-6 and hi <= default_bound + 1e-6 and (
            _ks_uniform(w, -default_bound, default_bound) <= _KS_C / math.sqrt(w.numel())
        ):
            return report(name, False, f"{where}: these are nn.Linear's default weights, U(-1/sqrt(in_features), "
                          "1/sqrt(in_features)); re-initialise them from U(a, b), e.g. nn.init.uniform_(layer.weight, a, b)")
        if lo < a - 1e-6 or hi > b + 1e-6:
            hint = f"{where}: weights range over [{lo:.3g}, {hi:.3g}], not [{a}, {b}]"
            if lo >= 0 and hi <= 1:
                hint += ": that is the default range [0, 1); pass a and b (nn.init.uniform_(w, a, b))"
            elif abs(w.mean().item() - (a + b) / 2) > (b - a) / 4 and math.isclose(hi - lo, b - a, rel_tol=0.05):
                hint += ": the width is right but the shift is wrong; map u in [0, 1) to a + (b - a) * u"
            elif abs(w.mean().item() - (a + b) / 2) <= (b - a) / 4:
                hint += (": centred right but spilling over the edges, like a normal (bell-shaped) init, which has "
                         "no hard limits; draw from the uniform distribution U(a, b)")
            return report(name, False, hint)
        if w.std().item() < 1e-9:
            return report(name, False, f"{where}: every weight equals {lo:.3g}, a constant init; draw each weight "
                          "independently from U(a, b)")
        distance = _ks_uniform(w, a, b)
        limit = _KS_C / math.sqrt(w.numel())
        if distance > limit:
            spread = w.std().item() / ((b - a) / math.sqrt(12))
            shape_hint = ("the values bunch up in the middle, like a normal init" if spread < 0.9
                          else "the values are not spread evenly over [a, b]")
            return report(name, False, f"{where}: the weights lie in [a, b] but are not plausibly uniform "
                          f"(Kolmogorov–Smirnov distance {distance:.3f}, a uniform sample of {w.numel()} values stays "
                          f"below {limit:.3f}): {shape_hint}")
        flat = w.flatten()
        corr = torch.corrcoef(torch.stack([flat[:-1], flat[1:]]))[0, 1].item()
        if abs(corr) > 0.2:
            return report(name, False, f"{where}: neighbouring weights are strongly correlated ({corr:.2f}), a fixed "
                          "pattern such as linspace, not random draws")
        try:
            other = _t3_call(uniform_linear, case, seed=4)
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"{where} raised {_err(err)} on a second call")
        if isinstance(getattr(other, "weight", None), torch.Tensor) and torch.equal(other.weight.detach().double(), w):
            return report(name, False, f"{where}: two calls with different torch seeds gave the same weights; they "
                          "must be random draws (use torch's random generator, not a fixed seed inside the function)")
        try:
            with torch.no_grad():
                out = layer(torch.randn(5, n_in))
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"{where}: calling the layer on a batch (5, {n_in}) raised {_err(err)}")
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (5, n_out):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            return report(name, False, f"{where}: the layer should map (5, {n_in}) to (5, {n_out}), got {got}")
    return report(name, True, f"correct: in range and uniform (KS test) for {len(_T3_CASES)} sizes and ranges")


# ===================================================================== A1 · task 4
def _t4_logit_cases() -> list[tuple[torch.Tensor, torch.Tensor, str]]:
    gen = torch.Generator().manual_seed(44)
    cases = []
    for batch, scale in [(8, 2.0), (1, 2.0), (32, 3.0), (16, 60.0)]:
        logits = torch.randn(batch, 3, generator=gen) * scale
        labels = torch.randint(0, 3, (batch,), generator=gen)
        cases.append((logits, labels, f"logits of shape ({batch}, 3)" + (" with large values" if scale > 10 else "")))
    return cases


def _t4_prob_cases() -> list[tuple[torch.Tensor, torch.Tensor, str]]:
    gen = torch.Generator().manual_seed(45)
    cases = []
    for batch in [10, 1, 64]:
        probs = torch.sigmoid(torch.randn(batch, generator=gen) * 2.5)
        labels = torch.randint(0, 2, (batch,), generator=gen)
        cases.append((probs, labels, f"probabilities of shape ({batch},)"))
    return cases


def _t4_scalar_problem(got: Any, where: str, batch: int) -> str:
    if not isinstance(got, torch.Tensor):
        kind = type(got).__name__
        return f"{where} it returned a {kind}; return the loss as a tensor (no .item()), so that backward() works"
    if got.ndim != 0:
        hint = f"{where} the loss has shape {tuple(got.shape)}; it must be a single number (a 0-d tensor)"
        if got.numel() == batch:
            hint += ": average the per-example losses with .mean()"
        return hint
    if not got.is_floating_point():
        return f"{where} the loss has dtype {got.dtype}; it must be a float tensor"
    return ""


def _t4_same(got: torch.Tensor, value: torch.Tensor) -> bool:
    return bool(torch.isfinite(value)) and _close(got.reshape(()), value.reshape(()), 1e-5, 1e-4)


def _check_ce_logits(fn: Any) -> bool:
    name = "Task 4a (cross_entropy_from_logits)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"cross_entropy_from_logits must be a function, got a {type(fn).__name__}")
    for logits, labels, text in _t4_logit_cases():
        where = f"for {text}"
        x = logits.clone().requires_grad_(True)
        try:
            got = fn(x, labels.clone())
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"{where} it raised {_err(err)}")
        if is_missing(got):
            return report(name, None)
        problem = _t4_scalar_problem(got, where, len(labels))
        if problem:
            return report(name, False, problem)
        expected = F.cross_entropy(logits, labels)
        if not _t4_same(got, expected):
            if not torch.isfinite(got.detach()).all():
                return report(name, False, f"{where} the loss is {got.item()}: softmax followed by log overflows for "
                              "large logits. Use torch.log_softmax (it subtracts the maximum first)")
            if _t4_same(got, F.cross_entropy(torch.softmax(logits, dim=1), labels)):
                return report(name, False, f"{where} softmax was applied twice: F.cross_entropy expects raw logits "
                              "and applies log_softmax itself")
            if _t4_same(got, F.nll_loss(logits, labels)):
                return report(name, False, f"{where} nll_loss needs log-probabilities: apply log_softmax to the logits first")
            if _t4_same(got, F.cross_entropy(logits, labels, reduction="sum")):
                return report(name, False, f"{where} that is the sum over the batch; take the mean")
            if _t4_same(got, -expected):
                return report(name, False, f"{where} the sign is wrong: the loss is MINUS the mean log-probability of the true class")
            return report(name, False, f"{where} got {got.item():.5f}, expected {expected.item():.5f}")
        if not got.requires_grad:
            return report(name, False, f"{where} the value is right but the loss is detached from the logits (no "
                          "gradient can flow): compute it with torch operations on the logits")
        got.backward()
        expected_grad = (torch.softmax(logits, dim=1) - F.one_hot(labels, 3)) / len(labels)
        if x.grad is None or not _close(x.grad, expected_grad, 1e-5, 1e-4):
            return report(name, False, f"{where} the value is right but its gradient is not: did you mix in a "
                          "constant computed from the logits?")
    return report(name, True, "equal to F.cross_entropy, with the right gradient, also for large logits")


def _check_bce_probs(fn: Any) -> bool:
    name = "Task 4b (binary_cross_entropy_from_probs)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"binary_cross_entropy_from_probs must be a function, got a {type(fn).__name__}")
    for probs, labels, text in _t4_prob_cases():
        where = f"for {text}"
        p = probs.clone().requires_grad_(True)
        try:
            got = fn(p, labels.clone())
        except Exception as err:  # the learner's code may fail in any way
            hint = ""
            if "expected Float" in str(err) or "Long" in str(err):
                hint = ". Hint: the labels are int64 class indices; binary_cross_entropy needs float targets (labels.float())"
            return report(name, False, f"{where} it raised {_err(err)}{hint}")
        if is_missing(got):
            return report(name, None)
        problem = _t4_scalar_problem(got, where, len(labels))
        if problem:
            return report(name, False, problem)
        y = labels.float()
        expected = F.binary_cross_entropy(probs, y)
        if not _t4_same(got, expected):
            two_columns = torch.stack([1 - probs, probs], dim=1)  # (B, 2)
            if _t4_same(got, F.binary_cross_entropy_with_logits(probs, y)) or _t4_same(
                got, F.cross_entropy(two_columns, labels)
            ):
                return report(name, False, f"{where} probabilities passed as logits: that loss applies a "
                              "sigmoid/softmax itself, which is wrong for numbers that are already probabilities. "
                              "Use F.binary_cross_entropy(probs, labels.float()) or nll_loss on their logs")
            if _t4_same(got, F.binary_cross_entropy(1 - probs, y)):
                return report(name, False, f"{where} the classes are swapped: probs is the probability of class 1")
            if _t4_same(got, -(y * torch.log(probs)).mean()):
                return report(name, False, f"{where} the (1 - y) * log(1 - p) term for the negative examples is missing")
            if _t4_same(got, F.binary_cross_entropy(probs, y, reduction="sum")):
                return report(name, False, f"{where} that is the sum over the batch; take the mean")
            if _t4_same(got, -expected):
                return report(name, False, f"{where} the sign is wrong: the loss is minus the mean log-likelihood")
            return report(name, False, f"{where} got {got.item():.5f}, expected {expected.item():.5f}")
        if not got.requires_grad:
            return report(name, False, f"{where} the value is right but the loss is detached from probs: keep it a "
                          "tensor computed from probs so that backward() works")
    return report(name, True, "equal to binary cross-entropy on the probabilities")


def check_a1_task4(cross_entropy_from_logits: Any, binary_cross_entropy_from_probs: Any) -> bool:
    """Check both parts of the cross-entropy task; return True only when both pass.

    (a) ``cross_entropy_from_logits(logits (B, 3), labels int64 (B,)) -> 0-d tensor``:
    equal to ``F.cross_entropy`` (value and gradient) on several batches, including
    large logits. (b) ``binary_cross_entropy_from_probs(probs (B,), labels int64 (B,))``:
    equal to binary cross-entropy on the probabilities; treating them as logits is
    caught by name.

    Introduced in assignment A1.
    """
    first = _check_ce_logits(cross_entropy_from_logits)
    second = _check_bce_probs(binary_cross_entropy_from_probs)
    return first and second


# ===================================================================== A1 · task 5
_T5_SIZES = [[4, 8, 3], [10, 16, 16, 2], [5, 1], [6, 12, 9, 7, 4]]


def _t5_reference(linears: list[nn.Module], x: torch.Tensor, relu_last: bool = False, relu: bool = True) -> torch.Tensor:
    h = x
    for i, layer in enumerate(linears):
        h = layer(h)
        if relu and (i < len(linears) - 1 or relu_last):
            h = torch.relu(h)
    return h


def _t5_one(cls: Any, sizes: list[int], gen: torch.Generator) -> tuple[bool | None, str]:
    where = f"StackedMLP({sizes})"
    try:
        model = cls(list(sizes))
    except Exception as err:  # the learner's code may fail in any way
        if isinstance(err, TypeError) and "__init__" not in vars(cls):
            return None, ""
        return False, f"{where} raised {_err(err)}"
    x = torch.randn(7, sizes[0], generator=gen)
    try:
        out = model(x.clone())
    except Exception as err:  # the learner's code may fail in any way
        return False, f"{where}: forward raised {_err(err)}"
    if is_missing(out):
        return None, ""
    n_layers = len(sizes) - 1
    expected_count = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    count = sum(p.numel() for p in model.parameters())
    if count == 0:
        return False, (f"{where}: model.parameters() is empty, so an optimizer would train nothing. Layers kept in a "
                       "plain Python list are invisible to PyTorch: wrap the list in nn.ModuleList")
    if count != expected_count:
        return False, (f"{where} registers {count} parameters but its layers hold {expected_count}: every layer must "
                       "be registered (nn.ModuleList), and nothing else")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    shapes = [tuple(m.weight.shape) for m in linears]
    wanted = [(b, a) for a, b in zip(sizes[:-1], sizes[1:], strict=False)]
    if shapes != wanted:
        return False, (f"{where}: the registered linear layers have weight shapes {shapes}, expected {wanted} "
                       "(one nn.Linear(sizes[i], sizes[i + 1]) per consecutive pair, in order)")
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (7, sizes[-1]):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return False, f"{where}: forward on (7, {sizes[0]}) should return (7, {sizes[-1]}), got {got}"
    with torch.no_grad():
        expected = _t5_reference(linears, x)
        if not _close(out, expected, 1e-5, 1e-4):
            if n_layers > 1 and _close(out, _t5_reference(linears, x, relu=False), 1e-5, 1e-4):
                return False, f"{where}: apply ReLU between the layers (after every layer but the last)"
            if _close(out, _t5_reference(linears, x, relu_last=True), 1e-5, 1e-4):
                return False, f"{where}: no ReLU after the last layer: its outputs are logits and may be negative"
            return False, (f"{where}: forward differs from Linear → ReLU → ... → Linear through the registered layers "
                           "(does forward use the layers that are registered?)")
    # an optimizer step must change every layer
    before = [m.weight.detach().clone() for m in linears]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    target = torch.randn(7, sizes[-1], generator=gen)
    try:
        loss = F.mse_loss(model(x.clone()), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    except Exception as err:  # the learner's code may fail in any way
        return False, f"{where}: a training step raised {_err(err)}"
    for i, (m, w) in enumerate(zip(linears, before, strict=True)):
        if torch.equal(m.weight.detach(), w):
            return False, (f"{where}: layer {i} did not change after optimizer.step(): forward must use the "
                           "registered layers, not a separate list")
    keys = [k for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)]
    if len(keys) != 2 * n_layers:
        return False, f"{where}: state_dict() has {len(keys)} tensors {keys}, expected a weight and a bias per layer"
    try:
        model.double()
        out64 = model(x.double())
    except Exception as err:  # the learner's code may fail in any way
        return False, f"{where}: after model.double() forward raised {_err(err)}: some layer was not converted"
    if not isinstance(out64, torch.Tensor) or out64.dtype != torch.float64:
        return False, f"{where}: after model.double() the output is not float64: some layer was not converted"
    return True, ""


def check_a1_task5(StackedMLP: Any) -> bool:  # noqa: N803 - the learner's class is passed in
    """Check ``StackedMLP(sizes)``: Linear(sizes[i], sizes[i+1]) layers with ReLU between them, all registered.

    For several ``sizes``: the parameter count, the registered layers' shapes, the
    output equal to a reference pass through those layers, an optimizer step that
    changes every layer, a weight and a bias per layer in ``state_dict()``, and
    ``model.double()`` converting everything.

    Introduced in assignment A1.
    """
    name = "Task 5 (StackedMLP)"
    if is_missing(StackedMLP) or _is_stub_class(StackedMLP):
        return report(name, None)
    if not isinstance(StackedMLP, type) or not issubclass(StackedMLP, nn.Module):
        return report(name, False, f"StackedMLP must be a class derived from nn.Module, got {StackedMLP!r}")
    gen = torch.Generator().manual_seed(55)
    with torch.random.fork_rng():
        torch.manual_seed(55)
        for sizes in _T5_SIZES:
            ok, problem = _t5_one(StackedMLP, sizes, gen)
            if ok is None:
                return report(name, None)
            if not ok:
                return report(name, False, problem)
    return report(name, True, f"every layer registered and trained, for {len(_T5_SIZES)} sizes")


# ===================================================================== A2 · transfer learning
A2_CLASSES = ("brick", "grass", "gravel")
A2_PATCH = 32  # side of every patch, in pixels
A2_MIN_ACCURACY = 0.85
A2_MAX_LOSS = 0.25
_A2_SPLIT_ROW = 384  # rows above come from the training region, rows below are held out
_A2_ZOOM = (16, 64)  # side of the square cut from the photo before it is resized to 32 px
_A2_HELDOUT_PER_CLASS = 80
_A2_HELDOUT_SEED = 2024


def _a2_photo(name: str) -> np.ndarray:
    from skimage import data as skdata

    image = np.asarray(getattr(skdata, name)())
    return image[..., 0] if image.ndim == 3 else image  # (512, 512) uint8


def _a2_zoom_crops(rows: tuple[int, int], per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X uint8 (3 * per_class, 32, 32), y int64)``: squares of random size from ``rows``, resized to 32 px."""
    rng = np.random.default_rng(seed)
    crops, labels = [], []
    for label, name in enumerate(A2_CLASSES):
        photo = _a2_photo(name)
        for _ in range(per_class):
            side = int(rng.integers(_A2_ZOOM[0], _A2_ZOOM[1] + 1))
            r = int(rng.integers(rows[0], rows[1] - side + 1))
            c = int(rng.integers(0, photo.shape[1] - side + 1))
            square = torch.from_numpy(photo[r:r + side, c:c + side].astype(np.float32))[None, None]
            small = F.interpolate(square, size=(A2_PATCH, A2_PATCH), mode="bilinear", align_corners=False, antialias=True)
            crops.append(small[0, 0].round().clamp(0, 255).to(torch.uint8).numpy())
            labels.append(label)
    return np.stack(crops), np.asarray(labels, dtype=np.int64)


def a2_data(shots: int = 5, seed: int = 0, val_per_class: int = 30) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return the A2 data: ``{"train": (X, y), "val": (X, y)}``, X uint8 (N, 32, 32), y int64 (N,).

    ``train`` holds ``shots`` labelled patches per class (brick, grass, gravel),
    chosen with ``seed`` from the training region of ``helpers.data.texture_patches``
    (the top three quarters of each photo). ``val`` holds ``val_per_class`` patches per
    class cut from the same training region at random zoom (squares of 16 to 64 px
    resized to 32), for your own model selection. The check measures accuracy on
    patches cut the same way from the bottom quarter of the photos, which none of
    these come from.

    Introduced in assignment A2.
    """
    from helpers.data import texture_patches

    for value, label, low in [(shots, "shots", 1), (val_per_class, "val_per_class", 1)]:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{label} must be a positive int, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    X, y = texture_patches(A2_PATCH)["train"]
    available = int(np.bincount(y).min())
    if shots > available:
        raise ValueError(f"shots can be at most {available} (training patches per class), got {shots}")
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(y == c), shots, replace=False) for c in range(len(A2_CLASSES))])
    val = _a2_zoom_crops((0, _A2_SPLIT_ROW), val_per_class, seed + 1000)
    return {"train": (X[chosen].copy(), y[chosen].copy()), "val": val}


@lru_cache(maxsize=1)
def _a2_heldout() -> tuple[np.ndarray, np.ndarray]:
    return _a2_zoom_crops((_A2_SPLIT_ROW, 512), _A2_HELDOUT_PER_CLASS, _A2_HELDOUT_SEED)


def _a2_logits(model: nn.Module, preprocess: Callable, X: np.ndarray, batch_size: int = 60) -> torch.Tensor:
    """Return the model's logits (N, 3) for uint8 patches X (N, 32, 32), in eval mode, without gradients.

    Raises ValueError with a hint when preprocess or the model give something unusable.
    """
    device = _model_device(model)
    chunks = []
    for start in range(0, len(X), batch_size):
        part = X[start:start + batch_size].copy()
        try:
            batch = preprocess(part)
        except Exception as err:  # the learner's code may fail in any way
            raise ValueError(f"preprocess raised {_err(err)}; it receives a uint8 NumPy array (N, 32, 32)") from err
        if not isinstance(batch, torch.Tensor):
            raise ValueError(f"preprocess must return a torch.Tensor batch, got a {type(batch).__name__}")
        if batch.ndim == 0 or len(batch) != len(part):
            raise ValueError(f"preprocess turned {len(part)} patches into a tensor of shape {tuple(batch.shape)}; "
                             "keep one row per patch")
        try:
            logits = model(batch.to(device))
        except Exception as err:  # the learner's code may fail in any way
            raise ValueError(f"the model raised {_err(err)} on preprocess's batch of shape {tuple(batch.shape)}") from err
        if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape != (len(part), len(A2_CLASSES)):
            got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
            extra = ": the 1,000-way ImageNet head is still there; give it a new head with 3 outputs" if (
                isinstance(logits, torch.Tensor) and logits.shape[-1] == 1000) else ""
            raise ValueError(f"the model must return logits of shape ({len(part)}, 3), got {got}{extra}")
        chunks.append(logits.detach().float().cpu())
    return torch.cat(chunks)


def evaluate_a2(model: nn.Module, preprocess: Callable[[np.ndarray], torch.Tensor]) -> dict[str, float]:
    """Return ``{"accuracy", "loss", "train_accuracy", "distinct_predictions"}`` of ``model`` on the A2 held-out patches.

    The held-out set is 240 patches (80 per class) cut at random zoom from the bottom
    quarter of the three texture photos, built here with a fixed seed. Each uint8
    batch (N, 32, 32) goes through ``preprocess`` and then ``model`` in eval mode
    under ``torch.no_grad()``; the model's train/eval mode is restored afterwards.
    ``train_accuracy`` is measured on ``a2_data()["train"]``. A model or preprocess
    that fails, or logits that are not (N, 3), raise ValueError with a hint.

    Introduced in assignment A2.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    if not callable(preprocess):
        raise ValueError(f"preprocess must be a function, got {type(preprocess).__name__}")
    X, y = _a2_heldout()
    X_train, y_train = a2_data()["train"]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng():
            logits = _a2_logits(model, preprocess, X)
            train_logits = _a2_logits(model, preprocess, X_train)
    finally:
        model.train(was_training)
    labels = torch.from_numpy(y)
    predictions = logits.argmax(dim=1)
    return {
        "accuracy": (predictions == labels).float().mean().item(),
        "loss": F.cross_entropy(logits, labels).item(),
        "train_accuracy": (train_logits.argmax(dim=1) == torch.from_numpy(y_train)).float().mean().item(),
        "distinct_predictions": int(predictions.unique().numel()),
    }


def check_a2_preprocess(preprocess: Any) -> bool:
    """Check that ``preprocess(uint8 (N, 32, 32)) -> float tensor (N, 3, H, W)`` with finite values, any N.

    Introduced in assignment A2.
    """
    name = "A2 preprocess"
    if is_missing(preprocess):
        return report(name, None)
    if not callable(preprocess):
        return report(name, False, f"preprocess must be a function, got a {type(preprocess).__name__}")
    X = a2_data()["train"][0]
    for n in (1, 4, len(X)):
        try:
            batch = preprocess(X[:n].copy())
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"for a uint8 array of shape {X[:n].shape} it raised {_err(err)}")
        if is_missing(batch):
            return report(name, None)
        if not isinstance(batch, torch.Tensor):
            return report(name, False, f"return a torch.Tensor, got a {type(batch).__name__}")
        if not batch.is_floating_point():
            return report(name, False, f"return floats (dtype {batch.dtype} cannot go through a network): .float() / 255")
        if batch.ndim != 4 or batch.shape[0] != n or batch.shape[1] != 3:
            hint = f"for {n} patches return (N, 3, H, W) = ({n}, 3, H, W), got {tuple(batch.shape)}"
            if batch.ndim == 3:
                hint += ": add the channel axis (unsqueeze(1))"
            elif batch.ndim == 4 and batch.shape[1] == 1:
                hint += ": the pretrained model wants 3 channels; repeat the grey one"
            return report(name, False, hint)
        if not torch.isfinite(batch).all():
            return report(name, False, "the batch holds nan or inf values")
    lo, hi = batch.min().item(), batch.max().item()
    if hi > 50:
        return report(name, False, f"values range over [{lo:.3g}, {hi:.3g}]: scale the pixels (/ 255) and normalise "
                      "them the way the pretrained model expects (mean 0.5, std 0.5)")
    return report(name, True, f"(N, 32, 32) uint8 -> {tuple(batch.shape[1:])} float batch, values in [{lo:.2f}, {hi:.2f}]")


def check_a2(model: Any, preprocess: Any) -> bool:
    """Check the A2 model on held-out patches it never saw: accuracy >= 0.85 or cross-entropy <= 0.25.

    The check builds the held-out patches itself (see ``evaluate_a2``), runs
    ``model(preprocess(X))`` in eval mode without gradients, and refuses constant
    predictions. A model that fits its training patches but fails on the held-out
    ones gets a hint about memorising.

    Introduced in assignment A2.
    """
    name = "A2 (transfer learning)"
    if is_missing(model) or is_missing(preprocess):
        return report(name, None)
    if not isinstance(model, nn.Module):
        return report(name, False, f"model must be an nn.Module (the check calls model.eval()), got {type(model).__name__}")
    if not callable(preprocess):
        return report(name, False, f"preprocess must be a function, got a {type(preprocess).__name__}")
    try:
        result = evaluate_a2(model, preprocess)
    except ValueError as err:
        return report(name, False, str(err))
    except Exception as err:  # anything else the learner's code may raise
        return report(name, False, f"running model(preprocess(X)) raised {_err(err)}")
    acc, loss, train_acc = result["accuracy"], result["loss"], result["train_accuracy"]
    summary = f"held-out accuracy {acc:.3f}, loss {loss:.3f} on 240 patches it never saw"
    if result["distinct_predictions"] == 1:
        return report(name, False, f"{summary}: it predicts the same class for every patch (constant predictions); "
                      "train the head, and check the labels and the learning rate")
    if acc >= A2_MIN_ACCURACY or loss <= A2_MAX_LOSS:
        return report(name, True, summary)
    hint = f"{summary}; it needs accuracy >= {A2_MIN_ACCURACY} (or loss <= {A2_MAX_LOSS})"
    if train_acc >= 0.95:
        hint += (f". It gets {train_acc:.2f} on its own training patches: it memorised them instead of learning what "
                 "generalises. Start from pretrained features, augment (flips, rotations, zoom), add weight decay")
    return report(name, False, hint)


# ===================================================================== A3 · ship it
A3_INPUT_NAME = "images"
A3_OUTPUT_NAME = "logits"
A3_MIN_ACCURACY = 0.89  # on the 10,000 Fashion-MNIST test images; see the A3 notebook for the measurements
A3_TRAIN_SIZE = 50_000  # training images handed out; the other 10,000 are held back by the checks
_A3_MEMORISED_GAP = 0.03  # one unseen set this far above the other: the model has seen its images
_A3_FASHION_MEAN, _A3_FASHION_STD = 0.286, 0.353  # of Fashion-MNIST's training pixels, to two digits


@lru_cache(maxsize=1)
def _a3_split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(handed-out images uint8, their labels, held-back images uint8, their labels) of Fashion-MNIST's training set."""
    from helpers.data import fashion_subset_indices, load_fashion_mnist

    train = load_fashion_mnist(train=True)
    inside = np.zeros(len(train), dtype=bool)
    inside[fashion_subset_indices(train.targets, A3_TRAIN_SIZE, seed=0)] = True
    given, held = torch.from_numpy(np.flatnonzero(inside)), torch.from_numpy(np.flatnonzero(~inside))
    return train.data[given], train.targets[given], train.data[held], train.targets[held]


def a3_training_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The Fashion-MNIST training images handed out for A3, as the contract feeds them to a model.

    Returns ``(X, y)``: ``X`` float32 of shape (50000, 1, 28, 28) with pixels in [0, 1] and
    ``y`` int64 of shape (50000,), a seeded stratified 5,000 images per class of the official
    60,000. The checks hold the other 10,000 back, and load the 10,000 test images themselves.
    A new copy on every call: changing it cannot change what the checks see.

    Introduced in assignment A3.
    """
    images, labels, _, _ = _a3_split()
    return (images.float() / 255).unsqueeze(1), labels.clone()


@lru_cache(maxsize=1)
def _a3_test_set() -> tuple[np.ndarray, np.ndarray]:
    from helpers.data import load_fashion_mnist

    test = load_fashion_mnist(train=False)
    X = (test.data.numpy().astype(np.float32) / 255.0)[:, None]  # (10000, 1, 28, 28) in [0, 1]
    return X, test.targets.numpy().astype(np.int64)


@lru_cache(maxsize=1)
def _a3_held_back() -> tuple[np.ndarray, np.ndarray]:
    _, _, images, labels = _a3_split()
    return (images.numpy().astype(np.float32) / 255.0)[:, None], labels.numpy().astype(np.int64)


def _a3_torch_logits(model: nn.Module, X: np.ndarray, batch_size: int = 500) -> torch.Tensor:
    device = _model_device(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            parts = []
            for start in range(0, len(X), batch_size):
                part = torch.from_numpy(X[start:start + batch_size]).to(device)
                out = model(part)
                if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(part), 10):
                    got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                    raise ValueError(f"the model must return logits (B, 10) for images (B, 1, 28, 28), got {got}")
                parts.append(out.detach().float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(parts)


def _a3_accuracy(logits: torch.Tensor | np.ndarray, y: np.ndarray) -> float:
    predictions = np.asarray(logits.argmax(1) if isinstance(logits, torch.Tensor) else logits.argmax(axis=1))
    return float((predictions == y).mean())


def _a3_seen_hint(test_acc: float, held_acc: float) -> str:
    """A hint when one unseen set scores clearly above the other (the model has seen it), else ''."""
    if test_acc - held_acc > _A3_MEMORISED_GAP:
        return (f"accuracy {test_acc:.3f} on the test images but {held_acc:.3f} on 10,000 training images it never "
                "saw: was it trained on the test set? Train only on a3_training_data(); the test images are for "
                "the final measurement")
    if held_acc - test_acc > _A3_MEMORISED_GAP:
        return (f"accuracy {held_acc:.3f} on the 10,000 held-back training images but {test_acc:.3f} on the test "
                "images: it was trained on images outside a3_training_data() (the full training files?). Train on "
                "the 50,000 images handed out only")
    return ""


def _a3_low_accuracy_hint(model: nn.Module, acc: float, predictions: torch.Tensor) -> str:
    """Why a model scores below the mark: one class, raw vs normalised pixels, digits, or just too little training."""
    from helpers.data import FASHION_MNIST_CLASSES, mnist_arrays

    counts = torch.bincount(predictions, minlength=10)
    if counts.max().item() == len(predictions):
        return (f"it predicts '{FASHION_MNIST_CLASSES[int(counts.argmax())]}' for every image (accuracy {acc:.3f}): "
                "the model is untrained or collapsed; train it")
    X, y = _a3_test_set()
    try:
        normalised = _a3_accuracy(_a3_torch_logits(model, (X - _A3_FASHION_MEAN) / _A3_FASHION_STD), y)
    except Exception:  # only a diagnosis
        normalised = 0.0
    if normalised >= max(acc + 0.05, 0.5):  # clearly better on normalised pixels: it was trained on them
        return (f"accuracy {acc:.3f} on raw [0, 1] pixels but {normalised:.3f} when the check normalises them: the "
                "contract feeds raw pixels. Put the normalisation inside the model (a first layer that computes "
                "(x - mean) / std) and train it that way")
    digits = mnist_arrays()
    try:
        digit_acc = _a3_accuracy(_a3_torch_logits(model, digits["x_test"].astype(np.float32)[:, None] / 255.0),
                                 digits["y_test"])
    except Exception:  # only a diagnosis
        digit_acc = 0.0
    if digit_acc >= 0.8:
        return (f"accuracy {acc:.3f} on clothes but {digit_acc:.3f} on MNIST digits: this model learned digits. "
                "Train it on a3_training_data()")
    if acc < 0.2:
        return f"accuracy {acc:.3f}, near chance (0.10): is the model trained?"
    return (f"test accuracy {acc:.3f} is below {A3_MIN_ACCURACY:.2f}. Lesson 06's recipe unchanged stops short of "
            "it: use more of the 50,000 images rather than more epochs over a few, a larger batch, and a learning "
            "rate that warms up and then decays every step (OneCycleLR); keep model.train() on while training")


def check_a3_task1(model: Any) -> bool:
    """Check that ``model`` classifies Fashion-MNIST: float (B, 1, 28, 28) in [0, 1] -> logits (B, 10).

    The check runs the model itself, in eval mode without gradients, on the 10,000
    official test images, scaled to [0, 1] and not normalised further (a model that wants
    normalised inputs must do it inside). It passes at ``A3_MIN_ACCURACY``. It also runs the
    10,000 training images that ``a3_training_data()`` holds back: a model that does much
    better on one of the two unseen sets has seen it, and fails with a hint. Below the mark,
    the hint tells one class, normalised inputs, a digit model and too little training apart.

    Introduced in assignment A3.
    """
    name = "A3 task 1 (train a CNN)"
    if is_missing(model):
        return report(name, None)
    if not isinstance(model, nn.Module):
        return report(name, False, f"model must be an nn.Module, got {type(model).__name__}")
    X, y = _a3_test_set()
    try:
        logits = _a3_torch_logits(model, X)
    except ValueError as err:
        return report(name, False, str(err))
    except Exception as err:  # the learner's code may fail in any way
        hint = ""
        if "784" in str(err) or "mat1 and mat2" in str(err):
            hint = ". The model receives images (B, 1, 28, 28): flatten inside it (nn.Flatten) where needed"
        return report(name, False, f"the model raised {_err(err)} on a batch of shape (500, 1, 28, 28){hint}")
    acc = _a3_accuracy(logits, y)
    if acc < A3_MIN_ACCURACY:
        try:
            return report(name, False, _a3_low_accuracy_hint(model, acc, logits.argmax(dim=1)))
        except Exception as err:  # the diagnosis must never raise
            return report(name, False, f"test accuracy {acc:.3f} is below {A3_MIN_ACCURACY:.2f} ({_err(err)})")
    X_held, y_held = _a3_held_back()
    try:
        held_acc = _a3_accuracy(_a3_torch_logits(model, X_held), y_held)
    except Exception as err:  # the learner's code may fail in any way
        return report(name, False, f"the model raised {_err(err)} on the held-back training images")
    seen = _a3_seen_hint(acc, held_acc)
    if seen:
        return report(name, False, seen)
    return report(name, True, f"test accuracy {acc:.3f} on the 10,000 test images (mark {A3_MIN_ACCURACY:.2f}; "
                  f"{held_acc:.3f} on 10,000 held-back training images)")


def _a3_state_dict_in(content: Any, expected_keys: set[str]) -> Mapping[str, Any] | None:
    """Return the state dict inside a loaded checkpoint: the dict itself or one of its values."""
    if isinstance(content, Mapping) and content and all(isinstance(v, torch.Tensor) for v in content.values()):
        return content
    if isinstance(content, Mapping):
        for value in content.values():
            if isinstance(value, Mapping) and set(map(str, value)) & expected_keys:
                return value
    return None


def _a3_replace_state(content: Any, old: Mapping[str, Any], new: Mapping[str, torch.Tensor]) -> Any:
    """``content`` with the state dict ``old`` inside it replaced by ``new`` (same layout otherwise)."""
    if content is old:
        return dict(new)
    return {key: (dict(new) if value is old else value) for key, value in content.items()}


def _a3_call_loader(load_model: Callable, path: Path) -> tuple[Any, list[Any]]:
    """Call ``load_model(path)``, recording the ``weights_only`` argument of every ``torch.load`` it makes."""
    with torch_load_calls() as calls:
        return load_model(path), calls


def check_a3_task2(path: Any, load_model: Any, model: Any) -> bool:
    """Check a checkpoint file and the function that brings a model back from it.

    The file at ``path`` must load with ``torch.load(path, weights_only=True)`` and hold
    ``model``'s state dict (on its own or inside a dict). ``load_model(path)`` must return a
    new model, ready for inference (eval mode), that predicts what ``model`` predicts. To be
    sure the file alone is enough, the check also writes a copy of the checkpoint with every
    weight changed, calls ``load_model`` on that copy, and expects the changed weights back:
    a loader that returns a copy of the model in memory (``copy.deepcopy``) fails.

    Introduced in assignment A3.
    """
    name = "A3 task 2 (checkpoint)"
    if is_missing(path) or is_missing(load_model):
        return report(name, None)
    if not isinstance(model, nn.Module):
        return report(name, False, f"pass the trained model as the third argument, got {type(model).__name__}")
    if isinstance(load_model, nn.Module) or not callable(load_model):
        return report(name, False, f"load_model must be a function load_model(path) -> model, got "
                      f"{type(load_model).__name__}: wrap your loading code in a def")
    file = Path(path)
    if not file.is_file():
        return report(name, False, f"no file at {file}: save with torch.save(model.state_dict(), path)")
    try:
        content = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # pickles of whole objects, corrupt files, other formats
        if "Unsupported global" in str(err):
            return report(name, False, "the file does not load with torch.load(path, weights_only=True): it holds "
                          "pickled Python objects (torch.save(model) saves the whole object and its code). Save "
                          "model.state_dict() instead, which is plain tensors")
        return report(name, False, f"the file is not a PyTorch checkpoint ({_err(err)})")
    expected = model.state_dict()
    state = _a3_state_dict_in(content, set(expected))
    if state is None:
        found = sorted(map(str, content)) if isinstance(content, Mapping) else type(content).__name__
        return report(name, False, f"no state dict found in the file (it holds {found}); save model.state_dict(), "
                      "on its own or inside a dict")
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        return report(name, False, f"the saved state dict does not fit the model: missing keys {missing[:4]}, "
                      f"unexpected keys {extra[:4]}")
    for key, value in expected.items():
        if not isinstance(state[key], torch.Tensor) or state[key].shape != value.shape or not torch.equal(
            state[key].cpu(), value.detach().cpu()
        ):
            return report(name, False, f"the saved {key!r} differs from the model's: save after training")
    try:
        restored, calls = _a3_call_loader(load_model, file)
    except Exception as err:  # the learner's code may fail in any way
        return report(name, False, f"load_model(path) raised {_err(err)}")
    if is_missing(restored):
        return report(name, None)
    if not isinstance(restored, nn.Module):
        hint = ""
        if type(restored).__name__ == "_IncompatibleKeys":
            hint = (": load_state_dict returns a report of missing/unexpected keys, not the model. Call "
                    "model.load_state_dict(...) and then return the model")
        return report(name, False, f"load_model must return an nn.Module, got {type(restored).__name__}{hint}")
    if restored is model:
        return report(name, False, "load_model returned the very model you trained: build a fresh one with "
                      "build_model() and load the file into it")
    if any(flag is False for flag in calls):
        return report(name, False, "never pass weights_only=False: it lets a file run any code while it loads. "
                      "Use torch.load(path, weights_only=True)")
    restored_state = restored.state_dict()
    if set(restored_state) != set(expected) or any(
        not torch.equal(restored_state[k].detach().cpu(), expected[k].detach().cpu()) for k in expected
    ):
        return report(name, False, "the model load_model returns has other weights than the file: call "
                      "load_state_dict(torch.load(path, weights_only=True)) on the fresh model")
    X = _a3_test_set()[0][:64]
    try:
        reference = _a3_torch_logits(model, X)
        with torch.no_grad():
            got = restored(torch.from_numpy(X).to(_model_device(restored)))
    except Exception as err:  # the learner's code may fail in any way
        return report(name, False, f"running the models raised {_err(err)}")
    if not isinstance(got, torch.Tensor) or not _close(got.float().cpu(), reference, 1e-5, 1e-4):
        if restored.training:
            return report(name, False, "the model load_model returns gives other outputs because it is in training "
                          "mode (dropout, batch norm): call .eval() on it before returning it")
        return report(name, False, "the model load_model returns gives other outputs than model on the same images")
    # The file alone must be enough: every floating-point weight changed, the loader must bring the change back.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        changed = {k: (v + 0.01 * torch.randn_like(v) + 0.01) if v.is_floating_point() else v.clone()
                   for k, v in ((k, v.detach().cpu()) for k, v in state.items())}
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / file.name
        torch.save(_a3_replace_state(content, state, changed), other)
        try:
            second, _ = _a3_call_loader(load_model, other)
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"load_model raised {_err(err)} on a copy of the checkpoint at another path: "
                          "it must load the file it is given")
    if second is restored or not isinstance(second, nn.Module):
        return report(name, False, "load_model returned the same object twice: build a fresh model on every call")
    second_state = second.state_dict()
    if any(not torch.equal(second_state[k].detach().cpu(), changed[k]) for k in changed if k in second_state):
        return report(name, False, "load_model ignores the file it is given: for a checkpoint with other weights it "
                      "returned the trained model's (a copy kept in memory, such as copy.deepcopy(model)?). Build the "
                      "model with build_model() and load torch.load(path, weights_only=True) into it")
    note = "" if all(flag is True for flag in calls) else (
        " (tip: write weights_only=True explicitly; older PyTorch versions default to False)")
    return report(name, True, "the file loads with weights_only=True, and load_model(path) rebuilds a model from the "
                  f"file alone that predicts exactly the same{note}")


def _a3_dims(value_info) -> list[int | str]:
    dims = []
    for dim in value_info.type.tensor_type.shape.dim:
        dims.append(dim.dim_param if dim.dim_param else (dim.dim_value if dim.HasField("dim_value") else "?"))
    return dims


def check_a3_task3(path: Any, model: Any = None) -> bool:
    """Check an exported ONNX file by running it in ONNX Runtime on the 10,000 Fashion-MNIST test images.

    The contract: one input named ``"images"``, float32 (batch, 1, 28, 28) with a
    dynamic batch axis; one output named ``"logits"`` (batch, 10). The check runs the
    file with batch sizes 1, 7 and 10,000, needs the same answers for each, and
    accuracy >= ``A3_MIN_ACCURACY`` (and no sign of having seen the test images, as in
    task 1). With ``model`` given, ONNX Runtime's logits must also match PyTorch's (to 1e-3).

    Introduced in assignment A3.
    """
    import onnx
    import onnxruntime as ort

    name = "A3 task 3 (ONNX export)"
    if is_missing(path):
        return report(name, None)
    file = Path(path)
    if not file.is_file():
        return report(name, False, f"no file at {file}: export with torch.onnx.export(model, example, path, ...)")
    try:
        proto = onnx.load(str(file))
        onnx.checker.check_model(proto)
    except Exception as err:  # protobuf errors, checker errors
        return report(name, False, f"{file.name} is not a valid ONNX model ({_err(err)}); export it again "
                      "with torch.onnx.export")
    graph_inputs = [i for i in proto.graph.input if i.name not in {t.name for t in proto.graph.initializer}]
    if len(graph_inputs) != 1:
        return report(name, False, f"the model has {len(graph_inputs)} inputs; it needs exactly one (the images)")
    inp, out = graph_inputs[0], proto.graph.output[0]
    if inp.name != A3_INPUT_NAME:
        return report(name, False, f"the input is named {inp.name!r}; the contract says {A3_INPUT_NAME!r}: "
                      f"export with input_names=[{A3_INPUT_NAME!r}]")
    if len(proto.graph.output) != 1 or out.name != A3_OUTPUT_NAME:
        names = [o.name for o in proto.graph.output]
        return report(name, False, f"the outputs are {names}; the contract says one output named {A3_OUTPUT_NAME!r}: "
                      f"export with output_names=[{A3_OUTPUT_NAME!r}]")
    if inp.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        return report(name, False, "the input must be float32 (export with a float32 example such as torch.zeros(2, 1, 28, 28))")
    dims = _a3_dims(inp)
    if len(dims) != 4 or list(dims[1:]) != [1, 28, 28]:
        hint = f"the input has shape {dims}; the contract is (batch, 1, 28, 28)"
        if len(dims) == 2:
            hint += ": the file expects flattened images. Put nn.Flatten inside the model and export with a (B, 1, 28, 28) example"
        return report(name, False, hint)
    if isinstance(dims[0], int):
        return report(name, False, f"the batch size is fixed to {dims[0]}: export with a dynamic batch axis, "
                      f"dynamic_axes={{{A3_INPUT_NAME!r}: {{0: 'batch'}}, {A3_OUTPUT_NAME!r}: {{0: 'batch'}}}} "
                      "(or dynamic_shapes with dynamo=True)")
    try:
        session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception types
        return report(name, False, f"ONNX Runtime cannot open the file ({_err(err)})")
    X, y = _a3_test_set()
    runs: dict[int, np.ndarray] = {}
    for batch in (1, 7, len(X)):
        try:
            (logits,) = session.run([A3_OUTPUT_NAME], {A3_INPUT_NAME: X[:batch]})
        except Exception as err:  # onnxruntime raises its own exception types
            return report(name, False, f"ONNX Runtime failed on a batch of {batch} ({_err(err)}): a reshape inside the "
                          "model may hard-code the batch size; use x.flatten(1) or nn.Flatten")
        if logits.shape != (batch, 10):
            return report(name, False, f"for a batch of {batch} the output has shape {logits.shape}, expected ({batch}, 10)")
        runs[batch] = logits
    if not (np.allclose(runs[1], runs[len(X)][:1], atol=1e-4) and np.allclose(runs[7], runs[len(X)][:7], atol=1e-4)):
        return report(name, False, "the same image gets different logits in batches of different sizes: was the model "
                      "exported in training mode (batch norm using batch statistics)? Call model.eval() first")
    acc = _a3_accuracy(runs[len(X)], y)
    if acc < A3_MIN_ACCURACY:
        return report(name, False, f"ONNX Runtime gets accuracy {acc:.3f} on the test images, below {A3_MIN_ACCURACY:.2f}: "
                      "export the trained model, in eval mode, taking raw [0, 1] pixels")
    X_held, y_held = _a3_held_back()
    try:
        (held_logits,) = session.run([A3_OUTPUT_NAME], {A3_INPUT_NAME: X_held})
    except Exception as err:  # onnxruntime raises its own exception types
        return report(name, False, f"ONNX Runtime failed on the held-back training images ({_err(err)})")
    seen = _a3_seen_hint(acc, _a3_accuracy(held_logits, y_held))
    if seen:
        return report(name, False, seen)
    if model is not None:
        if not isinstance(model, nn.Module):
            return report(name, False, f"model must be an nn.Module or None, got {type(model).__name__}")
        try:
            reference = _a3_torch_logits(model, X[:64])
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"running the PyTorch model raised {_err(err)}")
        diff = float(np.abs(reference.numpy() - runs[len(X)][:64]).max())
        if diff > 1e-3:
            return report(name, False, f"ONNX Runtime and PyTorch disagree (largest difference {diff:.3g}): export the "
                          "same trained model you pass here, after model.eval()")
    return report(name, True, f"ONNX Runtime accuracy {acc:.3f} on the 10,000 test images; batch sizes 1, 7 and "
                  "10,000 all work")
