"""Checks for assignment A1 · Fundamentals: ``check_a1_task1`` … ``check_a1_task5``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from helpers.assignments._common import _close, _err, _is_stub_class
from helpers.checks import is_missing, missing_result, never_raises, report

__all__ = [
    "check_a1_task1",
    "check_a1_task2",
    "check_a1_task3",
    "check_a1_task4",
    "check_a1_task5",
]


# ===================================================================== A1 · task 1
class _Recorder:
    """Wrap a function of one tensor; remember whether it was ever called on a tensor that requires grad.

    The learner's code receives the recorder, so nothing on it names the function: its
    repr is plain ``f``, it keeps no label, and the function inside is a lambda (a
    ``torch.sin`` there would tell its name). An answer must ask autograd, not read the formula.
    """

    def __init__(self, f: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self._f = f
        self.saw_graph = False
        self.calls = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if isinstance(x, torch.Tensor) and x.requires_grad:
            self.saw_graph = True
        return self._f(x)

    def __repr__(self) -> str:
        return "f"


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
        ("sin(x)", lambda x: torch.sin(x), torch.cos, lambda x: -torch.sin(x), (7,), torch.float32, False),
        ("exp(x)", lambda x: torch.exp(x), torch.exp, torch.exp, (4, 4), torch.float32, True),
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


@never_raises("Task 1 (second_derivative)")
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
        recorder = _Recorder(f)
        where = f"for f(x) = {label} and x of shape {tuple(shape)} ({str(dtype).replace('torch.', '')})"
        try:
            got = second_derivative(recorder, x_in)
        except Exception as err:  # the learner's code may fail in any way
            hint = _t1_exception_hint(err)
            return report(name, False, f"{where} it raised {_err(err)}" + (f". Hint: {hint}" if hint else ""))
        if is_missing(got):
            return missing_result(name, second_derivative, got)
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


@never_raises("Task 2 (ConvWithBatchNorm)")
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


@never_raises("Task 3 (uniform_linear)")
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
            return missing_result(name, uniform_linear, layer)
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


@never_raises("Task 4a (cross_entropy_from_logits)")
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
            return missing_result(name, fn, got)
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
        grad_before = None if x.grad is None else x.grad.clone()
        try:
            got.backward()
        except RuntimeError as err:
            return report(name, False, f"{where} the value is right but backward() on it raised {_err(err)}: did "
                          "your function call backward() itself? Return the loss; the training loop calls backward()")
        if grad_before is not None:
            return report(name, False, f"{where} the value is right but the logits already had a gradient when your "
                          "function returned: do not call backward() inside it, return the loss")
        expected_grad = (torch.softmax(logits, dim=1) - F.one_hot(labels, 3)) / len(labels)
        if x.grad is None or not _close(x.grad, expected_grad, 1e-5, 1e-4):
            return report(name, False, f"{where} the value is right but its gradient is not: did you mix in a "
                          "constant computed from the logits?")
    return report(name, True, "equal to F.cross_entropy, with the right gradient, also for large logits")


@never_raises("Task 4b (binary_cross_entropy_from_probs)")
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
            return missing_result(name, fn, got)
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


def _t5_unregistered(model: nn.Module) -> bool:
    """True when ``model`` keeps layers in a plain list, tuple or dict attribute, where PyTorch cannot see them."""
    for key, value in vars(model).items():
        if key.startswith("_"):
            continue
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
        if any(isinstance(item, nn.Module) for item in items):
            return True
    return False


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
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    shapes = [tuple(m.weight.shape) for m in linears]
    wanted = [(b, a) for a, b in zip(sizes[:-1], sizes[1:], strict=False)]
    if count != expected_count:
        if _t5_unregistered(model) or not linears:
            return False, (f"{where} registers {count} parameters but its layers hold {expected_count}: every layer "
                           "must be registered (nn.ModuleList), and nothing else")
        if len(linears) != n_layers:
            return False, (f"{where} has {len(linears)} linear layer{'s' if len(linears) != 1 else ''} but {sizes} "
                           f"needs {n_layers}, one nn.Linear(sizes[i], sizes[i + 1]) for each i in "
                           "range(len(sizes) - 1): is a layer missing (an off-by-one in the range)?")
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


@never_raises("Task 5 (StackedMLP)")
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
