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
# # Label-noise models
#
# The noise models of `anl.noise` applied to the real training labels. A transition matrix $T$
# has one row per true class and one column per given label: $T_{ij}$ is the fraction of class-$i$
# samples labelled $j$. Symmetric and asymmetric noise flip **exact counts**,
# $\lfloor T_{ij} n_i \rfloor$ samples of class $i$ to $j$, as the authors do, so realised rates sit
# just under the nominal ones. Instance-dependent noise (IDN, Xia et al. {cite}`xia2020part`)
# draws a flip rate per sample and a flip direction from its pixels, and CIFAR-10N
# {cite}`wei2022learning` is real human labelling; for those the page shows the **realised**
# (empirical) matrix. IDN has two definitions that differ a lot; the last section sets them side
# by side.

# %% tags=["parameters"]
# The parameters a reader may set (papermill -p NAME VALUE); one left `...` keeps its default in
# anl.pages.Noise, and the page prints the values it runs with.
seed = ...
heatmap_rate = ...
cifar10n_heatmaps = ...
sym_rates = ...
asym_rates = ...
idn_rates = ...
cifar10n_sets = ...

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from anl import noise, pages, report
from anl.data import load_dataset

page = pages.Noise.from_parameters(globals())  # a bad parameter stops the page here, in one line
display(Markdown(page.parameters_line()))
report.plot_style()
datasets = {name: load_dataset(name) for name in ("mnist", "cifar10")}
display(Markdown(report.data_protocol(datasets.values(), page.seed)))

# %% tags=["hide-input"]
def noisy(spec: str, dataset: str) -> noise.NoisyLabels:
    data = datasets[dataset]
    return noise.apply_noise(spec, data.train_labels.numpy(), dataset=dataset, num_classes=data.num_classes,
                             seed=page.seed, images=data.train_images.numpy())


# %% [markdown]
# ## Transition matrices
#
# First the nominal matrices of symmetric noise ($T_{ii} = 1 - \eta$, $T_{ij} = \eta/(K-1)$)
# and of the asymmetric class maps (MNIST 7→1, 2→7, 5↔6, 3→8; CIFAR-10 truck→automobile,
# bird→airplane, cat↔dog, deer→horse), then the realised matrices of instance-dependent
# noise on CIFAR-10 and of the CIFAR-10N human label sets. Each cell gives $T_{ij}$ in %; cells
# that round to 0 % are left blank.

# %% tags=["hide-input"]
rate = page.heatmap_rate
panels = [
    (noise.symmetric_matrix(10, rate), "mnist", f"symmetric, η = {rate:g}\n(nominal)"),
    (noise.asymmetric_matrix("mnist", rate), "mnist", f"MNIST asymmetric, η = {rate:g}\n(nominal)"),
    (noise.asymmetric_matrix("cifar10", rate), "cifar10", f"CIFAR-10 asymmetric, η = {rate:g}\n(nominal)"),
    (noisy(f"idn:{rate:g}", "cifar10").transition, "cifar10", f"CIFAR-10 IDN, η = {rate:g}\n(realised)"),
    *[(noisy(f"cifar10n:{which}", "cifar10").transition, "cifar10", f"CIFAR-10N {which}\n(realised)")
      for which in page.cifar10n_heatmaps],
]
report.plot_transition_matrices(panels)
plt.show()

# %% [markdown]
# IDN on raw pixels (`idn`) concentrates each class's flips on a few classes chosen by the random
# projections, not on semantically close ones (the last section shows why, and the other
# definitions); CIFAR-10N's human errors do follow semantics (cat↔dog, truck↔automobile,
# deer→horse), which is what the asymmetric maps imitate.
#
# ## Realised noise rates
#
# The fraction of training samples whose given label differs from the true one. For asymmetric
# noise only the mapped classes flip, so the overall rate is about half the nominal $\eta$ on
# MNIST (5 of 10 classes) and CIFAR-10 (5 of 10 classes). The generated IDN's realised rate
# (`idn` on raw, `idn-norm` on normalised pixels) is near $\eta$ with a spread from the truncated
# normal per-sample rates; the fixed IDN labels (`idn-file`, CIFAR-10 only) flip exactly a fraction
# $\eta$; CIFAR-10N's are the published rates of the human label sets.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
specs = (["clean"] + [f"sym:{r:g}" for r in page.sym_rates] + [f"asym:{r:g}" for r in page.asym_rates]
         + [f"{kind}:{r:g}" for kind in ("idn", "idn-norm", "idn-file") for r in page.idn_rates]
         + [f"cifar10n:{which}" for which in page.cifar10n_sets])
lines = ["| noise | nominal | MNIST realised (%) | CIFAR-10 (JPEG q75 copy) realised (%) |", "|---|---:|---:|---:|"]
for spec in specs:
    nominal = "–" if spec.startswith("cifar10n") else f"{report.nominal_rate(spec):g}"
    cifar10_only = spec.partition(":")[0] in noise.CIFAR10_ONLY_KINDS
    cells = ["–" if cifar10_only and dataset != "cifar10" else f"{100 * noisy(spec, dataset).rate:.2f}"
             for dataset in ("mnist", "cifar10")]
    lines.append(f"| {report.noise_label(spec)} | {nominal} | {cells[0]} | {cells[1]} |")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Instance-dependent noise: three definitions
#
# The published IDN numbers of ANL were trained on a **fixed label file** (`idn-file`), made by
# the code of the Joint Asymmetric Loss paper {cite}`wang2025joint`: exactly
# $\lfloor \eta N \rfloor$ images chosen uniformly, each flipped to a class drawn from
# $\mathrm{softmax}(x W_y)$ without the true class,
# $x$ the augmented, mean/std-normalised image. Our generator (`idn`) follows Xia et al. on raw
# pixels in $[0, 1]$: all positive, so $x W_y$ is dominated by the class-wide term (the image's
# brightness times the column sums of $W_y$) and most of a class's flips go to one class, much like
# asymmetric noise on random class pairs. The same generator on pixels normalised per channel to
# mean 0 and standard deviation 1 (`idn-norm`, per-sample flip rates as `idn`) spreads them as the
# file does. Two statistics of where class $i$'s flips go, $F_{ij} = T_{ij} / \sum_{k \neq i} T_{ik}$
# over the wrong classes $j$: the share of its **top target**, $\max_j F_{ij}$ (1 for asymmetric
# noise, 1/9 for symmetric), and the **effective number of targets**,
# $\exp(-\sum_j F_{ij} \ln F_{ij})$ (1 for asymmetric, 9 for symmetric). CIFAR-10N `worst`, human
# errors at a similar rate, is set beside them. A result on IDN is comparable with the published
# numbers only on `idn-file`.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
definitions = {
    f"idn {page.heatmap_rate:g} (raw pixels)": noisy(f"idn:{page.heatmap_rate:g}", "cifar10"),
    f"idn-norm {page.heatmap_rate:g} (normalised pixels)": noisy(f"idn-norm:{page.heatmap_rate:g}", "cifar10"),
    f"idn-file {page.heatmap_rate:g} (fixed labels)": noisy(f"idn-file:{page.heatmap_rate:g}", "cifar10"),
    "CIFAR-10N worst (human)": noisy("cifar10n:worst", "cifar10"),
}
top = {name: noise.top_target_share(labels) for name, labels in definitions.items()}
spread = {name: noise.effective_targets(labels) for name, labels in definitions.items()}
lines = ["| definition | realised rate (%) | top-target share, class mean (%) | effective targets, class mean |",
         "|---|---:|---:|---:|"]
for name, labels in definitions.items():
    lines.append(f"| {name} | {100 * labels.rate:.2f} | {100 * top[name].mean():.1f} | {spread[name].mean():.2f} |")
display(Markdown("\n".join(lines)))

# %% [markdown]
# Per class, the top-target share (%) / the effective number of targets:

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
classes = report.class_names("cifar10")
lines = ["| true class | " + " | ".join(definitions) + " |", "|---|" + "---:|" * len(definitions)]
for index, name in enumerate(classes):
    cells = [f"{100 * top[definition][index]:.0f} / {spread[definition][index]:.1f}" for definition in definitions]
    lines.append(f"| {name} | " + " | ".join(cells) + " |")
display(Markdown("\n".join(lines)))

# %% [markdown]
# Their realised transition matrices on the CIFAR-10 training labels (in %):

# %% tags=["hide-input"]
report.plot_transition_matrices([(labels.transition, "cifar10", name.replace(" (", "\n("))
                                 for name, labels in definitions.items()])
plt.show()
