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
# # The paper's claims against our runs
#
# Each row of the tables below is one claim of the ANL papers, tested on the committed run records
# by a rule stated in advance, below: **every candidate beats every baseline** on the named measure,
# or for memorisation also **every candidate clears an absolute bar** (beating CE is not enough if
# ANL still fits many wrong labels). Applied to each seed's runs alone, the rule gives one
# difference per seed: the worst candidate minus the best baseline (or minus the bar), signed so
# that a positive difference favours the claim. The *paired difference* is their mean ± std over
# the seeds where every loss ran (their number in brackets), its *interval* the 95 % t interval, and
# the verdict is taken on them; *seeds* counts the seeds whose difference favours the claim. One row
# is not the paper's: *beats the newest robust losses* sets ANL against JAL-CE (ICCV 2025) and CEε+MAE
# (NeurIPS 2024), which came after it and report beating it at its protocol. Rows drawn from a reduced protocol are labelled *indicative only*: that protocol
# leaves ANL underfitted, so a verdict there is a statement about the protocol as much as the loss.
# At noise settings taken from named grids, where not every loss ran, a row compares the candidates
# and baselines recorded there, named in the second table. Nothing here is written by hand: change
# the parameters and the verdicts are recomputed. The pages behind each row show the curves and the
# full tables: {doc}`benchmark`, {doc}`cifar10`, {doc}`dynamics`, {doc}`ablations` and
# {doc}`segmentation`.

# %% tags=["parameters"]
dataset = "mnist"
anl_losses = ["anl_ce", "anl_fl"]  # the candidates: ANL with CE and with FL as the active loss
baseline_losses = ["ce", "gce", "nce_mae", "nce_rce", "nce_agce"]  # the paper's baselines
slow_losses = ["nce_mae"]  # APL with MAE, which the paper says converges slowly; [] to skip
noises = ["sym:0.8", "asym:0.4"]
seeds = [1, 2, 3]
epochs = None  # None (with train_subset None): the paper's protocol for the data set
train_subset = None  # size of the stratified training subset, None for the full training set
precision = "fp32"  # of these runs' forward and backward (the loss is float32): part of each run's key
grids = []  # named grids whose recorded runs (this protocol, other noise settings) test the claims too
newest_grids = ["mnist-newest"]  # grids of the newest robust losses (JAL, ε-softmax): ANL against their recorded runs
convergence_fraction = 0.95  # the convergence bar: this fraction of the best loss's last-epoch test accuracy
early_epochs = [5, 10]  # convergence also as the test accuracy after these epochs; [] to skip
memorisation_bar = 0.10  # the absolute bar: ANL fits fewer than this share of the wrong labels at the last epoch
ablation_seeds = [1]  # of the L1 against L2 runs
ablation_epochs = 30  # the ablations ran on the reduced protocol
ablation_train_subset = 10000
high_noise = "sym:0.8"  # noise of the L1 against L2 comparison
l2_weight_decays = [1e-3, 1e-4]
er_noises = ["asym:0.2", "asym:0.4"]  # where ANL-CE-ER is compared with ANL-CE (ablation protocol)
er_seeds = [1, 2]
er_lambda = 2.0  # lambda of ANL-CE-ER, with ANL-CE's alpha, beta, delta
segmentation_candidates = ["anl_ce"]
segmentation_baselines = ["ce", "gce", "nce_rce"]  # per-pixel losses
segmentation_reference = ["dice"]  # the segmentation loss users expect, compared separately; [] to skip
segmentation_noises = ["boundary:1:8-16", "shift:1:8-16"]
segmentation_seeds = [1, 2]
segmentation_protocol = "reduced"  # see anl.experiments.SEGMENTATION_PROTOCOLS
results_dir = None  # results folder, None for results/ of the repository
train_missing = True  # train runs missing from the store, else stop and list them
device = "auto"

# %% tags=["hide-input", "remove-stderr"]
import pandas as pd
from IPython.display import Markdown, display

from anl import experiments, pages, report

pages.check_parameters("claims", globals())  # a bad parameter stops the page here, in one line
sections = pages.page_runs("claims", globals())  # the configs these parameters name, by section


def load(configs: list) -> report.RunSet | None:
    return report.load_runs(configs, results_dir, train=train_missing, device=device) if configs else None


paper = load(sections["paper"])
grid_runs, _ = report.recorded_runs(pages.configs(sections["grids"]), results_dir)
newest, newest_missing = report.recorded_runs(pages.configs(sections["newest"]), results_dir)
regulariser = load(pages.configs(sections["regulariser"]))
entropy = load(sections["er"])
masks = load(sections["masks"])

# %% [markdown]
# ## Verdicts

# %% tags=["hide-input"]
display(Markdown(report.rule_text() + "\n\n" + report.convergence_rule(convergence_fraction)))

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
rows = []


def add(claim: str, protocol: str, setting: str, measure: str, check: report.ClaimCheck, judged_on: str,
        names=str) -> None:
    """A row of the verdict tables: ``check`` shown and judged in the measure ``judged_on`` of report.MEASURES."""
    cells = check.cells(report.measure(judged_on), names)
    rows.append({"claim": claim, "protocol": protocol, "setting": setting, "measure": measure, **cells})


loss_name = {"names": lambda loss: report.loss_label(loss, dataset)}
benchmark_protocol = report.protocol_label(epochs, train_subset)
ablation_protocol = report.protocol_label(ablation_epochs, ablation_train_subset)
reduced_protocols = {benchmark_protocol, ablation_protocol} - {report.protocol_label(None, None)}


def add_noise_claims(runs: report.RunSet, spec: str, protocol: str) -> None:
    """The robustness, memorisation and convergence rows at noise ``spec``, each with the candidates
    and baselines that ran there."""
    summaries, label = runs.summaries[runs.summaries["noise"] == spec], report.noise_cell(spec)
    ran = set(summaries["loss"])
    candidates, baselines, slow = ([loss for loss in group if loss in ran]
                                   for group in (anl_losses, baseline_losses, slow_losses))
    if not candidates or not baselines:
        return
    add("robust at high noise", protocol, label, "last-epoch test accuracy (%)",
        report.claim_check(summaries, "loss", "final_test_acc", candidates, baselines), "accuracy", **loss_name)
    add("does not memorise wrong labels", protocol, label, "wrong labels fitted, last epoch (%)",
        report.claim_check(summaries, "loss", "final_noisy_acc_given", candidates, baselines, higher_is_better=False),
        "memorisation", **loss_name)
    add(f"fits under {100 * memorisation_bar:g}\u00a0% of the wrong labels", protocol, label,
        "wrong labels fitted, last epoch (%)",
        report.bar_check(summaries, "loss", "final_noisy_acc_given", candidates, memorisation_bar, higher_is_better=False),
        "memorisation", **loss_name)
    if not slow:
        return
    epochs_run = runs.epochs[runs.epochs["noise"] == spec]  # every loss there sets the convergence bar
    early = report.accuracy_at_epochs(epochs_run, early_epochs)
    for epoch in early_epochs:
        add(f"converges faster than APL with MAE: accuracy after epoch {epoch}", protocol, label,
            f"test accuracy after epoch {epoch} (%)",
            report.claim_check(early, "loss", f"test_acc_at_{epoch}", candidates, slow), "accuracy", **loss_name)
    add("converges faster than APL with MAE: epochs to the convergence bar", protocol, label,
        f"epochs to {100 * convergence_fraction:g} % of the best loss's last-epoch test accuracy",
        report.claim_check(report.run_dynamics(epochs_run, convergence_fraction), "loss", "reached_bar", candidates,
                           slow, higher_is_better=False), "epochs", **loss_name)


for spec in noises:
    add_noise_claims(paper, spec, benchmark_protocol)
for spec in dict.fromkeys(grid_runs.summaries["noise"]) if grid_runs else ():
    add_noise_claims(grid_runs, spec, benchmark_protocol)

if newest:
    anl_runs = pd.concat([runs.summaries for runs in (paper, grid_runs) if runs])
    for spec in dict.fromkeys(config.noise for config in pages.configs(sections["newest"])):
        rivals = list(dict.fromkeys(config.loss for config in pages.configs(sections["newest"]) if config.noise == spec))
        summaries = pd.concat([anl_runs[anl_runs["noise"] == spec], newest.summaries[newest.summaries["noise"] == spec]])
        candidates = [loss for loss in anl_losses if loss in set(summaries["loss"])]
        if candidates and set(rivals) <= set(summaries["loss"]):  # every newest loss ran there
            add("beats the newest robust losses", benchmark_protocol, report.noise_cell(spec),
                "last-epoch test accuracy (%)",
                report.claim_check(summaries, "loss", "final_test_acc", candidates, rivals), "accuracy", **loss_name)

if sections["regulariser"]:
    regularisers = report.section_runs(regulariser.summaries, sections["regulariser"], "regulariser")
    l1_setting = sections["regulariser"][0][0]  # ablation_configs lists the L1 (preset) runs first
    l2_settings = list(dict.fromkeys(setting for setting, config in sections["regulariser"] if config.weight_decay))
    add("L1 keeps ANL robust where L2 does not", ablation_protocol, f"ANL-CE, {report.noise_cell(high_noise)}",
        "last-epoch test accuracy (%)",
        report.claim_check(regularisers, "regulariser", "final_test_acc", [l1_setting], l2_settings), "accuracy")
if sections["er"]:
    er = entropy.summaries
    er = er.assign(divergence=er["test_confusion"].map(report.predicted_share_divergence))
    for spec in er_noises:
        runs, label = er[er["noise"] == spec], f"λ = {er_lambda:g}, {report.noise_cell(spec)}"
        add("the entropy regulariser balances the predictions", ablation_protocol, label,
            "KL(predicted class shares ‖ true shares) on the test set (nats)",
            report.claim_check(runs, "loss", "divergence", ["anl_ce_er"], ["anl_ce"], higher_is_better=False),
            "divergence", **loss_name)
        add("the entropy regulariser raises test accuracy", ablation_protocol, label, "last-epoch test accuracy (%)",
            report.claim_check(runs, "loss", "final_test_acc", ["anl_ce_er"], ["anl_ce"]), "accuracy", **loss_name)

if masks:
    mask_protocol = f"segmentation, {segmentation_protocol}"
    for spec in segmentation_noises:
        runs, label = masks.summaries[masks.summaries["noise"] == spec], f"ISIC 2017, {report.mask_noise_label(spec)}"
        add("robust to noisy masks, per pixel", mask_protocol, label, "last-epoch test Dice (%)",
            report.claim_check(runs, "loss", "final_test_dice", segmentation_candidates, segmentation_baselines), "dice",
            **loss_name)
        if segmentation_reference:
            add("robust to noisy masks, against the Dice loss", mask_protocol, label, "last-epoch test Dice (%)",
                report.claim_check(runs, "loss", "final_test_dice", segmentation_candidates, segmentation_reference),
                "dice", **loss_name)

table = pd.DataFrame(rows)
for protocol, checks in table.groupby("protocol", sort=False):
    caveat = " (reduced protocol: indicative only)" if protocol in reduced_protocols else ""
    display(Markdown(f"**Protocol: {protocol}**{caveat}\n\n" + report.markdown_table(
        checks[["verdict", "claim", "setting", "paired difference", "interval", "seeds"]].set_index("verdict"))))

# %% [markdown]
# The means behind each verdict, per loss (or setting), mean ± std over the seeds (their number in
# brackets), on the measure named:

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
means = table.rename(columns={"candidates": "candidates (mean)", "baselines": "baselines (mean)"})
display(Markdown(report.markdown_table(
    means[["claim", "setting", "measure", "candidates (mean)", "baselines (mean)"]].set_index("claim"))))

# %% tags=["hide-input"]
notes = ['*Protocol*: "paper" is the paper\'s protocol for the data set (all training images, its epochs).']
if table["protocol"].isin(reduced_protocols).any():
    notes.append(
        '"Reduced" is this project\'s CPU protocol, on which the MNIST benchmark page finds the losses ranked '
        "differently from the paper's protocol at asymmetric noise, so read the ablation rows as tests of the "
        "regulariser or penalty on that protocol. That page's last section separates the reduced protocol's two "
        "cuts, training images and optimiser steps, and shows ANL-CE fitting the wrong labels when trained long on "
        "the 10,000-image subset: the memorisation rows hold for the protocol they name, not for any amount of data.")
if (table["claim"] == "beats the newest robust losses").any() and dataset != "cifar10":
    notes.append("The newest robust losses have no published preset for this data set: their runs take their "
                 "CIFAR-10 presets (see {doc}`benchmark`), so a row against them tests those presets here as much as "
                 "the losses.")
display(Markdown(" ".join(notes)))

# %% [markdown]
# ## The runs behind the verdicts
#
# Each group of rows with the protocol read from its records:

# %% tags=["hide-input"]
behind = {"**Robustness, memorisation, convergence** (the rows at the settings of parameter `noises`):":
          paper.protocol()}
if grids:
    status = [report.run_status(name, whole, report.recorded_runs(whole, results_dir)[1])
              for name in grids for whole in [experiments.grid(name)]]
    behind["**The named grids' runs**, counted whole; the rows above take those at their other noise settings "
           "(a row needs one candidate and one baseline recorded there):"] = "\n".join(status) + "\n\n" + (grid_runs.protocol() if grid_runs
                                                               else "*None recorded yet.*")
if sections["newest"]:
    status = [report.run_status(name, whole, [config for config in whole if config in newest_missing])
              for name in newest_grids for whole in [pages.configs([entry for entry in sections["newest"] if entry[0] == name])]]
    behind["**The newest robust losses** (JAL-CE and CEε+MAE, ANL's runs above beside them; a row needs every one "
           "of them recorded at its setting):"] = "\n".join(status) + "\n\n" + (newest.protocol() if newest
                                                                              else "*None recorded yet.*")
if regulariser:
    behind["**L1 against L2** (the ablations, see {doc}`ablations`):"] = regulariser.protocol()
if entropy:
    behind["**The entropy regulariser** (ANL-CE-ER beside ANL-CE from the benchmark grid; ANL-CE-ER has no "
           "published (Fashion-)MNIST preset, see {doc}`benchmark`):"] = entropy.protocol()
if masks:
    behind["**Segmentation** (a protocol of our own design, the paper's could not be obtained; see "
           "{doc}`segmentation`):"] = masks.protocol()
display(Markdown("\n\n".join(f"{heading}\n\n{protocol}" for heading, protocol in behind.items())))
