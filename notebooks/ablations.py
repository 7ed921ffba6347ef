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
# # Ablations: regularisation and hyperparameters of ANL-CE
#
# Four questions about ANL-CE, each answered by a small sweep around the data set's published
# preset ($\alpha$, $\beta$, $\delta$):
#
# 1. **L1 against L2.** Is the L1 penalty needed, or does ordinary L2 weight decay do as well at a
#    high noise rate?
# 2. **$\alpha$ and $\beta$.** How sensitive is the test accuracy to the weights of the active
#    (NCE) and negative (NNCE) terms?
# 3. **$\delta$.** How strong must the L1 penalty be?
# 4. **Entropy regulariser.** Does $\lambda \, L_{\mathrm{ER}}$ counter the label imbalance that
#    asymmetric noise creates?
#
# Runs missing from the results store are trained first; runs shared between sections (and with
# the benchmark) are trained once. With the default parameters every section has **one seed on the
# reduced protocol** (10,000 training images, 30 epochs), so its findings are *indicative*: they
# rank settings without a spread to judge the differences by, and on the
# {doc}`benchmark page <benchmark>` a second seed moves ANL-CE's accuracy on this protocol by a
# point or more at high noise. Differences of that size are no evidence either way.

# %% tags=["parameters"]
# The parameters a reader may set (papermill -p NAME VALUE); one left `...` keeps its default in
# anl.pages.Ablations, and the page prints the values it runs with.
dataset = ...
seeds = ...
epochs = ...
train_subset = ...
results_dir = ...
train_missing = ...
device = ...
high_noise = ...
l2_weight_decays = ...
deltas = ...
sensitivity_noise = ...
alphas = ...
betas = ...
er_noise = ...
lambdas = ...

# %% tags=["hide-input", "remove-stderr"]
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from anl import losses, pages, report

page = pages.Ablations.from_parameters(globals())  # a bad parameter stops the page here, in one line
display(Markdown(page.parameters_line()))
report.plot_style()
finding = report.finding_prefix(len(page.seeds), page.epochs, page.train_subset)  # "indicative" with one seed or a reduced protocol
protocol = report.protocol_caption(page.epochs, page.train_subset)  # in every figure's title
base = losses.preset("anl_ce", page.dataset)
sections = page.runs()  # (varied setting, config) by section
runs = report.load_runs([config for entries in sections.values() for config in pages.configs(entries)], page.results_dir,
                        train=page.train_missing, device=page.device)
display(Markdown("**Runs, by section** (the counts the scorecard gives):\n\n" + "\n".join(
    report.run_status(f"{name} section", configs, report.recorded_runs(configs, page.results_dir)[1])
    for name, entries in sections.items() if (configs := list({c.key: c for c in pages.configs(entries)}.values())))
    + "\n\n" + runs.protocol()))

# %% [markdown]
# ## 1. L1 against L2 at a high noise rate
#
# ANL-CE with its L1 penalty and no weight decay (the method), with L2 weight decay instead of L1,
# and with neither, all at a high noise rate (parameter `high_noise`, named in the titles). Lines
# are means over seeds.

# %% tags=["hide-input"]
curves = report.section_runs(runs.epochs, sections["regulariser"], "regulariser")
report.plot_curves_by_setting(curves, "regulariser", f"ANL-CE, {report.noise_label(page.high_noise)}, {protocol}")
plt.show()

# %% [markdown]
# The paper's claim is that L2 does not stop the NNLF from overfitting at high noise, while L1 does:
# the L1 run should keep its test accuracy and a low memorisation to the last epoch.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
regularisers = report.section_runs(runs.summaries, sections["regulariser"], "regulariser")
display(Markdown(report.run_scores_table(regularisers, ["regulariser"])))
display(Markdown(f"{finding} at {report.noise_label(page.high_noise)}, "
                 + report.ranked_finding(regularisers, "regulariser", str)))

# %% [markdown]
# ## 2. Sensitivity to $\alpha$ and $\beta$
#
# Last-epoch test accuracy (%) of ANL-CE for every pair, mean over seeds, at the noise setting of
# the parameter `sensitivity_noise` (named in the title); the table beneath adds the best-epoch
# accuracy and the memorisation of the wrong labels at the last epoch.

# %% tags=["hide-input"]
if sections["alpha_beta"]:
    grid = report.section_runs(runs.summaries, sections["alpha_beta"], "pair")
    grid[["alpha", "beta"]] = pd.DataFrame(grid["pair"].tolist(), index=grid.index)
    heat = grid.groupby(["alpha", "beta"])["final_test_acc"].mean().unstack("beta") * 100
    report.plot_alpha_beta_grid(heat, f"ANL-CE, {report.noise_label(page.sensitivity_noise)}\n{protocol}")
    plt.show()
else:
    display(Markdown("*No alpha/beta runs for these parameters (the parameter list is empty).*"))

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
if sections["alpha_beta"]:
    display(Markdown(report.run_scores_table(grid, ["alpha", "beta"])))
    stacked = heat.stack()
    (best_alpha, best_beta), (worst_alpha, worst_beta) = stacked.idxmax(), stacked.idxmin()
    display(Markdown(f"{finding} over these {len(stacked)} pairs the last-epoch test accuracy spans "
                     f"{stacked.max() - stacked.min():.1f} points, from {stacked.min():.1f} % (α {worst_alpha:g}, "
                     f"β {worst_beta:g}) to {stacked.max():.1f} % (α {best_alpha:g}, β {best_beta:g})."))

# %% [markdown]
# ## 3. Strength of the L1 penalty $\delta$
#
# Last-epoch test accuracy and memorisation against $\delta$ ($\delta = 0$: no regularisation),
# at `high_noise`; the dotted line marks the preset value.

# %% tags=["hide-input"]
sweep = report.section_runs(runs.summaries, sections["delta"], "delta_value")
report.plot_delta_sweep(sweep, base["delta"], f"ANL-CE, {report.noise_label(page.high_noise)}, {protocol}")
plt.show()

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
display(Markdown(f"{finding} at {report.noise_label(page.high_noise)}, "
                 + report.ranked_finding(sweep.sort_values("delta_value"), "delta_value", lambda value: f"δ = {value:g}")))

# %% [markdown]
# ## 4. The entropy regulariser on asymmetric noise
#
# Asymmetric noise moves labels from some classes to others, so the training labels are
# imbalanced although the data are not. The bars compare, per class, the share of test images
# predicted as that class for each $\lambda$ with the share of training labels given to it (grey)
# and the true share (dashed line at the top of each class's group). $\lambda = 0$ is ANL-CE
# without the regulariser.

# %% tags=["hide-input"]
if sections["lambda"]:
    er_runs = report.section_runs(runs.summaries, sections["lambda"], "lam")
    transition = next(record["noise"]["transition"] for record in runs.records
                      if record["key"] == er_runs.iloc[0]["key"])
    report.plot_predicted_class_shares(er_runs, transition, report.class_names(page.dataset),
                                       f"ANL-CE-ER, {report.noise_label(page.er_noise)}, {protocol}")
    plt.show()
else:
    display(Markdown("*No entropy-regulariser runs for these parameters (the parameter list is empty).*"))

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
if sections["lambda"]:
    KL = report.measure("divergence")  # the one unit of the KL divergence on every page
    columns = {"final_test_acc": ("last-epoch test (%)", 100.0, 2),
               "divergence": (f"KL(predicted share ‖ true share) ({KL.unit})", KL.scale, KL.decimals)}
    er_table = er_runs.assign(divergence=er_runs["test_confusion"].map(report.predicted_share_divergence))
    display(Markdown(report.run_scores_table(er_table.rename(columns={"lam": "λ"}), ["λ"], columns)))
    by_lambda = er_table.groupby("lam")[["final_test_acc", "divergence"]].mean()
    balanced, accurate = by_lambda["divergence"].idxmin(), by_lambda["final_test_acc"].idxmax()
    display(Markdown(f"{finding} at {report.noise_label(page.er_noise)} the predictions are closest to the true class "
                     f"shares at λ = {balanced:g} (KL {KL.shown(by_lambda.loc[balanced, 'divergence'])} "
                     f"{KL.unit}, against {KL.shown(by_lambda.loc[0.0, 'divergence'])} without the regulariser) and the test accuracy is "
                     f"highest at λ = {accurate:g} ({100 * by_lambda.loc[accurate, 'final_test_acc']:.1f} %, against "
                     f"{100 * by_lambda.loc[0.0, 'final_test_acc']:.1f} % at λ = 0)."
                     if 0.0 in by_lambda.index else
                     f"{finding} the predictions are closest to the true class shares at λ = {balanced:g} and the "
                     f"test accuracy is highest at λ = {accurate:g}."))
else:
    display(Markdown("*No entropy-regulariser runs for these parameters (the parameter list is empty).*"))
