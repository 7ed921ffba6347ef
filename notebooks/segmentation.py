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
# # Segmentation: ISIC 2017 skin lesions with noisy masks
#
# The journal version of ANL applies the losses to image segmentation on ISIC 2017 with noisy
# masks. Its protocol could not be obtained, so this page uses one designed here and stated in full
# below. The question is the paper's question moved from labels to pixels: when the training masks
# are wrong, does a robust per-pixel loss keep the test masks right, and does it fit the wrong
# pixels less than cross-entropy does?
#
# **Task.** ISIC 2017 Part 1 (lesion segmentation; {cite}`codella2017skin`), official splits: 2,000
# training, 150 validation and 600 test dermoscopy images with one binary lesion mask each, here a
# copy resized to 256x192 (masks stored as JPEG and thresholded at 127).
#
# **Losses per pixel.** Every classification loss of `anl.losses` is applied to every pixel with
# $K = 2$ classes (background, lesion) and averaged over the batch's pixels, so CE, GCE, NCE+RCE and
# ANL-CE are the same functions as in the classification chapters; the Dice loss
# ($1 - (2\sum p t + 1) / (\sum p + \sum t + 1)$ per image, with $p$ the predicted lesion
# probability and $t$ the mask, sums over pixels) is the baseline
# segmentation users expect. No ISIC hyperparameters were published: every loss uses its CIFAR-10
# preset (ANL-CE: $\alpha = \beta = 5$, $\delta = 5\cdot10^{-5}$), untuned. As in classification,
# the baselines get L2 weight decay and the ANL family weight decay 0 with its L1 term.
#
# **Mask noise** (`anl.mask_noise`, applied to the 256x192 training masks before resizing; pixel amounts
# are 256x192 pixels): *boundary* noise dilates or erodes a mask (each with probability 1/2) by a
# radius drawn from a range, the typical error of a hurried annotator; *shift* noise moves the
# whole mask by a vector whose length is drawn from a range, a registration error. Each is applied
# to a fraction of the training masks (all, or half); validation and test masks stay clean.
#
# **Evaluation.** After every epoch the logits are upsampled to 256x192 and compared with the
# clean test masks: per-image Dice, Jaccard (IoU) and the thresholded Jaccard of the ISIC
# challenges (a per-image Jaccard below 0.65 counts as 0), averaged over the 600 test images. Tables give the last epoch
# (no model selection on noisy data) and, beside it, the epoch with the best validation Dice.
# Memorisation is measured on 256 of the noisy training images: the Dice of the prediction with
# the noisy mask against its Dice with the clean mask, and, over the pixels where the two masks
# differ, the fraction predicted as in the noisy mask.
#
# ```{admonition} Reduced protocol
# :class: warning
# The runs shown by default follow the **reduced CPU protocol** of `anl.segmentation`: training at
# 64x48 pixels with a U-Net of base width 8 for 20 epochs (one core of this project's 2-core
# machine: about 20 s an epoch, 7 to 9 minutes a run), two seeds, and the five noise
# settings of the `isic-reduced` grid. The paragraph under the parameters lists what the records
# hold. The full protocol (256x192, width 16, 30 epochs) is defined as the `isic-full` grid, for a
# GPU; the last section sets a few runs at twice the training resolution (128x96, the `isic-half`
# grid, CPU) beside their reduced-protocol counterparts.
# ```

# %% tags=["parameters"]
# The parameters a reader may set (papermill -p NAME VALUE); one left `...` keeps its default in
# anl.pages.Segmentation, and the page prints the values it runs with.
loss_names = ...
noises = ...
seeds = ...
protocol = ...
epochs = ...
example_noise = ...
resolution_protocol = ...
resolution_losses = ...
resolution_noises = ...
resolution_seeds = ...
results_dir = ...
train_missing = ...
device = ...

# %% tags=["hide-input", "remove-stderr"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from anl import data, losses, pages, report, segmentation
from anl import mask_noise

page = pages.Segmentation.from_parameters(globals())  # a bad parameter stops the page here, in one line
display(Markdown(page.parameters_line()))
report.plot_style()
sections = page.runs()
runs = report.load_runs(sections["runs"], page.results_dir, train=page.train_missing, device=page.device)
colors = report.loss_colors(page.loss_names)
names = {loss: losses.display_name(loss) for loss in page.loss_names}
display(Markdown(runs.protocol()))

# %% [markdown]
# ## The mask noise
#
# Three training images with their clean mask (white) and the noisy mask a run with seed
# `seeds[0]` trained on (pink), for each noisy setting; the table gives the realised amounts over
# the whole training set, read from the run records.

# %% tags=["hide-input"]
native = data.load_segmentation()
noisy_settings = [spec for spec in page.noises if mask_noise.parse_mask_noise(spec).kind != "clean"]
noisy_sets = {spec: mask_noise.apply_mask_noise(spec, native.train_masks.numpy(), seed=page.seeds[0]) for spec in noisy_settings}


if noisy_settings:
    picked = np.flatnonzero(np.all([noisy_sets[spec].is_noisy for spec in noisy_settings], axis=0))[:3]
    report.plot_mask_noise_examples(native.train_images.numpy(), native.train_masks.numpy(),
                                    {spec: noisy_sets[spec].noisy for spec in noisy_settings}, picked)
    plt.show()

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
amounts = {}
for record in runs.records:
    realised = record["noise"]["native_256x192"]
    if realised["noisy_masks"]:
        amounts[record["config"]["noise"]] = {
            "noisy masks": f"{realised['noisy_masks']:,} of {realised['train_size']:,}",
            "pixels flipped, all masks (%)": f"{100 * realised['pixel_flip_fraction']:.2f}",
            "pixels flipped, noisy masks (%)": f"{100 * realised['pixel_flip_fraction_noisy']:.2f}",
            "Dice(noisy, clean), noisy masks": f"{realised['dice']:.3f}"}
if amounts:
    table = pd.DataFrame.from_dict(amounts, orient="index").loc[[s for s in page.noises if s in amounts]]
    table.index = [report.mask_noise_label(spec) for spec in table.index]
    display(Markdown(report.markdown_table(table)))

# %% [markdown]
# ## Test scores
#
# Mean Dice and thresholded Jaccard on the clean test masks (%, mean ± std over seeds when there
# are several), at the last epoch and at the epoch of best validation Dice.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
for metric, title in [("final_test_dice", "Test Dice (%), last epoch"),
                      ("best_val_test_dice", "Test Dice (%), epoch of best validation Dice"),
                      ("final_test_thresholded_jaccard", "Test thresholded Jaccard (%), last epoch")]:
    table = report.accuracy_table(runs.summaries, metric, noise_names=report.mask_noise_label)
    display(Markdown(f"**{title}**\n\n" + report.markdown_table(table)))

# %% [markdown]
# ## Training curves and memorisation
#
# Top: test Dice after every epoch. Bottom: over the training pixels whose noisy label differs
# from the clean one, the fraction the model predicts as in the noisy mask (memorisation of the
# mask noise; 0 would mean every flipped pixel is predicted as in the clean mask). Lines are means
# over seeds.

# %% tags=["hide-input"]
report.plot_segmentation_curves(runs.epochs, page.noises, noisy_settings, page.loss_names, colors)
plt.show()

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
if noisy_settings:
    fit = runs.summaries[runs.summaries["noise"].isin(noisy_settings)]
    columns = {"final_noisy_dice_given": ("Dice with noisy mask", 1.0, 3),
               "final_noisy_dice_true": ("Dice with clean mask", 1.0, 3),
               "final_flipped_fit_given": ("flipped pixels fitted (%)", 100.0, 2)}
    table = report.run_scores_table(fit, ["noise", "loss"], columns,
                                    names={"noise": report.mask_noise_label, "loss": names.get})
    display(Markdown("**Fit to the noisy training masks, last epoch** (256 noisy training images at the "
                     "training size)\n\n" + table))

# %% [markdown]
# ## Example predictions
#
# Test images (evenly spaced over the test set) with the clean test mask (white) and each loss's
# final prediction (colour) after training with the noise of the parameter `example_noise` (named
# in the title), seed `seeds[0]`. The second column applies that noise to the test mask itself
# (pink), for scale only: the models never saw test masks.

# %% tags=["hide-input"]
example_runs = [record for record in runs.records if record["config"]["noise"] == mask_noise.parse_mask_noise(page.example_noise).spec
                and record["config"]["seed"] == page.seeds[0]]
if example_runs:
    shown = segmentation.EXAMPLE_SIZE
    small = data.load_segmentation(size=tuple(shown))
    predictions = {record["config"]["loss"]: segmentation.example_predictions(record) for record in example_runs}
    indices = example_runs[0]["examples"]["indices"][:4]
    parsed = mask_noise.parse_mask_noise(page.example_noise)
    every_mask = mask_noise.MaskNoiseSpec(parsed.kind, 1.0, parsed.low, parsed.high, parsed.shape).spec
    illustrated = mask_noise.apply_mask_noise(every_mask, native.test_masks[indices].numpy(), seed=page.seeds[0]).noisy
    illustrated = data.resize_masks(illustrated, shown).numpy()
    title = f"Predictions after training with {report.mask_noise_label(page.example_noise)}"
    report.plot_example_predictions(small.test_images.numpy(), small.test_masks.numpy(), illustrated, predictions,
                                    indices, colors, title)
    plt.show()
else:
    display(Markdown(f"*No runs with `example_noise` = {page.example_noise!r} among these parameters.*"))

# %% [markdown]
# ## What the runs say
#
# The summary below is computed from the table above, not written by hand: for each noise
# setting, the losses ranked by last-epoch test Dice (mean over seeds) and the gap between ANL-CE
# and CE where both ran, with the gap of each seed (same seed: same noisy masks, same
# initialisation) to show how far a second run moves it. On the reduced protocol, read a gap
# whose seeds disagree in sign as no difference.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
lines = [report.ranking_line(runs.summaries, spec, report.mask_noise_label(spec), "final_test_dice", seed_gaps=True)
         for spec in page.noises]
display(Markdown("\n".join(line for line in lines if line)))

# %% [markdown]
# ## Does the training resolution change the verdict?
#
# The reduced protocol trains at a quarter of the images' side. Until the full-resolution grid
# (`isic-full`, for a GPU) is recorded, this section checks on CPU whether doubling the training
# resolution changes the picture: the protocol `resolution_protocol` (by default `half`: 128x96,
# everything else as the reduced protocol) for the losses of `resolution_losses` at the noise
# settings of `resolution_noises`, seeds `resolution_seeds`, beside the same losses, noise settings
# and seeds of the runs above. Both are evaluated at 256x192 on the clean test masks. With one
# seed, weigh a change between the sizes against how far the second seed moves the gaps listed in
# the previous section.

# %% tags=["hide-input", "remove-stderr"]
resolution_runs = (report.load_runs(sections["resolution"], page.results_dir, train=page.train_missing, device=page.device)
                   if sections["resolution"] else None)
display(Markdown(resolution_runs.protocol() if resolution_runs else "*No resolution check asked for "
                 "(`resolution_protocol` is None or `resolution_losses` is empty).*"))

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
if resolution_runs:
    def size_label(frame: pd.DataFrame) -> str:
        return ", ".join(dict.fromkeys(f"{width}x{height}" for width, height in frame["size"]))

    summaries = runs.summaries
    shared = summaries[summaries["loss"].isin(page.resolution_losses) & summaries["noise"].isin(page.resolution_noises)
                       & summaries["seed"].isin(page.resolution_seeds)]
    compared = {size_label(frame): frame for frame in (shared, resolution_runs.summaries) if len(frame)}
    for metric, title in [("final_test_dice", "Test Dice (%), last epoch"),
                          ("final_test_thresholded_jaccard", "Test thresholded Jaccard (%), last epoch")]:
        tables = {label: report.accuracy_table(frame, metric, noise_names=report.mask_noise_label)
                  for label, frame in compared.items()}
        display(Markdown(f"**{title}**\n\n" + report.markdown_table(report.side_by_side(tables))))
    lines = [report.ranking_line(frame, spec, f"{report.mask_noise_label(spec)}, {label}", "final_test_dice",
                                 seed_gaps=False)
             for spec in page.resolution_noises for label, frame in compared.items()]
    display(Markdown("Losses by last-epoch test Dice (mean over the seeds above) at each training size:\n\n"
                     + "\n".join(line for line in lines if line)))
    both = pd.concat([frame.assign(**{"training size": label}) for label, frame in compared.items()])

    def first_seen(column: pd.Series) -> pd.Series:
        return column.map({value: index for index, value in enumerate(dict.fromkeys(column))})

    fit = both[both["noise"] != "clean"].sort_values(["noise", "loss"], key=first_seen, kind="stable")
    if len(fit):
        columns = {"final_noisy_dice_true": ("Dice with clean mask", 1.0, 3),
                   "final_flipped_fit_given": ("flipped pixels fitted (%)", 100.0, 2)}
        table = report.run_scores_table(fit, ["noise", "loss", "training size"], columns,
                                        names={"noise": report.mask_noise_label, "loss": losses.display_name})
        display(Markdown("**Fit to the noisy training masks, last epoch**, at each training size\n\n" + table))
