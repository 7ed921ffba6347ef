"""The losses of Active Negative Loss and its baselines (section 2 of anl-method.md), their
per-data-set presets (section 3) and the training objective::

    Objective = mean_i L(f(x_i), y_i) + lambda * ER(batch) + delta * sum_theta |theta|

(per-sample values and weights: ``build(name, reduction="none")`` and ``weight=``, see :class:`Objective`).

p = softmax(z), K classes, p_min = 1e-7. Every :class:`Loss` returns per-sample values, works on
(N, K) logits with (N,) labels or per pixel on ``(N, K, *spatial)`` with ``(N, *spatial)``, and computes
in float32 under bf16/fp16 autocast (float64 stays float64). Label values are range-checked only
for CPU tensors, so that a GPU training step needs no device synchronisation.
The Dice loss (PIXEL_LOSSES) takes per-pixel input only and returns one value per image.
``python -m anl.losses`` prints every loss's value and logit-gradient norm on a fixed batch.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from anl import data, noise

P_MIN = 1e-7
RCE_A = -math.log(1e-4)  # RCE = -sum_k p_k log clamp(onehot_k, 1e-4, 1) = RCE_A * sum_{k!=y} p_k
DATASETS = (*data.DATASETS, "webvision")  # the data sets with presets: WebVision's are published, not trained here
#: The noise types a preset may depend on (the ε-softmax paper tunes per type): symmetric,
#: asymmetric (class-dependent), instance-dependent.
NOISE_TYPES = ("sym", "asym", "idn")
#: The noise type of each noise kind of anl.noise: clean labels are symmetric noise at rate 0 (as
#: in the ε-softmax authors' code), pair-flip is class-dependent, human labels (CIFAR-10N) are
#: instance-dependent.
NOISE_TYPE_OF_KIND = {"clean": "sym", "sym": "sym", "asym": "asym", "pairflip": "asym", "idn": "idn",
                      "idn-norm": "idn", "idn-file": "idn", "cifar10n": "idn"}
EPS_SOFTMAX_P_MIN = 1e-8  # the ε-softmax output is clamped below here before its log


# ----------------------------------------------------------------------------- validation
def _hparam(name: str, value: float, lower: float, *, strict: bool, upper: float = math.inf) -> float:
    """``value`` as a float in (lower, upper) (strict) or [lower, upper); else ValueError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    above = number > lower if strict else number >= lower
    if not (math.isfinite(number) and above and number < upper):
        bound = f"{'>' if strict else '>='} {lower:g}" + (f" and < {upper:g}" if upper < math.inf else "")
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return number


def _p_min(value: float) -> float:
    return _hparam("p_min", value, 0.0, strict=True, upper=0.5)


def _compute_dtype(tensor: Tensor) -> torch.dtype:
    """float32 for half types, else the tensor's own floating dtype."""
    return torch.float32 if tensor.dtype in (torch.float16, torch.bfloat16) else tensor.dtype


def _class_last(logits: Tensor) -> Tensor:
    """Validate (N, K, *spatial) logits and return them as (M, K) rows in float32 or float64."""
    if not isinstance(logits, Tensor) or not logits.is_floating_point():
        kind = logits.dtype if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a floating-point tensor, got {kind}")
    if logits.ndim < 2:
        raise ValueError(f"logits must have shape (N, K) or (N, K, *spatial), got {tuple(logits.shape)}")
    num_classes = logits.shape[1]
    if num_classes < 2:
        raise ValueError(f"logits need at least 2 classes (dim 1), got K = {num_classes}")
    if logits.numel() == 0:
        raise ValueError(f"logits are empty: shape {tuple(logits.shape)}")
    return logits.movedim(1, -1).reshape(-1, num_classes).to(_compute_dtype(logits))


def _flat_labels(labels: Tensor, logits: Tensor) -> Tensor:
    """Validate labels against (N, K, *spatial) logits and return them as (M,) int64."""
    expected = (logits.shape[0], *logits.shape[2:])
    integer = isinstance(labels, Tensor) and not (
        labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool)
    if not integer:
        kind = labels.dtype if isinstance(labels, Tensor) else type(labels).__name__
        raise ValueError(f"labels must be an integer tensor (int64), got {kind}")
    if tuple(labels.shape) != expected:
        raise ValueError(f"labels must have shape {expected} to match logits {tuple(logits.shape)}, "
                         f"got {tuple(labels.shape)}")
    if labels.device != logits.device:
        raise ValueError(f"labels are on {labels.device} but logits on {logits.device}")
    num_classes = logits.shape[1]
    if labels.device.type == "cpu" and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got values in "
                         f"[{labels.min().item()}, {labels.max().item()}]")
    return labels.reshape(-1).long()


def _full_precision(tensor: Tensor) -> AbstractContextManager:
    """Context that switches autocast off on the tensor's device (a no-op where it has none)."""
    device_type = tensor.device.type
    if not torch.amp.is_autocast_available(device_type):
        return nullcontext()
    return torch.autocast(device_type=device_type, enabled=False)


# ----------------------------------------------------------------------------- building blocks
def _pick(values: Tensor, labels: Tensor) -> Tensor:
    """values[i, labels[i]] for (M, K) values."""
    return values.gather(1, labels.unsqueeze(1)).squeeze(1)


def _focal(log_probs: Tensor, gamma: float) -> Tensor:
    """FL_k = -(1 - p_k)^gamma log p_k, the factor (1 - p_k)^gamma detached (no gradient)."""
    return -(-torch.expm1(log_probs.detach())).pow(gamma) * log_probs


class Loss(nn.Module):
    """Per-sample data term: ``(N, K[, *spatial])`` logits, ``(N[, *spatial])`` labels -> ``(N[, *spatial])``."""

    name = "loss"
    hparam_names: tuple[str, ...] = ()

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Per-sample values (per pixel for per-pixel input), computed in at least float32."""
        rows = _class_last(logits)
        flat_labels = _flat_labels(labels, logits)
        with _full_precision(logits):
            values = self.per_sample(torch.log_softmax(rows, dim=1), flat_labels)
        return values.reshape(labels.shape)

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        """The loss of each row of (M, K) log-probabilities with (M,) int64 labels."""
        raise NotImplementedError

    def hparams(self) -> dict[str, float]:
        """Hyperparameters of this loss, for run records."""
        return {name: getattr(self, name) for name in self.hparam_names}

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value:g}" for key, value in self.hparams().items())


class CrossEntropy(Loss):
    """CE = -log p_y."""

    name = "ce"

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        return -_pick(log_probs, labels)


class FocalLoss(Loss):
    """FL = -(1 - p_y)^gamma log p_y, factor detached."""

    name = "fl"
    hparam_names = ("gamma",)

    def __init__(self, gamma: float = 0.5) -> None:
        super().__init__()
        self.gamma = _hparam("gamma", gamma, 0.0, strict=False)

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        return _focal(_pick(log_probs, labels), self.gamma)


class MeanAbsoluteError(Loss):
    """MAE = 1 - p_y (the reduced form of the L1 distance 2 - 2 p_y)."""

    name = "mae"

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        return -torch.expm1(_pick(log_probs, labels))


class GeneralizedCrossEntropy(Loss):
    """GCE = (1 - p_y^q) / q, p clamped to [p_min, 1]."""

    name = "gce"
    hparam_names = ("q", "p_min")

    def __init__(self, q: float = 0.7, p_min: float = P_MIN) -> None:
        super().__init__()
        self.q = _hparam("q", q, 0.0, strict=True)
        self.p_min = _p_min(p_min)

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        log_p_y = _pick(log_probs, labels).clamp(min=math.log(self.p_min))
        return -torch.expm1(self.q * log_p_y) / self.q


class ReverseCrossEntropy(Loss):
    """RCE = -sum_k p_k log clamp(onehot_k, 1e-4, 1) = -log(1e-4) sum_{k != y} p_k, p in [p_min, 1]."""

    name = "rce"
    hparam_names = ("p_min",)

    def __init__(self, p_min: float = P_MIN) -> None:
        super().__init__()
        self.p_min = _p_min(p_min)

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        probs = log_probs.exp().clamp(self.p_min, 1.0)
        return RCE_A * probs.scatter(1, labels.unsqueeze(1), 0.0).sum(dim=1)


class NormalizedCrossEntropy(Loss):
    """NCE = (-log p_y) / (-sum_k log p_k), unclamped."""

    name = "nce"

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        return _pick(log_probs, labels) / log_probs.sum(dim=1)


class NormalizedFocalLoss(Loss):
    """NFL = FL_y / sum_k FL_k, factors detached."""

    name = "nfl"
    hparam_names = ("gamma",)

    def __init__(self, gamma: float = 0.5) -> None:
        super().__init__()
        self.gamma = _hparam("gamma", gamma, 0.0, strict=False)

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        focal = _focal(log_probs, self.gamma)
        return _pick(focal, labels) / focal.sum(dim=1)


class NormalizedNegativeCrossEntropy(Loss):
    """NNCE = 1 - v_y / sum_k v_k, v_k = A + log p_k, A = -log p_min, p clamped to [p_min, 1]
    (to [p_min, 1 - p_min] with ``clamp_upper``, as in ANL-CE-ER)."""

    name = "nnce"
    hparam_names = ("p_min",)

    def __init__(self, p_min: float = P_MIN, clamp_upper: bool = False) -> None:
        super().__init__()
        self.p_min = _p_min(p_min)
        self.clamp_upper = clamp_upper

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        big_a = -math.log(self.p_min)
        v_max = big_a + math.log1p(-self.p_min) if self.clamp_upper else None
        shifted = (log_probs + big_a).clamp(min=0.0, max=v_max)  # = A + log clamp(p)
        return 1.0 - _pick(shifted, labels) / shifted.sum(dim=1)


class NormalizedNegativeFocalLoss(Loss):
    """NNFL = 1 - (A - FL_y) / (K A - sum_k FL_k), log p clamped below at log p_min,
    A = -(1 - p_min)^gamma log p_min, factors detached."""

    name = "nnfl"
    hparam_names = ("gamma", "p_min")

    def __init__(self, gamma: float = 0.5, p_min: float = P_MIN) -> None:
        super().__init__()
        self.gamma = _hparam("gamma", gamma, 0.0, strict=False)
        self.p_min = _p_min(p_min)

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        log_p_min = math.log(self.p_min)
        big_a = -((1.0 - self.p_min) ** self.gamma) * log_p_min
        focal = _focal(log_probs.clamp(min=log_p_min), self.gamma)
        num_classes = log_probs.shape[1]
        return 1.0 - (big_a - _pick(focal, labels)) / (num_classes * big_a - focal.sum(dim=1))


class AsymmetricGeneralizedCrossEntropy(Loss):
    """AGCE = ((a + 1)^q - (a + p_y)^q) / q, a > 0, q > 0."""

    name = "agce"
    hparam_names = ("a", "q")

    def __init__(self, a: float, q: float) -> None:
        super().__init__()
        self.a = _hparam("a", a, 0.0, strict=True)
        self.q = _hparam("q", q, 0.0, strict=True)

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        p_y = _pick(log_probs, labels).exp()
        return ((self.a + 1.0) ** self.q - (self.a + p_y).pow(self.q)) / self.q


class AsymmetricUnhingedLoss(Loss):
    """AUL = ((a - p_y)^q - (a - 1)^q) / q, a > 1, q > 0."""

    name = "aul"
    hparam_names = ("a", "q")

    def __init__(self, a: float, q: float) -> None:
        super().__init__()
        self.a = _hparam("a", a, 1.0, strict=True)
        self.q = _hparam("q", q, 0.0, strict=True)

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        p_y = _pick(log_probs, labels).exp()
        return ((self.a - p_y).pow(self.q) - (self.a - 1.0) ** self.q) / self.q


class AsymmetricExponentialLoss(Loss):
    """AEL = exp(-p_y / a), a > 0."""

    name = "ael"
    hparam_names = ("a",)

    def __init__(self, a: float) -> None:
        super().__init__()
        self.a = _hparam("a", a, 0.0, strict=True)

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        return torch.exp(-_pick(log_probs, labels).exp() / self.a)


class AsymmetricMeanSquareError(Loss):
    """AMSE = (1/K) sum_k (p_k - a [k = y])^2, a >= 1 (JAL's passive loss; a = 1 is the MSE).
    Asymmetric (Zhou et al. 2021) on label weights w, i.e. argmin_p sum_k w_k AMSE(p, k) = e_t for
    the class t of largest weight, iff a >= sum_k w_k / (w_t - max_{k != t} w_k)."""

    name = "amse"
    hparam_names = ("a",)

    def __init__(self, a: float) -> None:
        super().__init__()
        self.a = _hparam("a", a, 1.0, strict=False)

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        target = torch.zeros_like(log_probs).scatter(1, labels.unsqueeze(1), self.a)
        return (log_probs.exp() - target).square().mean(dim=1)


class L1Distance(Loss):
    """||p - onehot(y)||_1 = 2 (1 - p_y): the ε-softmax paper's MAE (twice the reduced MAE)."""

    name = "l1"

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        return -2.0 * torch.expm1(_pick(log_probs, labels))


def _eps_softmax_log(log_probs: Tensor, labels: Tensor, m: float) -> Tensor:
    """log p~_y with p~ = (p + m onehot(argmax p)) / (1 + m), clamped below at 1e-8; the one-hot
    of the argmax is a constant (no gradient). For y the argmax, p~_y = 1 - (1 - p_y) / (1 + m),
    computed from 1 - p_y so that it keeps its precision next to 1."""
    log_p_y = _pick(log_probs, labels)
    is_top = log_probs.argmax(dim=1) == labels
    top = torch.log1p(torch.expm1(log_p_y) / (1.0 + m))
    other = log_p_y - math.log1p(m)
    return torch.where(is_top, top, other).clamp(min=math.log(EPS_SOFTMAX_P_MIN))


class EpsilonSoftmaxCrossEntropy(Loss):
    """CEε = -log p~_y, p~ = (p + m onehot(argmax p)) / (1 + m) clamped below at 1e-8, m >= 0."""

    name = "ce_eps"
    hparam_names = ("m",)

    def __init__(self, m: float) -> None:
        super().__init__()
        self.m = _hparam("m", m, 0.0, strict=False)

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        return -_eps_softmax_log(log_probs, labels, self.m)


class EpsilonSoftmaxFocalLoss(Loss):
    """FLε = -(1 - p~_y)^gamma log p~_y on the ε-softmax output p~ (see CEε), factor detached."""

    name = "fl_eps"
    hparam_names = ("m", "gamma")

    def __init__(self, m: float, gamma: float) -> None:
        super().__init__()
        self.m = _hparam("m", m, 0.0, strict=False)
        self.gamma = _hparam("gamma", gamma, 0.0, strict=False)

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        return _focal(_eps_softmax_log(log_probs, labels, self.m), self.gamma)


class DiceLoss(Loss):
    """Soft Dice loss per image, for per-pixel logits only: with p = softmax(z) and g = onehot(y),
    1 - (2 sum_pixels p_c g_c + eps) / (sum_pixels p_c + sum_pixels g_c + eps), averaged over the
    foreground classes c = 1..K-1 (class 0 is background; K = 2 gives the lesion Dice). eps = 1
    (one pixel) by default: an image whose mask and prediction are both empty has loss 0, and the
    loss stays smooth there; against lesions of hundreds to thousands of pixels it is negligible."""

    name = "dice"
    hparam_names = ("eps",)

    def __init__(self, eps: float = 1.0) -> None:
        super().__init__()
        self.eps = _hparam("eps", eps, 0.0, strict=True)

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        if isinstance(logits, Tensor) and logits.ndim == 2:
            raise ValueError(f"dice loss needs per-pixel logits (N, K, *spatial), got {tuple(logits.shape)}; "
                             f"use a classification loss ({', '.join(LOSSES[:3])}, ...) for (N, K) logits")
        rows = _class_last(logits)
        flat_labels = _flat_labels(labels, logits)
        count, num_classes = logits.shape[0], logits.shape[1]
        with _full_precision(logits):
            probs = torch.softmax(rows, dim=1).reshape(count, -1, num_classes)[..., 1:]
            truth = nn.functional.one_hot(flat_labels, num_classes).reshape(count, -1, num_classes)[..., 1:]
            truth = truth.to(probs.dtype)
            overlap = (probs * truth).sum(dim=1)
            total = probs.sum(dim=1) + truth.sum(dim=1)
            return (1.0 - (2.0 * overlap + self.eps) / (total + self.eps)).mean(dim=1)


class WeightedSum(Loss):
    """alpha * active + beta * passive (SCE, the APL pairs, ANL)."""

    hparam_names = ("alpha", "beta")

    def __init__(self, name: str, alpha: float, active: Loss, beta: float, passive: Loss) -> None:
        super().__init__()
        self.name = name
        self.alpha = _hparam("alpha", alpha, 0.0, strict=False)
        self.beta = _hparam("beta", beta, 0.0, strict=False)
        self.active, self.passive = active, passive

    def per_sample(self, log_probs: Tensor, labels: Tensor) -> Tensor:
        return (self.alpha * self.active.per_sample(log_probs, labels)
                + self.beta * self.passive.per_sample(log_probs, labels))

    def hparams(self) -> dict[str, float]:
        return {**super().hparams(), **self.active.hparams(), **self.passive.hparams()}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:g}, beta={self.beta:g}"


# ----------------------------------------------------------------------------- objective
def entropy_regulariser(logits: Tensor, p_min: float = P_MIN) -> Tensor:
    """ER = log K + sum_c pbar_c log pbar_c = KL(pbar || uniform), a scalar for the whole batch:
    pbar_c = sum_i p_ic / sum_i sum_c p_ic, with p and pbar clamped to [p_min, 1 - p_min].
    Per-pixel logits ``(N, K, *spatial)`` count every pixel as a sample."""
    p_min = _p_min(p_min)
    rows = _class_last(logits)
    with _full_precision(logits):
        probs = torch.softmax(rows, dim=1).clamp(p_min, 1.0 - p_min)
        mean_probs = (probs.sum(dim=0) / probs.sum()).clamp(p_min, 1.0 - p_min)
        return math.log(rows.shape[1]) + (mean_probs * mean_probs.log()).sum()


def l1_norm(parameters: Iterable[Tensor]) -> Tensor:
    """``sum |theta|`` over all given tensors (half types summed in float32); 0 for none."""
    norms = [tensor.abs().sum(dtype=_compute_dtype(tensor)) for tensor in parameters]
    return sum(norms[1:], norms[0]) if norms else torch.zeros(())


#: The reductions of :class:`Objective`, as torch's losses take them.
REDUCTIONS = ("mean", "sum", "none")


def _checked_weight(weight: Tensor, values: Tensor, logits: Tensor) -> Tensor:
    """``weight`` if it is a floating-point tensor of the per-sample values' shape on their device."""
    if not isinstance(weight, Tensor) or not weight.is_floating_point():
        kind = weight.dtype if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"weight must be a floating-point tensor, got {kind}")
    if weight.shape != values.shape:
        raise ValueError(f"weight must have the shape of the per-sample values, {tuple(values.shape)} for "
                         f"logits {tuple(logits.shape)}, got {tuple(weight.shape)}")
    if weight.device != values.device:
        raise ValueError(f"weight is on {weight.device} but logits on {logits.device}")
    return weight


class Objective(nn.Module):
    """What training minimises: with the per-sample data term ``d_i = data_term(logits, labels)_i``
    (shape (N,) for (N, K) logits, ``(N, *spatial)`` per pixel, (N,) per image for the Dice loss),
    optional per-sample weights ``w_i`` of the same shape (1 if not given) and the batch-level terms
    ``B = lambda * ER(batch) + delta * sum_theta |theta|`` (one value for the whole batch)::

        reduction="mean" (default):  mean_i(w_i d_i) + B      (the paper's objective for w = 1)
        reduction="sum":             sum_i(w_i d_i) + n B     (n = d.numel(); = "none".sum())
        reduction="none":            w_i d_i + B, shape of d  ("none".mean() = "mean")

    so B is carried by every per-sample value: reducing "none" by hand keeps the L1 and ER terms.
    The weighted mean divides by n, not by sum_i w_i (torch's per-sample ``weight`` convention).
    For the Dice loss, which is defined per image, "none" gives one value per image.
    ``data_term(logits, labels)`` alone gives d without B or weights.

    The L1 sum covers exactly the ``parameters`` passed to :meth:`forward` (pass
    ``model.parameters()``: biases and BatchNorm affine included, as in the paper); they are
    ignored when ``l1 == 0``."""

    def __init__(self, data_term: Loss, l1: float = 0.0, entropy: float = 0.0,
                 p_min: float = P_MIN, name: str | None = None, reduction: str = "mean") -> None:
        super().__init__()
        self.data_term = data_term
        self.l1 = _hparam("delta (L1 weight)", l1, 0.0, strict=False)
        self.entropy = _hparam("lambda (ER weight)", entropy, 0.0, strict=False)
        self.p_min = _p_min(p_min)
        self.name = name or data_term.name
        if reduction not in REDUCTIONS:
            raise ValueError(f"unknown reduction {reduction!r}; valid: {', '.join(REDUCTIONS)}")
        self.reduction = reduction

    def _batch_term_parts(self, logits: Tensor, parameters: Iterable[Tensor]) -> list[Tensor]:
        parts = []
        if self.entropy:
            parts.append(self.entropy * entropy_regulariser(logits, self.p_min))
        if self.l1:
            parts.append(self.l1 * l1_norm(parameters))
        return parts

    def batch_terms(self, logits: Tensor, parameters: Iterable[Tensor] = ()) -> Tensor:
        """``B = lambda * ER(logits) + delta * sum_theta |theta|``, a scalar (0 when both weights are 0)."""
        parts = self._batch_term_parts(logits, parameters)
        return sum(parts[1:], parts[0]) if parts else torch.zeros((), dtype=_compute_dtype(logits))

    def forward(self, logits: Tensor, labels: Tensor, parameters: Iterable[Tensor] = (),
                weight: Tensor | None = None) -> Tensor:
        """The objective of a batch under ``self.reduction`` (see the class): a scalar for "mean"
        and "sum", the shape of the per-sample values for "none"."""
        values = self.data_term(logits, labels)
        if weight is not None:
            values = values * _checked_weight(weight, values, logits)
        if self.reduction == "mean":
            value, copies = values.mean(), 1
        elif self.reduction == "sum":
            value, copies = values.sum(), values.numel()
        else:
            value, copies = values, 1
        for part in self._batch_term_parts(logits, parameters):
            value = value + (part if copies == 1 else copies * part)
        return value

    def hparams(self) -> dict[str, float]:
        """Data-term hyperparameters, delta (L1), lambda (ER) and, when ER is on, its p_min."""
        extra = {"p_min": self.p_min} if self.entropy else {}
        return {**self.data_term.hparams(), "delta": self.l1, "lambda": self.entropy, **extra}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, delta={self.l1:g}, lambda={self.entropy:g}, reduction={self.reduction!r}"


# ----------------------------------------------------------------------------- registry
def _rows(keys: tuple[str, ...], mnist: tuple | None = None, cifar10: tuple | None = None,
          cifar100: tuple | None = None, webvision: tuple | None = None) -> dict[str, dict[str, float]]:
    """Presets by data set from table rows; Fashion-MNIST takes MNIST's."""
    rows = {"mnist": mnist, "fashion_mnist": mnist, "cifar10": cifar10, "cifar100": cifar100,
            "webvision": webvision}
    return {dataset: dict(zip(keys, map(float, row))) for dataset, row in rows.items() if row}


def _only(presets: Mapping[str, Mapping[str, float]], *keys: str) -> dict[str, dict[str, float]]:
    return {dataset: {key: row[key] for key in keys} for dataset, row in presets.items()}


_AB = ("alpha", "beta")
_SCE = _rows(_AB, (0.01, 1), (0.1, 1), (6, 0.1), (10, 1))
_APL = _rows(_AB, (1, 10), (1, 1), (10, 0.1))
_NCE_RCE = _rows(_AB, (1, 10), (1, 1), (10, 0.1), (50, 0.1))
_NCE_AGCE = _rows(("alpha", "beta", "a", "q"), (0, 1, 4, 0.2), (1, 4, 6, 1.5), (10, 0.1, 1.8, 3),
                  (50, 0.1, 2.5, 3))
_NCE_AUL = _rows(("alpha", "beta", "a", "q"), (0, 1, 3, 0.1), (1, 4, 6.3, 1.5), (10, 0.015, 6, 3))
_NCE_AEL = _rows(("alpha", "beta", "a"), (0, 1, 3.5), (1, 4, 5), (10, 0.1, 1.5))
_ANL = _rows(("alpha", "beta", "delta"), (1, 1, 1e-6), (5, 5, 5e-5), (10, 1, 5e-7), (20, 1, 5e-6))
_ANL_FL = {dataset: row for dataset, row in _ANL.items() if dataset != "webvision"}
_ANL_ER = {dataset: {**_ANL[dataset], "lam": lam} for dataset, lam in (("cifar10", 2.0), ("cifar100", 0.01))}
_GAMMA = {"gamma": 0.5}
_JAL = _rows(("alpha", "beta", "a", "delta"), cifar10=(1, 1, 30, 5e-5), cifar100=(5, 1, 20, 5e-6))
_EPS_SOFTMAX = {"cifar10": {  # per noise type: the authors' CIFAR-10 settings
    noise_type: dict(zip(("alpha", "beta", "m"), map(float, row)))
    for noise_type, row in (("sym", (0.01, 5, 1e5)), ("asym", (0.02, 5, 1e3)), ("idn", (0.045, 10, 1e5)))}}
_EPS_FOCAL_GAMMA = {"gamma": 0.1}  # the ε-softmax authors' focal gamma
_OBJECTIVE_DEFAULTS = {"delta": 0.0, "lam": 0.0, "p_min": P_MIN}  # every objective takes these
#: A tuning search (anl.tune) draws each tunable hyperparameter log-uniformly from
#: [preset / TUNING_SPREAD, preset * TUNING_SPREAD] around its published preset.
TUNING_SPREAD = 10.0
_WEIGHTS = ("alpha", "beta")  # tunable: the weights of the two terms
_WEIGHTS_L1 = ("alpha", "beta", "delta")  # and the L1 weight of a loss regularised by it


@dataclass(frozen=True)
class _Entry:
    display: str
    make: Callable[..., Loss]  # keyword arguments = the data term's hyperparameters
    defaults: Mapping[str, float] = field(default_factory=dict)  # dataset-independent
    presets: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # dataset-dependent
    #: {dataset: {noise type: preset}}: presets that depend on the noise type as well
    noise_presets: Mapping[str, Mapping[str, Mapping[str, float]]] = field(default_factory=dict)
    l1_instead_of_weight_decay: bool = False  # regularised by its L1 term (delta): weight decay 0
    tunable: tuple[str, ...] = ()  # the hyperparameters a tuning search varies around the preset

    @property
    def data_keys(self) -> tuple[str, ...]:
        return tuple(inspect.signature(self.make).parameters)

    @property
    def keywords(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.data_keys + tuple(_OBJECTIVE_DEFAULTS)))

    @property
    def dataset_keys(self) -> set[str]:
        rows = [*self.presets.values(), *(row for table in self.noise_presets.values() for row in table.values())]
        return {key for row in rows for key in row}


_REGISTRY: dict[str, _Entry] = {
    "ce": _Entry("CE", lambda: CrossEntropy()),
    "fl": _Entry("FL", lambda gamma: FocalLoss(gamma), _GAMMA),
    "mae": _Entry("MAE", lambda: MeanAbsoluteError()),
    "gce": _Entry("GCE", lambda q, p_min: GeneralizedCrossEntropy(q, p_min), {"q": 0.7}),
    "rce": _Entry("RCE", lambda p_min: ReverseCrossEntropy(p_min)),
    "sce": _Entry("SCE", lambda alpha, beta, p_min: WeightedSum(
        "sce", alpha, CrossEntropy(), beta, ReverseCrossEntropy(p_min)), presets=_SCE, tunable=_WEIGHTS),
    "nce": _Entry("NCE", lambda: NormalizedCrossEntropy()),
    "nfl": _Entry("NFL", lambda gamma: NormalizedFocalLoss(gamma), _GAMMA),
    "nnce": _Entry("NNCE", lambda p_min: NormalizedNegativeCrossEntropy(p_min)),
    "nnfl": _Entry("NNFL", lambda gamma, p_min: NormalizedNegativeFocalLoss(gamma, p_min), _GAMMA),
    "agce": _Entry("AGCE", lambda a, q: AsymmetricGeneralizedCrossEntropy(a, q),
                   presets=_only(_NCE_AGCE, "a", "q")),
    "aul": _Entry("AUL", lambda a, q: AsymmetricUnhingedLoss(a, q), presets=_only(_NCE_AUL, "a", "q")),
    "ael": _Entry("AEL", lambda a: AsymmetricExponentialLoss(a), presets=_only(_NCE_AEL, "a")),
    "nce_mae": _Entry("NCE+MAE", lambda alpha, beta: WeightedSum(
        "nce_mae", alpha, NormalizedCrossEntropy(), beta, MeanAbsoluteError()), presets=_APL, tunable=_WEIGHTS),
    "nce_rce": _Entry("NCE+RCE", lambda alpha, beta, p_min: WeightedSum(
        "nce_rce", alpha, NormalizedCrossEntropy(), beta, ReverseCrossEntropy(p_min)),
        presets=_NCE_RCE, tunable=_WEIGHTS),
    "nfl_rce": _Entry("NFL+RCE", lambda alpha, beta, gamma, p_min: WeightedSum(
        "nfl_rce", alpha, NormalizedFocalLoss(gamma), beta, ReverseCrossEntropy(p_min)),
        _GAMMA, _APL, tunable=_WEIGHTS),
    "nce_agce": _Entry("NCE+AGCE", lambda alpha, beta, a, q: WeightedSum(
        "nce_agce", alpha, NormalizedCrossEntropy(), beta, AsymmetricGeneralizedCrossEntropy(a, q)),
        presets=_NCE_AGCE, tunable=_WEIGHTS),
    "nce_aul": _Entry("NCE+AUL", lambda alpha, beta, a, q: WeightedSum(
        "nce_aul", alpha, NormalizedCrossEntropy(), beta, AsymmetricUnhingedLoss(a, q)),
        presets=_NCE_AUL, tunable=_WEIGHTS),
    "nce_ael": _Entry("NCE+AEL", lambda alpha, beta, a: WeightedSum(
        "nce_ael", alpha, NormalizedCrossEntropy(), beta, AsymmetricExponentialLoss(a)),
        presets=_NCE_AEL, tunable=_WEIGHTS),
    "anl_ce": _Entry("ANL-CE", lambda alpha, beta, p_min: WeightedSum(
        "anl_ce", alpha, NormalizedCrossEntropy(), beta, NormalizedNegativeCrossEntropy(p_min)),
        presets=_ANL, l1_instead_of_weight_decay=True, tunable=_WEIGHTS_L1),
    "anl_fl": _Entry("ANL-FL", lambda alpha, beta, gamma, p_min: WeightedSum(
        "anl_fl", alpha, NormalizedFocalLoss(gamma), beta, NormalizedNegativeFocalLoss(gamma, p_min)),
        _GAMMA, _ANL_FL, l1_instead_of_weight_decay=True, tunable=_WEIGHTS_L1),
    "anl_ce_er": _Entry("ANL-CE-ER", lambda alpha, beta, p_min: WeightedSum(
        "anl_ce_er", alpha, NormalizedCrossEntropy(), beta,
        NormalizedNegativeCrossEntropy(p_min, clamp_upper=True)),
        presets=_ANL_ER, l1_instead_of_weight_decay=True, tunable=_WEIGHTS_L1),
    "jal_ce": _Entry("JAL-CE", lambda alpha, beta, a: WeightedSum(
        "jal_ce", alpha, NormalizedCrossEntropy(), beta, AsymmetricMeanSquareError(a)),
        presets=_JAL, l1_instead_of_weight_decay=True, tunable=_WEIGHTS_L1),
    "jal_fl": _Entry("JAL-FL", lambda alpha, beta, gamma, a: WeightedSum(
        "jal_fl", alpha, NormalizedFocalLoss(gamma), beta, AsymmetricMeanSquareError(a)),
        _GAMMA, _JAL, l1_instead_of_weight_decay=True, tunable=_WEIGHTS_L1),
    "ce_eps_mae": _Entry("CEε+MAE", lambda alpha, beta, m: WeightedSum(
        "ce_eps_mae", alpha, EpsilonSoftmaxCrossEntropy(m), beta, L1Distance()),
        noise_presets=_EPS_SOFTMAX, tunable=_WEIGHTS),
    "fl_eps_mae": _Entry("FLε+MAE", lambda alpha, beta, m, gamma: WeightedSum(
        "fl_eps_mae", alpha, EpsilonSoftmaxFocalLoss(m, gamma), beta, L1Distance()),
        _EPS_FOCAL_GAMMA, noise_presets=_EPS_SOFTMAX, tunable=_WEIGHTS),
    "dice": _Entry("Dice", lambda eps: DiceLoss(eps), {"eps": 1.0}),
}
PIXEL_LOSSES: tuple[str, ...] = ("dice",)  # per-pixel (segmentation) only: no (N, K) input
LOSSES: tuple[str, ...] = tuple(key for key in _REGISTRY if key not in PIXEL_LOSSES)  # every input shape


#: The losses with tunable hyperparameters (a tuning search needs one).
TUNABLE_LOSSES: tuple[str, ...] = tuple(key for key in LOSSES if _REGISTRY[key].tunable)


def hparam_names(overrides: Mapping[str, float]) -> dict[str, float]:
    """``overrides`` with "lambda" (a Python keyword, so not a keyword of build()) spelled "lam"."""
    return {("lam" if name == "lambda" else name): value for name, value in overrides.items()}


def is_anl_family(loss: str) -> bool:
    """Whether a canonical loss name is of the ANL family (ANL-CE, ANL-FL, ANL-CE-ER)."""
    return loss.startswith("anl")


def default_weight_decay(loss: str, baseline: float) -> float:
    """The weight decay of a run that sets none: 0 for a loss regularised by its L1 term (delta)
    instead (the ANL family, JAL), else ``baseline`` (the protocol's L2)."""
    return 0.0 if _REGISTRY[canonical_name(loss)].l1_instead_of_weight_decay else baseline


def noise_type_of(spec: str) -> str:
    """The noise type (one of NOISE_TYPES) whose preset a run with noise ``spec`` takes:
    "sym:0.8" -> "sym", "asym:0.4" and "pairflip:0.4" -> "asym", "idn:0.4" and "cifar10n:worst"
    -> "idn", "clean" -> "sym" (symmetric noise at rate 0). ValueError for a bad spec."""
    kind, _ = noise.parse_noise(spec)
    return NOISE_TYPE_OF_KIND[kind]


def canonical_name(name: str) -> str:
    """The registry key of a loss name: "ANL-CE" -> "anl_ce", "NCE+RCE" -> "nce_rce", "CEε+MAE" -> "ce_eps_mae"."""
    key = str(name).strip().lower().replace("ε", "_eps").replace("-", "_").replace("+", "_")
    if key not in _REGISTRY:
        raise ValueError(f"unknown loss {name!r}; valid: {', '.join(LOSSES + PIXEL_LOSSES)}")
    return key


def _dataset_key(dataset: str) -> str:
    key = str(dataset).strip().lower().replace("-", "_")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; valid: {', '.join(DATASETS)}")
    return key


def display_name(key: str) -> str:
    """The paper's spelling of a loss: "ANL-CE", "NCE+RCE", "CE", ..."""
    return _REGISTRY[canonical_name(key)].display


def _noise_type_key(noise_type: str | None) -> str | None:
    if noise_type is not None and noise_type not in NOISE_TYPES:
        raise ValueError(f"unknown noise type {noise_type!r}; valid: {', '.join(NOISE_TYPES)} "
                         f"(noise_type_of('sym:0.8') gives a run's)")
    return noise_type


def _resolve(key: str, dataset: str | None, noise_type: str | None,
             overrides: Mapping[str, float]) -> dict[str, float]:
    """All keywords of ``key``: objective defaults < dataset-free defaults < preset (of the data
    set, and of the noise type where it depends on it) < overrides."""
    entry = _REGISTRY[key]
    overrides = hparam_names(overrides)
    unknown = sorted(set(overrides) - set(entry.keywords))
    if unknown:
        raise ValueError(f"unknown hyperparameter {', '.join(map(repr, unknown))} for {key}; "
                         f"valid: {', '.join(entry.keywords)}")
    values = {name: value for name, value in {**_OBJECTIVE_DEFAULTS, **entry.defaults}.items()
              if name in entry.keywords and name not in entry.dataset_keys}
    if dataset is not None:
        values.update(entry.presets.get(dataset, {}))
        if noise_type is not None:
            values.update(entry.noise_presets.get(dataset, {}).get(noise_type, {}))
    values.update(overrides)
    missing = [name for name in entry.keywords if name not in values]
    if missing and dataset is None:
        raise ValueError(f"{key} needs dataset-dependent hyperparameters ({', '.join(missing)}): pass "
                         f"dataset= one of {', '.join(DATASETS)}, or give them as keywords")
    if missing and dataset in entry.noise_presets and noise_type is None:
        raise ValueError(f"{entry.display}'s preset on {dataset} depends on the noise type: pass noise_type= "
                         f"one of {', '.join(NOISE_TYPES)} (noise_type_of('sym:0.8') gives a run's), "
                         f"or give {', '.join(missing)} as keywords")
    if missing:
        published = [*entry.presets, *(f"{name} ({', '.join(table)})" for name, table in entry.noise_presets.items())]
        raise ValueError(f"no published preset for {entry.display} on {dataset}"
                         f"{f' with {noise_type} noise' if dataset in entry.noise_presets else ''} (published for: "
                         f"{', '.join(published)}); pass {', '.join(missing)} as keywords to build()")
    return {name: values[name] for name in entry.keywords}


def needs_noise_type(name: str, dataset: str) -> bool:
    """Whether loss ``name``'s preset on ``dataset`` depends on the noise type (CEε+MAE on CIFAR-10)."""
    return _dataset_key(dataset) in _REGISTRY[canonical_name(name)].noise_presets


def preset(name: str, dataset: str, noise_type: str | None = None) -> dict[str, float]:
    """The paper's hyperparameters for loss ``name`` on ``dataset`` (all of build()'s keywords);
    ``noise_type`` (one of NOISE_TYPES) is required where the preset depends on it."""
    return _resolve(canonical_name(name), _dataset_key(dataset), _noise_type_key(noise_type), {})


def search_space(name: str, dataset: str, noise_type: str | None = None) -> dict[str, tuple[float, float]]:
    """The log-uniform range (low, high) of each tunable hyperparameter of loss ``name`` on
    ``dataset``: [preset / TUNING_SPREAD, preset * TUNING_SPREAD] around the published preset (of
    ``noise_type`` where it depends on it). A hyperparameter whose preset is 0 (its term switched
    off, e.g. NCE+AGCE's alpha on MNIST) stays at 0. ValueError for a loss without tunable
    hyperparameters or without a preset on ``dataset``."""
    key = canonical_name(name)
    entry = _REGISTRY[key]
    if not entry.tunable:
        raise ValueError(f"{entry.display} has no tunable hyperparameters; tunable losses: {', '.join(TUNABLE_LOSSES)}")
    values = preset(key, dataset, noise_type)
    return {hparam: (values[hparam] / TUNING_SPREAD, values[hparam] * TUNING_SPREAD)
            for hparam in entry.tunable if values[hparam] > 0}


def build(name: str, dataset: str | None = None, noise_type: str | None = None, *, reduction: str = "mean",
          **overrides: float) -> Objective:
    """The objective of loss ``name`` (registry key or the paper's spelling, e.g. "ANL-CE"), with
    the preset of ``dataset`` if given (and of ``noise_type``, one of NOISE_TYPES, for a loss whose
    preset depends on it; ignored by the others), then ``overrides`` (alpha, beta, gamma, q, a, m,
    delta, lam, p_min ...; "lambda" is accepted for lam), reducing per-sample values by
    ``reduction`` (one of REDUCTIONS; see :class:`Objective`)."""
    key = canonical_name(name)
    values = _resolve(key, None if dataset is None else _dataset_key(dataset), _noise_type_key(noise_type), overrides)
    entry = _REGISTRY[key]
    data_term = entry.make(**{name: values[name] for name in entry.data_keys})
    return Objective(data_term, l1=values["delta"], entropy=values["lam"], p_min=values["p_min"], name=key,
                     reduction=reduction)


# ----------------------------------------------------------------------------- report
def _preset_settings(key: str) -> list[tuple[str | None, str | None]]:
    """(dataset, noise type) of every preset of ``key`` in DATASETS order: (None, None) for a loss
    without dataset-dependent hyperparameters, a noise type only where the preset depends on it."""
    entry = _REGISTRY[key]
    if not entry.dataset_keys:
        return [(None, None)]
    return [(dataset, noise_type) for dataset in DATASETS
            for noise_type in (entry.noise_presets[dataset] if dataset in entry.noise_presets
                               else [None] if dataset in entry.presets else [])]


def report() -> str:
    """Value and logit-gradient norm of every loss, for its dataset-free defaults ("-", same on
    every data set) or for every data set (and noise type, "cifar10:sym") with a preset, on a
    fixed float64 batch: z = 3 * torch.randn(8, 10, generator=torch.Generator().manual_seed(0)),
    labels 0..7. The value is mean data term + lambda * ER; the L1 term is left out (it needs a model)."""
    logits = 3 * torch.randn(8, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    labels = torch.arange(8)
    lines = [f"{'loss':<10} {'dataset':<14} {'value':>20} {'grad_norm':>20}  hyperparameters"]
    for key in LOSSES:
        entry = _REGISTRY[key]
        for dataset, noise_type in _preset_settings(key):
            objective = build(key, dataset, noise_type)
            inputs = logits.clone().requires_grad_(True)
            value = objective(inputs, labels)
            (gradient,) = torch.autograd.grad(value, inputs)
            settings = " ".join(f"{name}={number:g}" for name, number in objective.hparams().items())
            where = ":".join(part for part in (dataset, noise_type) if part) or "-"
            lines.append(f"{entry.display:<10} {where:<14} {value.item():20.12e} "
                         f"{gradient.norm().item():20.12e}  {settings}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
