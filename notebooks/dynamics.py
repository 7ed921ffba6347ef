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
# # Training dynamics: convergence and memorisation
#
# The paper makes two claims about how ANL trains: it **converges** much faster than APL with MAE
# as the passive loss, and its negative loss **focuses on clean samples**, so the network does not
# memorise the mislabelled ones. Both are checked here on real training runs, epoch by epoch:
#
# - *test accuracy* on the clean test set;
# - *clean fit*: accuracy on the correctly labelled training images against their labels;
# - *memorisation*: accuracy on the **mislabelled** training images against their **wrong**
#   given labels, the fraction of label noise the network has learned (0 is ideal).
#
# The training-set metrics use a fixed sample of training images, the same in every run. Runs
# missing from the results store are trained first.

# %% tags=["parameters"]
# The parameters a reader may set (papermill -p NAME VALUE); one left `...` keeps its default in
# anl.pages.Dynamics, and the page prints the values it runs with.
dataset = ...
loss_names = ...
noises = ...
seeds = ...
epochs = ...
train_subset = ...
results_dir = ...
train_missing = ...
device = ...
convergence_fraction = ...
early_epochs = ...

# %% tags=["hide-input", "remove-stderr"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from anl import pages, report

page = pages.Dynamics.from_parameters(globals())  # a bad parameter stops the page here, in one line
display(Markdown(page.parameters_line()))
report.plot_style()
runs = report.load_runs(page.runs()["runs"], page.results_dir, train=page.train_missing, device=page.device)
display(Markdown(runs.protocol()))

# %% [markdown]
# ## Curves over epochs
#
# One column per noise setting; lines are means over seeds (shaded: ± std where there are several).

# %% tags=["hide-input"]
metrics = {"test_acc": "test accuracy (%)", "clean_acc": "clean fit (%)",
           "noisy_acc_given": "memorisation (%)"}
report.plot_curves({"runs": runs.epochs}, metrics, page.noises, page.loss_names, report.loss_colors(page.loss_names))
plt.show()

# %% [markdown]
# Read the figure against the paper's claims: a loss that memorises climbs in the bottom row as
# training goes on and loses test accuracy at the same time (CE is the reference case); a robust
# loss keeps memorisation near zero while its clean fit rises. Slow convergence shows as a test
# accuracy that is still climbing at the last epoch, the behaviour the paper attributes to
# NCE+MAE. The numbers are ours, from the protocol stated above, not the paper's published ones.

# %% [markdown]
# ## Summary
#
# Convergence by the definition below, the one the claims page uses too; *memorisation* is read
# at the last epoch and, as *peak*, at its maximum over training. Mean ± std over seeds.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
per_run = report.run_dynamics(runs.epochs, page.convergence_fraction)
if page.early_epochs:
    per_run = per_run.merge(report.accuracy_at_epochs(runs.epochs, page.early_epochs), on=["key", "loss", "noise", "seed"])
per_run = per_run.sort_values("noise", key=lambda specs: specs.map(page.noises.index), kind="stable")  # noise, then loss
columns = {"reached_bar": ("epochs to the bar", 1.0, 1),
           **{f"test_acc_at_{epoch}": (f"test after epoch {epoch} (%)", 100.0, 2) for epoch in page.early_epochs},
           "final_test": ("last-epoch test (%)", 100.0, 2),
           "final_memorisation": ("memorisation, last (%)", 100.0, 2),
           "peak_memorisation": ("memorisation, peak (%)", 100.0, 2)}
table = report.run_scores_table(per_run, ["noise", "loss"], columns,
                                names={"noise": report.noise_cell, "loss": lambda loss: report.loss_label(loss, page.dataset)})
bars = per_run.groupby("noise", sort=False)["bar"].first()
display(Markdown(report.convergence_rule(page.convergence_fraction) + " The bar: "
                 + ", ".join(f"{report.noise_label(spec)} {100 * bar:.2f} %" for spec, bar in bars.items())
                 + ".\n\n" + table))
