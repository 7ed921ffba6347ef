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
# # Choosing the hyperparameters
#
# How should one pick α and β (and δ) of a robust loss for a new data set or noise rate? The
# answer given in the issue trackers of this line of work is "grid-search on a validation set",
# and the ANL authors' code holds out 10 % of the training set, with clean labels, for it. Two
# questions follow for a practitioner, who has only noisy labels: does tuning beat the published
# presets, and by how much; and does a validation split with *noisy* labels choose the same
# setting, and what does it cost when it does not? The {doc}`ablations` show why it matters: over
# ANL-CE's (α, β) grid on MNIST's reduced protocol the accuracy moves by tens of points, and the
# preset is not the grid's best.
#
# **The protocol.** Each search (`python -m anl tune`, Optuna's TPE sampler with a median
# pruner; {doc}`using` says how) holds out a stratified 10 % of the training images (split seed
# 42) with their true labels (*clean*) or their noisy ones (*noisy*), trains each trial on the rest
# and takes its last-epoch validation accuracy. The searches run on the reduced protocol (a
# stratified 10,000-image subset, so 9,000 images trained and 1,000 held out, for 30 epochs): a
# trial costs a tenth of a paper-protocol run, and a search of 16 trials at the paper's protocol
# would take over a day of CPU. The setting a search chooses may not be the best one at the
# paper's protocol; what answers the questions is the second step, which trains each chosen
# setting at the paper's protocol (all 60,000 images, 50 epochs, no split) with seeds 1-3, beside
# the presets' runs of the same seeds, and judges "the chosen setting beats the preset" by the
# verdict rule of the {doc}`claims` (paired per-seed differences, 95 % t interval, equivalence
# margin of 1 point of accuracy, stated in advance). Each hyperparameter is drawn log-uniformly
# over a decade either side of its preset:

# %% tags=["parameters"]
# The parameters a reader may set (papermill -p NAME VALUE); one left `...` keeps its default in
# anl.pages.Tuning, and the page prints the values it runs with.
study = ...
results_dir = ...
train_missing = ...
device = ...

# %% tags=["hide-input", "remove-stderr"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from anl import experiments, losses, pages, report
from anl.report import tuning
from anl.results import ResultsStore

page = pages.Tuning.from_parameters(globals())  # a bad parameter stops the page here, in one line
display(Markdown(page.parameters_line()))
report.plot_style()
if page.train_missing:
    experiments.run_study(page.study, ResultsStore(page.results_dir), device=page.device)
searches = tuning.search_rows(page.study, page.results_dir)
trials = tuning.trials_frame(page.study, page.results_dir)
pairs = tuning.chosen_and_preset_runs(page.study, page.results_dir)
compared = tuning.tuned_against_presets(pairs, page.results_dir)
dataset = experiments.study(page.study)[0].base.dataset

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
space = report.search_space_table()
studied = list(dict.fromkeys(losses.display_name(loss) for loss in searches["loss"]))
display(Markdown(report.markdown_table(space.loc[studied, [report.dataset_label(dataset)]])))

# %% [markdown]
# ## Where the searches stand
#
# One row per search: its finished trials (completed, or stopped early by the pruner), and once
# it has all of them the setting it chose with that setting's validation accuracy (against the
# split's own labels, so a noisy split's accuracy is against noisy labels and lower by design).

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
display(Markdown(report.markdown_table(tuning.search_table(searches))))
finished = int((searches["finished"] >= searches["trials"]).sum())
display(Markdown(f"{finished} of {len(searches)} searches finished, {len(trials)} trials recorded. "
                 + ("" if finished == len(searches) else
                    f"The rest are still to run: `python -m anl study {page.study}` runs them (each search "
                    "resumes where it stopped) and then the chosen settings.")))

# %% [markdown]
# ## How sensitive the validation accuracy is
#
# Every trial of each search on the two tuned weights, coloured by its validation accuracy; the
# star is the preset. A flat picture means the preset is as good as any setting in the range; a
# clean and a noisy split that light up in different places choose different settings. One seed
# per trial: the spread between seeds is that of the paper-protocol runs below.

# %% tags=["hide-input"]
if trials.empty:
    display(Markdown("*Waits for the first recorded run: no trial of the study is recorded yet.*"))
else:
    for noise in dict.fromkeys(trials["noise"]):
        shown = trials[trials["noise"] == noise]
        presets = {(loss, noise): losses.preset(loss, dataset, losses.noise_type_of(noise)) for loss in shown["loss"]}
        figure = report.plot_tuning_trials(shown, presets, "alpha", "beta",
                                           f"Trials at {report.noise_label(noise)} (reduced protocol, seed 1)")
        plt.show()

# %% [markdown]
# ## The chosen settings at the paper's protocol
#
# Last-epoch test accuracy, mean ± std over the seeds recorded, of the published preset and of
# the setting each split chose; "vs preset" is the mean paired difference (same seed), judged by
# the verdict rule; the last column is what choosing on noisy labels cost against clean ones.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
display(Markdown(report.markdown_table(tuning.comparison_table(compared))))
chosen = [config for setting, config in pairs if setting != "preset"]
recorded = int(compared.loc[compared["setting"] != "preset", "n"].sum()) if len(compared) else 0
display(Markdown(f"{recorded} of {len(chosen)} runs of the chosen settings recorded." if chosen else
                 "No chosen setting yet: its runs start when its search has finished; the presets' runs are "
                 "those of the paper-protocol grid `mnist-full`."))
