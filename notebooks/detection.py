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
# # Finding the wrong labels
#
# A robust loss that does not memorise the wrong labels should leave them visible: their loss
# under the given label stays high, and the given class does not win. Every run of this project
# keeps the given and the true label of each training image side by side, so each epoch's pass
# over a fixed sample of 10,000 training images also measures how well two per-image scores rank
# the mislabelled images first (scikit-learn's ROC AUC; 0.5 is chance, 1 a perfect ranking):
#
# - *AUC (loss)*: the per-image loss under the given label, the loss the run trains with;
# - *AUC (margin)*: the best other logit minus the given label's, which does not depend on the loss's scale.
#
# At the last epoch, confident learning {cite}`northcutt2021confident` (cleanlab's
# `find_label_issues` on the model's softmax probabilities) flags the images it believes
# mislabelled, scored by the precision, recall and F1 of the flagged set against the truth. cleanlab
# recommends out-of-sample probabilities; these are in-sample, from the run's own model, and a loss
# that does not memorise may make them good enough: that is one of the things this page measures.
# The out-of-sample reference (4-fold cross-validation of CE on MNIST) is the page's last section.
#
# The questions: which loss detects best, when in training is its detector best (and does
# memorisation erase it), and is the best detector also the most accurate classifier?

# %% tags=["parameters"]
# The parameters a reader may set (papermill -p NAME VALUE); one left `...` keeps its default in
# anl.pages.Detection, and the page prints the values it runs with.
settings = ...
grids = ...
reference_grid = ...
results_dir = ...

# %% tags=["hide-input", "remove-stderr"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from anl import pages, report

page = pages.Detection.from_parameters(globals())  # a bad parameter stops the page here, in one line
display(Markdown(page.parameters_line()))
report.plot_style()
sections = page.runs()  # the configs these parameters name
configs = pages.configs(sections["runs"])
runs, missing = report.recorded_runs(configs, page.results_dir)
scored = report.detection_runs(runs.summaries if runs else None, runs.epochs if runs else None)
unscored = len(configs) - len(missing) - len(scored)

# %% [markdown]
# ## The runs
#
# The paper-protocol runs of the named grids at these settings: those recorded so far, and those
# still training (a page re-executed later shows more). Records written before the detection
# fields existed carry none and are left out (MNIST's `mnist-full` seeds 1-3 among them, which is
# why `mnist-detection` trains seeds 4 and 5).

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
display(Markdown(report.grid_status(sections["runs"], missing) + (f"\n\n{unscored} of the recorded runs predate the "
                                                                   "detection fields and are left out." if unscored else "")))
for dataset in dict.fromkeys(scored["dataset"]):
    keys = set(scored.loc[scored["dataset"] == dataset, "key"])
    display(Markdown(report.protocol_sentence([record for record in runs.records if record["key"] in keys])))

# %% [markdown]
# ## How well each loss finds them, at the last epoch
#
# Per noise setting and loss, mean ± std over the seeds with the detection fields: the last-epoch
# test accuracy, the AUC of both scores at the last epoch, the best AUC (loss) over the epochs and
# the (median) epoch it was reached, and confident learning's precision, recall and F1.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
if len(scored):
    display(Markdown(report.markdown_table(report.detection_table(scored))))
    display(Markdown("\n".join(f"- {line}" for line in report.detection_finding(scored))))
else:
    display(Markdown("*No recorded run carries the detection fields yet: the table waits for the first.*"))

# %% [markdown]
# ## When the detector is best
#
# AUC (loss) and AUC (margin) over the epochs, one line per loss (mean over seeds, shaded ± std
# where there are several), one column per noise setting: a curve that falls late in training is
# memorisation erasing the detector.

# %% tags=["hide-input"]
if len(scored):
    shown = [spec for spec in page.settings if spec in set(scored["noise"])]
    ran = list(dict.fromkeys(scored["loss"]))
    report.plot_curves({"paper protocol": runs.epochs[runs.epochs["key"].isin(scored["key"])]},
                       {"mislabel_auc_loss": "AUC (loss) × 100", "mislabel_auc_margin": "AUC (margin) × 100"},
                       shown, ran, report.loss_colors(ran))
    plt.show()
else:
    display(Markdown("*Waits for the first run with the detection fields.*"))

# %% [markdown]
# ## In-sample or out-of-sample probabilities
#
# cleanlab recommends out-of-sample probabilities: each image's from a model that did not train on
# it. The reference does that on MNIST for CE (the paper's protocol, seed 1): the 10,000 scored
# images are split into 4 folds, stratified by their given labels and seeded, and each of 4 runs
# holds one fold out of training, so each fold's model sees 60,000 − 2,500 = 57,500 images, nearly
# the in-sample runs' 60,000. The 4 held-out folds' probabilities at the last epoch, joined, give
# confident learning on the whole sample, set here beside the in-sample F1 of each loss (seeds as
# above; the reference's seed draws its own noisy labels at the same rate). A robust loss whose
# in-sample F1 reaches the reference's does not need the k-fold runs.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
reference_configs = sections["reference"]
if reference_configs:
    reference_runs, reference_missing = report.recorded_runs(reference_configs, page.results_dir)
    reference = report.out_of_sample_runs(reference_runs.records if reference_runs else [])
    display(Markdown(report.run_status(page.reference_grid, reference_configs, reference_missing)))
    shown = [spec for spec in page.settings if spec in {config.noise for config in reference_configs}]
    in_sample = scored[scored["dataset"].isin({config.dataset for config in reference_configs})]
    display(Markdown(report.markdown_table(report.out_of_sample_table(in_sample, reference, shown))))
else:
    display(Markdown("*No reference grid named: the out-of-sample reference is not shown.*"))
