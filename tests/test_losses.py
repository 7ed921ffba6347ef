"""anl.losses against references written here from the formulas of anl-method.md (section 2):
values and gradients, symmetry, gradient shape, ER, the objective, presets, validation, numerics."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from anl.losses import (
    DATASETS, LOSSES, NOISE_TYPES, PIXEL_LOSSES, Objective, build, default_weight_decay, display_name,
    entropy_regulariser, hparam_names, l1_norm, needs_noise_type, noise_type_of, preset, report,
)
from anl.noise import NOISE_KINDS

P_MIN = 1e-7
LOG_1E4 = math.log(1e-4)
FOCAL_KEYS = ("fl", "nfl", "nnfl", "nfl_rce", "anl_fl", "jal_fl", "fl_eps_mae")  # analytic gradient != derivative (detach)


# ----------------------------------------------------------------------------- references
# Written the way the formulas read (softmax, clamp p, log, one-hot), float64, per sample.
def pick(values, y):
    return values[torch.arange(len(y)), y]


def ref_ce(z, y, h):
    return -pick(torch.log_softmax(z, 1), y)


def ref_focal_all(log_p, h):
    """FL_k for every k; the factor (1 - p_k)^gamma is detached unless h["detach"] is False."""
    factor = (1 - log_p.exp()) ** h["gamma"]
    return -(factor.detach() if h.get("detach", True) else factor) * log_p


def ref_fl(z, y, h):
    return pick(ref_focal_all(torch.log_softmax(z, 1), h), y)


def ref_mae(z, y, h):
    return 1 - pick(torch.softmax(z, 1), y)


def ref_gce(z, y, h):
    p_y = pick(torch.softmax(z, 1).clamp(h["p_min"], 1), y)
    return (1 - p_y ** h["q"]) / h["q"]


def ref_rce(z, y, h):
    p = torch.softmax(z, 1).clamp(h["p_min"], 1)
    one_hot = F.one_hot(y, z.shape[1]).double().clamp(1e-4, 1)
    return -(p * one_hot.log()).sum(1)


def ref_nce(z, y, h):
    log_p = torch.log_softmax(z, 1)
    return -pick(log_p, y) / -log_p.sum(1)


def ref_nfl(z, y, h):
    focal = ref_focal_all(torch.log_softmax(z, 1), h)
    return pick(focal, y) / focal.sum(1)


def ref_nnce(z, y, h, p_max=1.0):
    big_a = -math.log(h["p_min"])
    v = big_a + torch.softmax(z, 1).clamp(h["p_min"], p_max).log()
    return 1 - pick(v, y) / v.sum(1)


def ref_nnce_er(z, y, h):
    return ref_nnce(z, y, h, p_max=1 - h["p_min"])


def ref_nnfl(z, y, h):
    gamma, log_p_min = h["gamma"], math.log(h["p_min"])
    big_a = -((1 - h["p_min"]) ** gamma) * log_p_min
    focal = ref_focal_all(torch.log_softmax(z, 1).clamp(min=log_p_min), h)
    return 1 - (big_a - pick(focal, y)) / (z.shape[1] * big_a - focal.sum(1))


def ref_agce(z, y, h):
    a, q = h["a"], h["q"]
    return ((a + 1) ** q - (a + pick(torch.softmax(z, 1), y)) ** q) / q


def ref_aul(z, y, h):
    a, q = h["a"], h["q"]
    return ((a - pick(torch.softmax(z, 1), y)) ** q - (a - 1) ** q) / q


def ref_ael(z, y, h):
    return torch.exp(-pick(torch.softmax(z, 1), y) / h["a"])


def ref_amse(z, y, h):
    target = h["a"] * F.one_hot(y, z.shape[1]).double()
    return ((torch.softmax(z, 1) - target) ** 2).mean(1)


def ref_l1(z, y, h):
    return (torch.softmax(z, 1) - F.one_hot(y, z.shape[1]).double()).abs().sum(1)


def ref_eps_softmax(z, h):
    """p~ = (p + m onehot(argmax p)) / (1 + m), clamped below at 1e-8; argmax an index (no gradient)."""
    p = torch.softmax(z, 1)
    top = F.one_hot(p.argmax(1), z.shape[1]).double()
    return ((p + h["m"] * top) / (1 + h["m"])).clamp(min=1e-8)


def ref_ce_eps(z, y, h):
    return -pick(ref_eps_softmax(z, h), y).log()


def ref_fl_eps(z, y, h):
    p_y = pick(ref_eps_softmax(z, h), y)
    factor = (1 - p_y) ** h["gamma"]
    return -(factor.detach() if h.get("detach", True) else factor) * p_y.log()


def pair(active, passive):
    return lambda z, y, h: h["alpha"] * active(z, y, h) + h["beta"] * passive(z, y, h)


REFERENCES = {
    "ce": ref_ce, "fl": ref_fl, "mae": ref_mae, "gce": ref_gce, "rce": ref_rce,
    "sce": pair(ref_ce, ref_rce), "nce": ref_nce, "nfl": ref_nfl, "nnce": ref_nnce, "nnfl": ref_nnfl,
    "agce": ref_agce, "aul": ref_aul, "ael": ref_ael,
    "nce_mae": pair(ref_nce, ref_mae), "nce_rce": pair(ref_nce, ref_rce), "nfl_rce": pair(ref_nfl, ref_rce),
    "nce_agce": pair(ref_nce, ref_agce), "nce_aul": pair(ref_nce, ref_aul), "nce_ael": pair(ref_nce, ref_ael),
    "anl_ce": pair(ref_nce, ref_nnce), "anl_fl": pair(ref_nfl, ref_nnfl),
    "anl_ce_er": pair(ref_nce, ref_nnce_er),
    "jal_ce": pair(ref_nce, ref_amse), "jal_fl": pair(ref_nfl, ref_amse),
    "ce_eps_mae": pair(ref_ce_eps, ref_l1), "fl_eps_mae": pair(ref_fl_eps, ref_l1),
}


def np_entropy_regulariser(z: np.ndarray, p_min: float = P_MIN) -> float:
    """log K + sum_c pbar_c log pbar_c (= KL(pbar || uniform) while no clamp binds) in float64
    numpy, p and pbar clamped to [p_min, 1 - p_min]."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = np.clip(e / e.sum(axis=1, keepdims=True), p_min, 1 - p_min)
    pbar = np.clip(p.sum(axis=0) / p.sum(), p_min, 1 - p_min)
    return float(np.log(z.shape[1]) + np.sum(pbar * np.log(pbar)))


def configs(key):
    """(setting, objective) for the defaults or every published preset of a loss; the setting is
    None, a data set, or "dataset:noise type" where the preset depends on the noise type."""
    try:
        return [(None, build(key))]
    except ValueError:
        pass
    found = []
    for d in DATASETS:
        if d == "fashion_mnist":
            continue
        if needs_noise_type(key, d):
            found += [(f"{d}:{t}", build(key, d, t)) for t in NOISE_TYPES if _has_preset(key, d, t)]
        elif _has_preset(key, d):
            found.append((d, build(key, d)))
    return found


def _has_preset(key, dataset, noise_type=None):
    try:
        preset(key, dataset, noise_type)
        return True
    except ValueError:
        return False


def rebuild(objective, **changes):
    """``objective`` built again from its hyperparameters, with ``changes``."""
    return build(objective.name, **hparam_names({**objective.hparams(), **changes}))


def logit_cases(num_classes=6):
    g = torch.Generator().manual_seed(1)
    k = num_classes
    extreme = torch.zeros(4, k)
    extreme[:, 0], extreme[:, 1] = 1e4, -1e4
    extreme[2, 2] = 1e4  # a tie between two huge logits
    return {
        "random": (3 * torch.randn(7, k, generator=g), torch.randint(0, k, (7,), generator=g)),
        "extreme": (extreme, torch.tensor([0, 1, 2, 3])),
        "near_one_hot": (30 * torch.eye(k)[[0, 1, 2, 3]], torch.tensor([0, 1, 0, 5])),
        "all_equal": (torch.full((3, k), 2.5), torch.tensor([0, 3, 5])),
        "batch_of_one": (torch.randn(1, k, generator=g), torch.tensor([4])),
    }


def value_and_grad(fn, z, y):
    z = z.clone().requires_grad_(True)
    values = fn(z, y)
    (grad,) = torch.autograd.grad(values.sum(), z)
    return values.detach(), grad


# ----------------------------------------------------------------------------- values and gradients
def test_every_loss_has_a_reference():
    assert set(REFERENCES) == set(LOSSES)
    assert len(LOSSES) == 26


def reference_configs(key):
    """The published settings, plus p_min = 0.01 where the data term clamps (so clamps bind)."""
    found = configs(key)
    dataset, objective = found[-1]
    if "p_min" in objective.data_term.hparams():
        found.append((f"{dataset} p_min=0.01", rebuild(objective, p_min=0.01)))
    return found


@pytest.mark.parametrize("key", LOSSES)
def test_loss_matches_reference(key):
    for dataset, objective in reference_configs(key):
        h = objective.data_term.hparams()
        for case, (z, y) in logit_cases().items():
            want, want_grad = value_and_grad(lambda t, u: REFERENCES[key](t, u, h), z.double(), y)
            got, got_grad = value_and_grad(objective.data_term, z.double(), y)
            where = f"{key} {dataset} {case}"
            assert got.dtype == torch.float64
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12, msg=where)
            torch.testing.assert_close(got_grad, want_grad, rtol=1e-8, atol=1e-10, msg=where)
            got32, got32_grad = value_and_grad(objective.data_term, z, y)
            assert got32.dtype == torch.float32
            torch.testing.assert_close(got32.double(), want, rtol=1e-4, atol=2e-5, msg=where)
            torch.testing.assert_close(got32_grad.double(), want_grad, rtol=1e-3, atol=2e-5, msg=where)


def test_closed_forms_for_equal_logits():
    k, z, y = 5, torch.zeros(2, 5, dtype=torch.float64), torch.tensor([0, 3])
    a = 3.0
    expected = {
        "ce": math.log(k), "fl": (1 - 1 / k) ** 0.5 * math.log(k), "mae": 1 - 1 / k,
        "gce": (1 - k ** -0.7) / 0.7, "rce": -LOG_1E4 * (k - 1) / k, "nce": 1 / k, "nfl": 1 / k,
        "nnce": 1 - 1 / k, "nnfl": 1 - 1 / k,
        "agce": ((a + 1) ** 2 - (a + 1 / k) ** 2) / 2, "aul": ((a - 1 / k) ** 2 - (a - 1) ** 2) / 2,
        "ael": math.exp(-1 / (k * a)),
    }
    overrides = {"agce": {"a": a, "q": 2.0}, "aul": {"a": a, "q": 2.0}, "ael": {"a": a}}
    for key, value in expected.items():
        got = build(key, **overrides.get(key, {})).data_term(z, y)
        np.testing.assert_allclose(got.numpy(), [value, value], rtol=1e-12, err_msg=key)
    assert -LOG_1E4 == pytest.approx(9.2103, abs=1e-4)


def test_focal_factor_is_detached():
    """With the factor detached the gradient is not the derivative of the value: the reference
    with .detach() matches, the one without does not (so a missing detach would be caught)."""
    z = (3 * torch.randn(4, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64))
    y = torch.tensor([0, 1, 2, 3])
    visible = {"fl_eps_mae": {"beta": 0.0, "m": 1.0, "gamma": 2.0}}  # its preset's MAE term dwarfs the factor
    for key in FOCAL_KEYS:
        objective = rebuild(configs(key)[-1][1], **visible.get(key, {}))
        _, got = value_and_grad(objective.data_term, z, y)
        h = {**objective.data_term.hparams(), "detach": False}
        _, not_detached = value_and_grad(lambda t, u: REFERENCES[key](t, u, h), z, y)
        assert (got - not_detached).abs().max() > 0.01 * got.abs().max(), key
        inputs = (z.clone().requires_grad_(),)
        assert not torch.autograd.gradcheck(lambda t: objective.data_term(t, y), inputs,
                                            raise_exception=False), key


@pytest.mark.parametrize("key", LOSSES)
def test_gradcheck(key):
    """float64 gradcheck on random logits (no clamp active); focal losses at gamma = 0, where the
    detached factor is 1 and the loss is smooth."""
    overrides = {"gamma": 0.0} if key in FOCAL_KEYS else {}
    objective = rebuild(configs(key)[-1][1], **overrides)
    g = torch.Generator().manual_seed(3)
    z = torch.randn(3, 5, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 2, 4])
    assert torch.autograd.gradcheck(lambda t: objective.data_term(t, y), (z,))
    assert torch.autograd.gradcheck(lambda t: objective(t, y), (z,))


# ----------------------------------------------------------------------------- properties
def label_sum(loss, z):
    """sum_k L(x, k) for every row x of z."""
    k = z.shape[1]
    rows = z.repeat_interleave(k, dim=0)
    labels = torch.arange(k).repeat(z.shape[0])
    return loss(rows, labels).reshape(-1, k).sum(1)


SYMMETRIC = {  # key: (dataset or None, constant sum_k L(x, k) as a function of K and hparams)
    "nce": (None, lambda k, h: 1.0), "nfl": (None, lambda k, h: 1.0),
    "nnce": (None, lambda k, h: k - 1.0), "nnfl": (None, lambda k, h: k - 1.0),
    "mae": (None, lambda k, h: k - 1.0), "rce": (None, lambda k, h: -LOG_1E4 * (k - 1)),
    "anl_ce": ("cifar10", lambda k, h: h["alpha"] + h["beta"] * (k - 1)),
    "anl_fl": ("cifar100", lambda k, h: h["alpha"] + h["beta"] * (k - 1)),
    "anl_ce_er": ("cifar10", lambda k, h: h["alpha"] + h["beta"] * (k - 1)),
}


@pytest.mark.parametrize("key", sorted(SYMMETRIC))
def test_symmetric_losses(key):
    dataset, constant = SYMMETRIC[key]
    loss = build(key, dataset).data_term
    k = 7
    z = 2 * torch.randn(30, k, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    expected = constant(k, loss.hparams())
    torch.testing.assert_close(label_sum(loss, z), torch.full((30,), expected, dtype=torch.float64))
    if key != "rce":  # RCE's clamp of p at p_min breaks exact symmetry once some p_k < p_min
        extreme = torch.cat([logit_cases(k)["extreme"][0], logit_cases(k)["near_one_hot"][0]]).double()
        torch.testing.assert_close(label_sum(loss, extreme), torch.full((8,), expected, dtype=torch.float64))


@pytest.mark.parametrize("key", ["ce", "fl", "gce"])
def test_unbounded_or_focused_losses_are_not_symmetric(key):
    z = 2 * torch.randn(30, 7, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    sums = label_sum(build(key).data_term, z)
    assert sums.max() - sums.min() > 0.1


def gradient_norms(key, p_y: torch.Tensor, k: int = 10) -> torch.Tensor:
    """||d L / d z|| with p(y) = p_y and the other K - 1 classes equally likely."""
    z = torch.zeros(len(p_y), k, dtype=torch.float64)
    z[:, 0] = torch.log(p_y * (k - 1) / (1 - p_y))
    _, grad = value_and_grad(build(key).data_term, z, torch.zeros(len(p_y), dtype=torch.long))
    return grad.norm(dim=1)


def test_nnce_gradient_grows_with_p_y_but_mae_does_not():
    """NNCE's logit gradient increases with p_y from 1/K on (below 1/K it dips slightly); MAE's
    peaks at p_y = 1/2 and vanishes as p_y -> 1."""
    p_y = torch.linspace(0.1, 0.9999, 60, dtype=torch.float64)
    nnce, mae = gradient_norms("nnce", p_y), gradient_norms("mae", p_y)
    assert torch.all(nnce[1:] > nnce[:-1])
    assert not torch.all(mae[1:] > mae[:-1])
    assert mae.argmax() not in (0, len(p_y) - 1) and mae[-1] < 0.01 * mae.max()
    assert abs(p_y[mae.argmax()].item() - 0.5) < 0.02


def amse_threshold(w: np.ndarray) -> float:
    """The least a for which e_t (t = argmax w) minimises sum_k w_k AMSE(p, k) over the simplex:
    sum_k w_k / (w_t - max_{k != t} w_k), from the first-order conditions at the vertex."""
    top, second = np.sort(w)[::-1][:2]
    return float(w.sum() / (top - second))


def weighted_amse(a: float, p: torch.Tensor, w: np.ndarray) -> torch.Tensor:
    """sum_k w_k AMSE(p, k) for every row of p (probabilities, zeros allowed), by the passive term
    of the registry's JAL-CE."""
    term = build("jal_ce", alpha=1.0, beta=1.0, a=a, delta=0.0).data_term.passive
    k = p.shape[1]
    log_p = p.log().repeat_interleave(k, dim=0)
    values = term.per_sample(log_p, torch.arange(k).repeat(p.shape[0])).reshape(-1, k)
    return values @ torch.as_tensor(w)


def test_amse_is_asymmetric_exactly_when_a_reaches_its_bound():
    """AMSE is asymmetric on weights w (the vertex of the largest weight minimises the weighted
    loss) iff a >= sum w / (w_t - max_{k!=t} w_k): no random p beats the vertex at a on the
    bound or above it; just below it, moving a little mass to the second class does."""
    rng = np.random.default_rng(11)
    k = 6
    for _ in range(20):
        w = rng.dirichlet(np.ones(k))
        t, second = np.argsort(w)[::-1][:2]
        bound = amse_threshold(w)
        vertex = torch.zeros(1, k, dtype=torch.float64)
        vertex[0, t] = 1.0
        p = torch.softmax(3 * torch.as_tensor(rng.standard_normal((200, k))), 1)
        near = (1 - 1e-3) * vertex + 1e-3 * torch.softmax(torch.as_tensor(rng.standard_normal((50, k))), 1)
        for a in (bound, 1.5 * bound):
            at_vertex = weighted_amse(a, vertex, w)
            assert (weighted_amse(a, torch.cat([p, near]), w) >= at_vertex - 1e-12).all()
        a = 0.95 * bound
        moved = vertex.clone()
        moved[0, t], moved[0, second] = 1 - 1e-3, 1e-3
        assert weighted_amse(a, moved, w) < weighted_amse(a, vertex, w)


def test_jal_presets_meet_the_bound_at_the_papers_noise():
    """Noisy-label weights of a clean class: 1 - eta on it, the rest spread by the noise."""
    for dataset, k in (("cifar10", 10), ("cifar100", 100)):
        a = preset("jal_ce", dataset)["a"]
        symmetric = np.array([0.2] + [0.8 / (k - 1)] * (k - 1))
        assert a >= amse_threshold(symmetric)
    assert preset("jal_ce", "cifar10")["a"] >= amse_threshold(np.array([0.6, 0.4] + [0.0] * 8))
    assert amse_threshold(np.array([0.2] + [0.8 / 9] * 9)) == pytest.approx(9.0)


def test_eps_softmax_argmax_one_hot_is_a_constant():
    """For a label that is not the argmax, CEε = CE + log(1 + m): the same logit gradient as CE
    (the one-hot of the argmax carries none); for the argmax label the gradient is CE's scaled by
    p_y / ((1 + m) p~_y)."""
    g = torch.Generator().manual_seed(12)
    z = 2 * torch.randn(40, 7, generator=g, dtype=torch.float64)
    y = torch.randint(0, 7, (40,), generator=g)
    m = 10.0
    eps_values, eps_grad = value_and_grad(build("ce_eps_mae", alpha=1.0, beta=0.0, m=m).data_term, z, y)
    ce_values, ce_grad = value_and_grad(build("ce").data_term, z, y)
    top = z.argmax(1) == y
    assert 0 < top.sum() < len(y)
    torch.testing.assert_close(eps_values[~top], ce_values[~top] + math.log1p(m))
    torch.testing.assert_close(eps_grad[~top], ce_grad[~top])
    p_y = pick(torch.softmax(z, 1), y)
    scale = p_y / (p_y + m)
    torch.testing.assert_close(eps_grad[top], scale[top, None] * ce_grad[top])


def test_noise_type_of_every_noise_kind():
    assert [noise_type_of(s) for s in ("sym:0.8", "asym:0.4", "pairflip:0.45", "idn:0.4", "cifar10n:worst",
                                       "clean")] == ["sym", "asym", "asym", "idn", "idn", "sym"]
    assert {kind for kind in NOISE_KINDS} == set(__import__("anl.losses").losses.NOISE_TYPE_OF_KIND)
    with pytest.raises(ValueError, match="unknown noise kind"):
        noise_type_of("label:0.4")


def test_noise_type_presets():
    assert {t: {k: preset("ce_eps_mae", "cifar10", t)[k] for k in ("alpha", "beta", "m")} for t in NOISE_TYPES} == {
        "sym": {"alpha": 0.01, "beta": 5, "m": 1e5}, "asym": {"alpha": 0.02, "beta": 5, "m": 1e3},
        "idn": {"alpha": 0.045, "beta": 10, "m": 1e5}}
    assert preset("fl_eps_mae", "cifar10", "asym") == {**preset("ce_eps_mae", "cifar10", "asym"), "gamma": 0.1}
    explicit = build("ce_eps_mae", "cifar10", alpha=0.01, beta=5, m=1e5)  # every value given: no noise type needed
    assert explicit.hparams() == build("ce_eps_mae", "cifar10", "sym").hparams()
    assert build("anl_ce", "cifar10", noise_type="asym").hparams() == build("anl_ce", "cifar10").hparams()
    assert build("ce_eps_mae", "mnist", "idn", alpha=1, beta=1, m=1).hparams()["m"] == 1.0
    assert needs_noise_type("CEε+MAE", "cifar10") and not needs_noise_type("ce_eps_mae", "mnist")
    assert not needs_noise_type("jal_ce", "cifar10")


def test_jal_presets_and_weight_decay_rule():
    assert preset("jal_ce", "cifar10") == {"alpha": 1, "beta": 1, "a": 30, "delta": 5e-5, "lam": 0.0, "p_min": 1e-7}
    assert preset("jal_fl", "cifar100") == {"alpha": 5, "beta": 1, "gamma": 0.5, "a": 20, "delta": 5e-6, "lam": 0.0,
                                            "p_min": 1e-7}
    assert build("jal_ce", "cifar10").l1 == 5e-5 and build("ce_eps_mae", "cifar10", "sym").l1 == 0.0
    decays = {key: default_weight_decay(key, 1e-4) for key in LOSSES}
    assert {key for key, decay in decays.items() if decay == 0.0} == {"anl_ce", "anl_fl", "anl_ce_er", "jal_ce", "jal_fl"}
    assert decays["ce_eps_mae"] == decays["fl_eps_mae"] == 1e-4 and default_weight_decay("JAL-CE", 1e-3) == 0.0


# ----------------------------------------------------------------------------- entropy regulariser
def test_entropy_regulariser_is_kl_to_uniform():
    g = torch.Generator().manual_seed(5)
    for z in (3 * torch.randn(16, 10, generator=g, dtype=torch.float64), torch.randn(1, 4, generator=g)):
        got = entropy_regulariser(z)
        assert got.dtype == (torch.float32 if z.dtype == torch.float32 else torch.float64)
        assert got.item() == pytest.approx(np_entropy_regulariser(z.double().numpy()), rel=1e-5, abs=1e-7)
        assert got.item() > 1e-3
    for uniform in (torch.zeros(8, 6), 5 * torch.eye(6)):  # equal rows, or rows whose mean is uniform
        assert abs(entropy_regulariser(uniform).item()) < 1e-6
    extreme = torch.tensor([[1e4, -1e4, 0.0]])
    assert entropy_regulariser(extreme).item() == pytest.approx(
        np_entropy_regulariser(extreme.double().numpy()), rel=1e-5)
    confident = torch.tensor([[9.0, 0, 0, 0], [8, 0, 1, 0], [0, 9, 0, 0]], dtype=torch.float64)
    for p_min in (0.01, 0.05, 0.2):  # clamps of p and of pbar both bind
        assert entropy_regulariser(confident, p_min).item() == pytest.approx(
            np_entropy_regulariser(confident.numpy(), p_min), rel=1e-12)


def test_entropy_regulariser_gradient():
    z = torch.randn(4, 5, generator=torch.Generator().manual_seed(6), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(entropy_regulariser, (z,))


# ----------------------------------------------------------------------------- objective
def small_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 5)).double()


def test_l1_term_is_delta_times_sum_abs():
    model = small_model()
    z = torch.randn(6, 5, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    objective = build("anl_ce", "cifar10")
    without = objective.data_term(z, y).mean()
    got = objective(z, y, model.parameters())
    total_abs = sum(np.abs(p.detach().numpy()).sum() for p in model.parameters())
    assert (got - without).item() == pytest.approx(5e-5 * total_abs, rel=1e-9)
    assert l1_norm(model.parameters()).item() == pytest.approx(total_abs, rel=1e-12)
    assert l1_norm([]).item() == 0.0
    (got - without).backward()
    for p in model.parameters():
        torch.testing.assert_close(p.grad, 5e-5 * p.detach().sign())


def test_parameters_ignored_without_l1():
    class Exploding:
        def __iter__(self):
            raise AssertionError("parameters were read although delta = 0")

    z, y = torch.randn(2, 3), torch.tensor([0, 2])
    build("nce_rce", "cifar10")(z, y, Exploding())
    with pytest.raises(AssertionError):
        build("nce_rce", "cifar10", delta=1e-3)(z, y, Exploding())


def test_entropy_term_uses_lambda():
    z = 2 * torch.randn(9, 10, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    y = torch.arange(9)
    for dataset, lam in (("cifar10", 2.0), ("cifar100", 0.01)):
        objective = build("anl_ce_er", dataset)
        assert objective.entropy == lam
        extra = objective(z, y) - objective.data_term(z, y).mean()
        assert extra.item() == pytest.approx(lam * np_entropy_regulariser(z.numpy()), rel=1e-9)
    with_er = build("ce", lam=0.5)
    assert (with_er(z, y) - build("ce")(z, y)).item() == pytest.approx(
        0.5 * np_entropy_regulariser(z.numpy()), rel=1e-9)


# ----------------------------------------------------------------------------- reductions and weights
REGISTERED = LOSSES + PIXEL_LOSSES
BATCH_TERMS = {"delta": 1e-3, "lam": 0.5}  # both batch-level terms on, for every loss


def reduction_objective(key, reduction):
    return build(key, "cifar10", "sym", reduction=reduction, **BATCH_TERMS)


def reduction_inputs(key, per_pixel=False):
    """float64 logits and labels: (6, 5) and (6,), or per pixel (3, 4, 2, 5) and (3, 2, 5) (the Dice loss)."""
    g = torch.Generator().manual_seed(21)
    if per_pixel or key in PIXEL_LOSSES:
        return 3 * torch.randn(3, 4, 2, 5, generator=g, dtype=torch.float64), torch.randint(0, 4, (3, 2, 5), generator=g)
    return 3 * torch.randn(6, 5, generator=g, dtype=torch.float64), torch.randint(0, 5, (6,), generator=g)


def np_batch_terms(z, parameters):
    """lam * ER + delta * sum |theta| in float64 numpy, every pixel a row of ER."""
    rows = z.movedim(1, -1).reshape(-1, z.shape[1]).detach().numpy()
    total_abs = sum(np.abs(p.detach().numpy()).sum() for p in parameters)
    return BATCH_TERMS["lam"] * np_entropy_regulariser(rows) + BATCH_TERMS["delta"] * total_abs


@pytest.mark.parametrize("key", REGISTERED)
@pytest.mark.parametrize("per_pixel", [False, True], ids=["rows", "per_pixel"])
def test_none_carries_the_batch_terms_and_reduces_to_mean_and_sum(key, per_pixel):
    if per_pixel and key in PIXEL_LOSSES:
        pytest.skip("the Dice loss has per-pixel input only")
    z, y = reduction_inputs(key, per_pixel)
    parameters = list(small_model().parameters())
    none = reduction_objective(key, "none")(z, y, parameters)
    # one value per sample: per pixel for per-pixel logits, per image for the Dice loss
    assert none.shape == ((z.shape[0],) if key in PIXEL_LOSSES else y.shape)
    data_term = reduction_objective(key, "none").data_term(z, y)
    np.testing.assert_allclose((none - data_term).detach().numpy(), np_batch_terms(z, parameters), rtol=1e-9)
    mean = reduction_objective(key, "mean")(z, y, parameters)
    total = reduction_objective(key, "sum")(z, y, parameters)
    assert mean.ndim == total.ndim == 0
    assert mean.item() == pytest.approx(none.mean().item(), rel=1e-12)
    assert total.item() == pytest.approx(none.sum().item(), rel=1e-12)


@pytest.mark.parametrize("key", REGISTERED)
def test_each_per_sample_value_is_the_loss_of_that_sample_alone(key):
    """none_i = d_i + B(batch), and the batch of sample i alone gives d_i + B(sample i)."""
    z, y = reduction_inputs(key)
    parameters = list(small_model().parameters())
    none = reduction_objective(key, "none")(z, y, parameters)
    alone = torch.stack([reduction_objective(key, "mean")(z[i:i + 1], y[i:i + 1], parameters)
                         - np_batch_terms(z[i:i + 1], parameters) for i in range(len(z))])
    torch.testing.assert_close(none - np_batch_terms(z, parameters), alone, rtol=1e-9, atol=1e-12)


def test_per_pixel_values_are_each_pixel_alone():
    z, y = reduction_inputs("anl_ce", per_pixel=True)
    none = reduction_objective("anl_ce", "none")(z, y) - np_batch_terms(z, [])
    for n, h, w in [(0, 0, 0), (1, 1, 3), (2, 0, 4)]:
        pixel = reduction_objective("anl_ce", "mean")(z[n, :, h, w][None], y[n, h, w][None])
        assert none[n, h, w].item() == pytest.approx(pixel.item() - np_batch_terms(z[n, :, h, w][None], []), rel=1e-9)


@pytest.mark.parametrize("key", REGISTERED)
def test_per_sample_weights(key):
    z, y = reduction_inputs(key)
    parameters = list(small_model().parameters())
    shape = reduction_objective(key, "none").data_term(z, y).shape
    for reduction in ("mean", "sum", "none"):
        objective = reduction_objective(key, reduction)
        assert torch.equal(objective(z, y, parameters, weight=torch.ones(shape, dtype=z.dtype)),
                           objective(z, y, parameters))
    weight = torch.rand(shape, generator=torch.Generator().manual_seed(22), dtype=torch.float64)
    d = reduction_objective(key, "none").data_term(z, y).detach().numpy()
    w, batch = weight.numpy(), np_batch_terms(z, parameters)
    expected = {"mean": np.mean(w * d) + batch, "sum": np.sum(w * d) + d.size * batch, "none": w * d + batch}
    for reduction, value in expected.items():
        got = reduction_objective(key, reduction)(z, y, parameters, weight=weight)
        np.testing.assert_allclose(got.detach().numpy(), value, rtol=1e-9)


def test_default_mean_is_the_objective_as_before():
    """The default reduction adds the terms in the order training always has: bit-identical values."""
    z, y = reduction_inputs("anl_ce_er")
    parameters = list(small_model().parameters())
    objective = build("anl_ce_er", "cifar10", delta=1e-3)
    before = (objective.data_term(z, y).mean() + objective.entropy * entropy_regulariser(z)
              + objective.l1 * l1_norm(parameters))
    assert objective.reduction == "mean" and torch.equal(objective(z, y, parameters), before)


REDUCTION_ERRORS = [
    (lambda: build("ce", reduction="avg"), "unknown reduction 'avg'; valid: mean, sum, none"),
    (lambda: Objective(build("ce").data_term, reduction=None), "unknown reduction None; valid: mean, sum, none"),
    (lambda: build("ce")(torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), weight=torch.ones(3, 1)),
     "weight must have the shape of the per-sample values, (3,) for logits (3, 4), got (3, 1)"),
    (lambda: build("ce")(torch.zeros(3, 4, 2, 2), torch.zeros(3, 2, 2, dtype=torch.long), weight=torch.ones(3)),
     "weight must have the shape of the per-sample values, (3, 2, 2) for logits (3, 4, 2, 2), got (3,)"),
    (lambda: build("dice")(torch.zeros(3, 2, 4, 4), torch.zeros(3, 4, 4, dtype=torch.long),
                           weight=torch.ones(3, 4, 4)),
     "weight must have the shape of the per-sample values, (3,) for logits (3, 2, 4, 4), got (3, 4, 4)"),
    (lambda: build("ce")(torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), weight=torch.ones(3, dtype=torch.long)),
     "weight must be a floating-point tensor, got torch.int64"),
    (lambda: build("ce")(torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), weight=[1.0, 1.0, 1.0]),
     "weight must be a floating-point tensor, got list"),
]


@pytest.mark.parametrize("call, message", REDUCTION_ERRORS, ids=[m for _, m in REDUCTION_ERRORS])
def test_bad_reduction_or_weight_is_a_clear_error(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_presets():
    assert {k: preset("anl_ce", "cifar10")[k] for k in ("alpha", "beta", "delta")} == {
        "alpha": 5, "beta": 5, "delta": 5e-5}
    assert build("anl_ce", dataset="cifar10").hparams() == {
        "alpha": 5.0, "beta": 5.0, "p_min": 1e-7, "delta": 5e-5, "lambda": 0.0}
    assert {k: preset("sce", "mnist")[k] for k in ("alpha", "beta")} == {"alpha": 0.01, "beta": 1}
    assert {k: preset("nce_agce", "cifar100")[k] for k in ("alpha", "beta", "a", "q")} == {
        "alpha": 10, "beta": 0.1, "a": 1.8, "q": 3}
    assert preset("agce", "cifar10") == {"a": 6.0, "q": 1.5, "delta": 0.0, "lam": 0.0, "p_min": 1e-7}
    assert preset("aul", "mnist")["a"] == 3 and preset("ael", "cifar100")["a"] == 1.5
    assert preset("nce_aul", "cifar100")["beta"] == 0.015
    assert preset("nce_rce", "webvision")["alpha"] == 50 and preset("anl_ce", "webvision")["alpha"] == 20
    assert preset("anl_ce_er", "cifar100") == {
        "alpha": 10, "beta": 1, "p_min": 1e-7, "delta": 5e-7, "lam": 0.01}
    assert preset("anl_fl", "mnist") == {"alpha": 1, "beta": 1, "gamma": 0.5, "p_min": 1e-7, "delta": 1e-6,
                                         "lam": 0.0}
    assert preset("sce", "webvision")["alpha"] == 10 and preset("nfl_rce", "mnist")["beta"] == 10
    assert build("gce").hparams()["q"] == 0.7 and build("fl").hparams()["gamma"] == 0.5
    assert build("ce").l1 == 0.0 and build("sce", "cifar10").l1 == 0.0  # L1 only for ANL
    assert isinstance(build("ce"), Objective) and Objective(build("nce").data_term).name == "nce"
    for key in LOSSES:
        if _has_preset(key, "mnist"):
            assert preset(key, "fashion_mnist") == preset(key, "mnist")
            assert preset(key, "Fashion-MNIST") == preset(key, "mnist")


def test_overrides_and_spellings():
    objective = build("anl_ce", "cifar10", alpha=2, delta=0)
    assert (objective.data_term.alpha, objective.data_term.beta, objective.l1) == (2.0, 5.0, 0.0)
    assert build("nce_rce", alpha=1, beta=2).hparams()["beta"] == 2.0
    assert build("ANL-CE-ER", "cifar10", **{"lambda": 3.0}).entropy == 3.0
    assert build("ANL-CE", "cifar10").name == "anl_ce"
    assert build("NCE+RCE", "mnist").name == "nce_rce"
    assert build("gce", q=0.5, p_min=1e-5).hparams() == {"q": 0.5, "p_min": 1e-5, "delta": 0.0, "lambda": 0.0}
    assert build("nnce", p_min=1e-3).data_term.p_min == 1e-3
    for key in LOSSES:
        assert display_name(key) == display_name(display_name(key))
        dataset, objective = configs(key)[0]
        assert rebuild(objective).name == key and build(display_name(key), **hparam_names(objective.hparams())).name == key
        rebuilt = build(key, **objective.hparams())
        assert rebuilt.hparams() == objective.hparams()
    assert [display_name(k) for k in ("anl_ce", "nce_rce", "ce", "anl_ce_er", "jal_fl", "ce_eps_mae")] == [
        "ANL-CE", "NCE+RCE", "CE", "ANL-CE-ER", "JAL-FL", "CEε+MAE"]
    assert build("FLε+MAE", "cifar10", "asym").name == "fl_eps_mae"


LOGITS, LABELS = torch.randn(4, 5), torch.tensor([0, 1, 2, 4])
VALUE_ERRORS = [
    (lambda: build("anl"), "unknown loss 'anl'"),
    (lambda: display_name("foo"), "valid: ce, fl"),
    (lambda: build("ce", "imagenet"), "unknown dataset 'imagenet'; valid: mnist"),
    (lambda: preset("ce", "svhn"), "unknown dataset"),
    (lambda: build("ce", alpha=1.0), "unknown hyperparameter 'alpha' for ce; valid: delta, lam, p_min"),
    (lambda: build("anl_ce"), "dataset-dependent hyperparameters (alpha, beta, delta)"),
    (lambda: build("agce"), "mnist, fashion_mnist, cifar10, cifar100, webvision"),
    (lambda: build("anl_ce_er", "mnist"), "no published preset for ANL-CE-ER on mnist"),
    (lambda: build("anl_ce_er", "mnist"), "pass alpha, beta, delta, lam as keywords"),
    (lambda: build("anl_fl", "webvision"), "no published preset for ANL-FL on webvision"),
    (lambda: preset("nce_ael", "webvision"), "pass alpha, beta, a"),
    (lambda: build("ce_eps_mae", "cifar10"),
     "CEε+MAE's preset on cifar10 depends on the noise type: pass noise_type= one of sym, asym, idn"),
    (lambda: preset("fl_eps_mae", "cifar10"), "or give alpha, beta, m as keywords"),
    (lambda: build("ce_eps_mae", "cifar10", "symmetric"), "unknown noise type 'symmetric'; valid: sym, asym, idn"),
    (lambda: build("ce", noise_type="x"), "unknown noise type 'x'"),
    (lambda: build("ce_eps_mae", "mnist", "sym"),
     "no published preset for CEε+MAE on mnist (published for: cifar10 (sym, asym, idn))"),
    (lambda: build("ce_eps_mae", "cifar100", "sym"), "pass alpha, beta, m as keywords"),
    (lambda: build("jal_ce", "mnist"), "no published preset for JAL-CE on mnist (published for: cifar10, cifar100)"),
    (lambda: build("jal_ce", "cifar10", a=0.5), "a must be >= 1"),
    (lambda: build("ce_eps_mae", "cifar10", "sym", m=-1), "m must be >= 0"),
    (lambda: build("gce", q=0), "q must be > 0, got 0"),
    (lambda: build("agce", "cifar10", q=-1), "q must be > 0"),
    (lambda: build("aul", "cifar10", a=1.0), "a must be > 1"),
    (lambda: build("agce", "cifar10", a=0.0), "a must be > 0"),
    (lambda: build("ael", "cifar10", a=-2), "a must be > 0"),
    (lambda: build("fl", gamma=-0.5), "gamma must be >= 0"),
    (lambda: build("anl_fl", "cifar10", gamma=float("nan")), "gamma must be >= 0"),
    (lambda: build("anl_ce", "cifar10", alpha=-1), "alpha must be >= 0"),
    (lambda: build("sce", "cifar10", beta=-0.1), "beta must be >= 0"),
    (lambda: build("anl_ce", "cifar10", delta=-1e-5), "delta (L1 weight) must be >= 0"),
    (lambda: build("anl_ce_er", "cifar10", lam=-1), "lambda (ER weight) must be >= 0"),
    (lambda: build("nnce", p_min=0.0), "p_min must be > 0 and < 0.5"),
    (lambda: build("gce", q="high"), "q must be a real number"),
    (lambda: build("ce")(LOGITS.long(), LABELS), "logits must be a floating-point tensor, got torch.int64"),
    (lambda: build("ce")(LOGITS[0], LABELS[:1]), "logits must have shape (N, K) or (N, K, *spatial)"),
    (lambda: build("ce")(LOGITS[:, :1], LABELS * 0), "at least 2 classes"),
    (lambda: build("ce")(LOGITS[:0], LABELS[:0]), "logits are empty"),
    (lambda: build("ce")(LOGITS, LABELS.float()),
     "labels must be an integer tensor (int64), got torch.float32"),
    (lambda: build("ce")(LOGITS, LABELS > 0), "labels must be an integer tensor (int64), got torch.bool"),
    (lambda: build("ce")(LOGITS, LABELS[:3]), "labels must have shape (4,)"),
    (lambda: build("ce")(LOGITS, LABELS[:, None]), "labels must have shape (4,)"),
    (lambda: build("ce")(LOGITS, LABELS + 1), "labels must lie in [0, 5), got values in [1, 5]"),
    (lambda: build("nce")(LOGITS, LABELS - 1), "labels must lie in [0, 5), got values in [-1, 3]"),
    (lambda: entropy_regulariser(LOGITS.int()), "logits must be a floating-point tensor"),
    (lambda: entropy_regulariser(LOGITS, p_min=0.5), "p_min must be > 0 and < 0.5"),
]


@pytest.mark.parametrize("call, message", VALUE_ERRORS, ids=[m for _, m in VALUE_ERRORS])
def test_value_errors(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


def test_label_range_not_checked_off_cpu():
    """On other devices the range check is skipped (it would need a device sync): meta tensors
    have no values to read, yet the loss runs."""
    z, y = torch.empty(4, 5, device="meta"), torch.empty(4, dtype=torch.long, device="meta")
    assert build("anl_ce_er", "cifar10")(z, y).shape == ()


# ----------------------------------------------------------------------------- numerics and shapes
@pytest.mark.parametrize("key", LOSSES)
def test_bf16_autocast_computes_in_float32(key):
    _, objective = configs(key)[0]
    model = nn.Linear(8, 5)
    x = torch.randn(6, 8, generator=torch.Generator().manual_seed(9))
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    reference = objective(model(x), y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(x)
        assert logits.dtype == torch.bfloat16
        value = objective(logits, y)
    assert value.dtype == torch.float32
    assert value.item() == objective(logits.float(), y).item()  # the loss itself ran in float32
    assert value.item() == pytest.approx(reference.item(), rel=3e-2, abs=1e-3)
    assert objective(logits.detach().half(), y).dtype == torch.float32


@pytest.mark.parametrize("key", LOSSES)
def test_extreme_logits_are_finite(key):
    for dataset, objective in configs(key):
        one = (torch.tensor([[1e4, -1e4, 3.0, 0.0, -5.0]]), torch.tensor([1]))
        for z, y in (logit_cases(5)["extreme"], one):
            for dtype in (torch.float32, torch.float64, torch.bfloat16):
                inputs = z.to(dtype).requires_grad_(True)
                value = objective(inputs, y)
                (grad,) = torch.autograd.grad(value, inputs)
                assert torch.isfinite(value) and torch.isfinite(grad).all(), (key, dataset, dtype)


@pytest.mark.parametrize("key", LOSSES)
def test_per_pixel_equals_flattened(key):
    _, objective = configs(key)[0]
    g = torch.Generator().manual_seed(10)
    z, y = 3 * torch.randn(2, 5, 3, 4, generator=g), torch.randint(0, 5, (2, 3, 4), generator=g)
    per_pixel = objective.data_term(z, y)
    assert per_pixel.shape == (2, 3, 4)
    flat = objective.data_term(z.permute(0, 2, 3, 1).reshape(-1, 5), y.reshape(-1))
    torch.testing.assert_close(per_pixel.reshape(-1), flat)
    flat_objective = objective(z.permute(0, 2, 3, 1).reshape(-1, 5), y.reshape(-1))
    torch.testing.assert_close(objective(z, y), flat_objective)


def test_float64_stays_float64():
    z = torch.randn(3, 4, dtype=torch.float64)
    assert build("anl_ce_er", "cifar10")(z, torch.tensor([0, 1, 3])).dtype == torch.float64


# ----------------------------------------------------------------------------- report
def test_report_lists_every_loss_and_preset():
    text = report()
    rows = [line.split() for line in text.splitlines()[1:]]
    expected = []
    for key in LOSSES:
        datasets = [None] if configs(key)[0][0] is None else [d for d in DATASETS if _has_preset(key, d)] + [
            f"{d}:{t}" for d in DATASETS if needs_noise_type(key, d) for t in NOISE_TYPES if _has_preset(key, d, t)]
        expected += [(display_name(key), d or "-") for d in datasets]
    assert [(row[0], row[1]) for row in rows] == expected
    assert ("ANL-FL", "webvision") not in expected and ("ANL-CE-ER", "cifar10") in expected
    assert ("CEε+MAE", "cifar10:idn") in expected and ("JAL-FL", "cifar100") in expected
    z = 3 * torch.randn(8, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z = z.numpy()
    log_p = z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    ce_row = next(row for row in rows if row[0] == "CE")
    assert float(ce_row[2]) == pytest.approx(-log_p[np.arange(8), np.arange(8)].mean(), rel=1e-11)
    grad = (np.exp(log_p) - np.eye(10)[np.arange(8)]) / 8
    assert float(ce_row[3]) == pytest.approx(np.linalg.norm(grad), rel=1e-11)
