# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The losses and their gradients
#
# This page checks two properties of the losses in `anl.losses` numerically, on random logits,
# with no training: which losses are **symmetric** (their sum over all labels is the same for
# every input), and how the **logit gradient** of each loss depends on the probability $p(y|x)$
# the model gives the labelled class. Both are the paper's arguments for ANL; the
# {doc}`method chapter <../method>` has the derivation.
#
# With $p = \mathrm{softmax}(z)$ over $K$ classes and $p_{\min} = 10^{-7}$:
#
# $$
# \begin{aligned}
# \mathrm{CE} &= -\log p_y, &
# \mathrm{NCE} &= \frac{-\log p_y}{-\sum_k \log p_k}, \\
# \mathrm{FL} &= -(1-p_y)^\gamma \log p_y, &
# \mathrm{NFL} &= \frac{\mathrm{FL}_y}{\sum_k \mathrm{FL}_k}, \\
# \mathrm{NNCE} &= 1 - \frac{A + \log p_y}{\sum_k (A + \log p_k)}, &
# \mathrm{NNFL} &= 1 - \frac{A_{\mathrm{FL}} - \mathrm{FL}_y}{K A_{\mathrm{FL}} - \sum_k \mathrm{FL}_k}, \\
# \mathrm{MAE} &= 1 - p_y, &
# \mathrm{RCE} &= -\log(10^{-4}) \textstyle\sum_{k \ne y} p_k, \\
# \mathrm{GCE} &= \frac{1 - p_y^q}{q},
# \end{aligned}
# $$
#
# with $A = -\log p_{\min}$, $A_{\mathrm{FL}} = -(1-p_{\min})^\gamma \log p_{\min}$, $\gamma = 0.5$,
# $q = 0.7$, and the focal factor $(1-p_k)^\gamma$ treated as a constant when differentiating (as
# the authors' code does). ANL-CE $= \alpha\,\mathrm{NCE} + \beta\,\mathrm{NNCE}$ and
# ANL-FL $= \alpha\,\mathrm{NFL} + \beta\,\mathrm{NNFL}$; APL pairs such as NCE+MAE are
# $\alpha\,\mathrm{active} + \beta\,\mathrm{passive}$.
#
# Two later losses from the same line of work use ANL's CIFAR-10 protocol. JAL (Joint Asymmetric
# Loss, ICCV 2025) replaces the passive loss by the asymmetric mean square error
# $\mathrm{AMSE} = \frac{1}{K}\sum_k (p_k - a\,[k = y])^2$: JAL-CE $= \alpha\,\mathrm{NCE} + \beta\,\mathrm{AMSE}$,
# JAL-FL $= \alpha\,\mathrm{NFL} + \beta\,\mathrm{AMSE}$. ε-softmax (NeurIPS 2024) moves $p$ towards
# the one-hot vector of its argmax, $\tilde p = (p + m\,\mathrm{onehot}(\arg\max p)) / (1 + m)$
# (clamped below at $10^{-8}$; the one-hot is a constant when differentiating), and adds the
# L1 distance $\lVert p - \mathrm{onehot}(y) \rVert_1 = 2(1 - p_y)$:
# CEε+MAE $= -\alpha \log \tilde p_y + 2\beta(1 - p_y)$, FLε+MAE likewise with
# $-(1-\tilde p_y)^{\gamma}\log \tilde p_y$, $\gamma = 0.1$. ε-softmax's presets depend on the noise
# type: this page takes the one named by `preset_noise_type`.

# %% tags=["parameters"]
# The parameters a reader may set (papermill -p NAME VALUE); one left `...` keeps its default in
# anl.pages.Losses, and the page prints the values it runs with.
num_classes = ...
num_inputs = ...
logit_scale = ...
seed = ...
preset_dataset = ...
preset_noise_type = ...

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from anl import losses, pages, report

page = pages.Losses.from_parameters(globals())  # a bad parameter stops the page here, in one line
display(Markdown(page.parameters_line()))
report.plot_style()


def data_term(name: str) -> losses.Loss:
    """The per-sample loss of ``name``, with the preset of ``preset_dataset`` (and
    ``preset_noise_type``) where it needs one."""
    try:
        return losses.build(name).data_term
    except ValueError:
        return losses.build(name, page.preset_dataset, page.preset_noise_type).data_term


# %% [markdown]
# ## Which losses are symmetric
#
# A loss is symmetric when $\sum_{k=1}^{K} L(f(x), k) = C$ for every input $x$; Ghosh et al.
# {cite}`ghosh2017robust` show that such a loss is tolerant to symmetric label noise with
# $\eta < (K-1)/K$. The table evaluates $S(x) = \sum_k L(f(x), k)$ on random float64 logits and
# reports its range over the inputs: a symmetric loss has a spread of zero (up to rounding).

# %% tags=["hide-input"]
generator = torch.Generator().manual_seed(page.seed)
logits = page.logit_scale * torch.randn(page.num_inputs, page.num_classes, generator=generator, dtype=torch.float64)
rows = []
for name in losses.LOSSES:
    term = data_term(name)
    sums = sum(term(logits, torch.full((page.num_inputs,), label, dtype=torch.long)) for label in range(page.num_classes))
    low, high = sums.min().item(), sums.max().item()
    rows.append((losses.display_name(name), low, high, high - low, high - low <= 1e-5 * max(1.0, abs(high))))

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
header = (f"$S(x) = \\sum_k L(f(x), k)$ on {page.num_inputs:,} random inputs, $K$ = {page.num_classes}:\n\n"
          "| loss | min over x of S(x) | max over x of S(x) | spread | symmetric |\n|---|---:|---:|---:|:---:|\n")
display(Markdown(header + "\n".join(
    f"| {name} | {low:.4f} | {high:.4f} | {f'{spread:.1e}' if spread >= 1e-10 else '< 1e-10'} | {'yes' if symmetric else 'no'} |"
    for name, low, high, spread, symmetric in rows)))

# %% [markdown]
# MAE, RCE, NCE, NFL, NNCE and NNFL are symmetric, and so is any positive combination of them
# (the APL pairs NCE+MAE, NCE+RCE and NFL+RCE, ANL-CE, ANL-FL): NNCE and NNFL sum to exactly
# $K - 1$. CE, FL, GCE and SCE are not, and neither are the asymmetric losses AGCE, AUL and AEL
# (they are robust through a different condition, asymmetry). RCE's sum moves slightly because $p$
# is clamped at $p_{\min}$ before summing: its spread of about $10^{-5}$ is $10^{-7}$ of its value.
# JAL-CE, JAL-FL, CEε+MAE and FLε+MAE are not symmetric either: AMSE is asymmetric instead (for
# $a$ above a bound set by the noise), and ε-softmax relaxes the symmetric condition by a
# controlled error.
# The losses with data-set-dependent hyperparameters use the preset named by `preset_dataset`.

# %% [markdown]
# ## Gradient analysis: which samples each loss learns from
#
# The figure follows the paper's gradient analysis. For a logit vector with $z_y = t$ and
# $z_k = 0$ for $k \ne y$, $p(y|x) = e^t / (e^t + K - 1)$; sweeping $t$ traces the norm of the
# gradient $\lVert \partial L / \partial z \rVert_2$ against $p(y|x)$. A mislabelled sample
# typically has a small $p(y|x)$ for its wrong label, so a loss whose gradient is large at small
# $p(y|x)$ (CE, FL, NCE, NFL) keeps fitting it, MAE weighs every sample about alike, and the
# negative losses NNCE and NNFL put their weight on samples the model already fits, mostly the
# clean ones.

# What the figure below shows (each term unweighted; JAL and the ε-softmax losses whole, at their
# presets): CE's and FL's gradients shrink as $p(y|x) \to 1$ and are largest on the samples the
# model contradicts; the normalised active losses NCE and NFL behave alike with much smaller
# magnitudes, the reason APL adds a passive term. MAE's gradient vanishes at both ends and peaks
# at $p(y|x) = 1/2$; at $p(y|x) = 0.1$ it is a tenth of CE's, and less below, so APL with MAE
# learns slowly from the samples it does not fit yet, which is why it converges slowly. MAE's
# gradient is small only next to CE's: NNCE's and NNFL's are about 10 to 40 times smaller than
# MAE's for $0.1 \le p(y|x) \le 0.9$ (their normaliser, about $K A \approx 161$, keeps them small),
# and the presets' weights do not close the gap (the table under the figure). What the negative
# losses change is the shape, not the size: NNCE and NNFL are nearly flat for small $p(y|x)$ and
# grow as $p(y|x) \to 1$, so that unlike CE they do not single out the samples the model
# contradicts, and unlike MAE they keep pushing on the samples that are already being learned,
# which under label noise are mostly the correctly labelled ones. The
# {doc}`dynamics page <dynamics>` checks this on real training runs. JAL and the ε-softmax losses
# at their presets are shaped like MAE, about six (JAL) and ten (ε-softmax) times larger: their
# passive terms (AMSE with $a$ = 30, the L1 distance with $\beta$ = 5) dominate, and like MAE they
# vanish at both ends.

# %% tags=["hide-input"]
def gradient_norms(name: str, t: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(p_y, ||dL/dz||) for logits z_y = t, z_k = 0 otherwise, label 0."""
    z = torch.zeros(len(t), page.num_classes, dtype=torch.float64)
    z[:, 0] = t
    z.requires_grad_(True)
    values = data_term(name)(z, torch.zeros(len(t), dtype=torch.long))
    (gradient,) = torch.autograd.grad(values.sum(), z)
    return torch.softmax(z.detach(), 1)[:, 0].numpy(), gradient.norm(dim=1).numpy()


t = torch.linspace(-8.0, 14.0, 600, dtype=torch.float64)
families = {"CE family": ["ce", "nce", "nnce", "jal_ce", "ce_eps_mae", "mae"],
            "focal family": ["fl", "nfl", "nnfl", "jal_fl", "fl_eps_mae", "mae"]}
norms = {family: {name: gradient_norms(name, t) for name in names} for family, names in families.items()}
report.plot_gradient_norms(norms, f"Logit-gradient norm against p(y|x), K = {page.num_classes}, other logits equal")
plt.show()


# %% [markdown]
# The passive terms as their losses weigh them, at the preset of `preset_dataset`: the
# logit-gradient norm of MAE and NNCE alone, and multiplied by the $\beta$ of NCE+MAE and of
# ANL-CE, at a few values of $p(y|x)$, with CE's for scale.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
at = [0.1, 0.5, 0.9, 0.99]


def norm_at(name: str, weight: float = 1.0) -> list[float]:
    """The gradient norm of ``weight`` times ``name`` at the values ``at`` of p(y|x), read off the swept curve."""
    p, norm = gradient_norms(name, t)
    return list(weight * np.interp(at, p[np.argsort(p)], norm[np.argsort(p)]))


rows = {"CE": norm_at("ce"), "MAE": norm_at("mae"), "NNCE": norm_at("nnce")}
for loss, term in (("nce_mae", "MAE"), ("anl_ce", "NNCE")):
    beta = losses.preset(loss, page.preset_dataset)["beta"]
    rows[f"β·{term} in {losses.display_name(loss)} (β = {beta:g})"] = norm_at(term.lower(), beta)
display(Markdown(
    f"Logit-gradient norm, {report.dataset_label(page.preset_dataset)} presets:\n\n"
    "| term | " + " | ".join(f"p(y\\|x) = {p:g}" for p in at) + " |\n|---|" + "---:|" * len(at) + "\n"
    + "\n".join(f"| {name} | " + " | ".join(f"{value:.4f}" for value in values) + " |" for name, values in rows.items())))

