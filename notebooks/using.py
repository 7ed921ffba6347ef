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
# # Using anl
#
# `anl` is a Python package: the losses of the paper and its baselines with the published
# hyperparameters per data set, the label-noise models with exact counts, the data readers, the
# paper's networks and one trainer. This page shows each piece as you would call it in your own
# training code; it is executed with the book, so every output below is what the package returns.
# The numbers here are a usage example on a few thousand images, not a result: the results are
# the other pages, read from the run records in `results/`. The {doc}`API reference <../api>`
# lists every function.
#
# On a fresh machine, from a checkout of the repository: `make test` (install from the lock file,
# unit tests, the notebooks, the book) and `make book` (the book in `_build/html`).

# %% tags=["parameters"]
# The parameters a reader may set (papermill -p NAME VALUE); one left `...` keeps its default in
# anl.pages.Using, and the page prints the values it runs with.
dataset = ...
loss_name = ...
noise_spec = ...
train_subset = ...
epochs = ...
seed = ...

# %% tags=["hide-input"]
import torch
from IPython.display import Markdown, display

from anl import losses, noise, pages, report

page = pages.Using.from_parameters(globals())  # a bad parameter stops the page here, in one line
display(Markdown(page.parameters_line()))

# %% [markdown]
# ## A training loop with an ANL loss
#
# `losses.build(name, dataset)` returns the training objective with the paper's preset for that
# data set; `objective(logits, labels, parameters)` is the batch mean of the loss, plus
# $\delta \sum_\theta |\theta|$ over the `parameters` passed (the L1 term of ANL; pass
# `model.parameters()`, biases and BatchNorm included, as the paper does), plus $\lambda$ times the
# entropy regulariser for ANL-CE-ER. The ANL family is regularised by that L1 term **instead of**
# weight decay: give its optimiser `weight_decay=0`, and the baselines the protocol's L2 weight
# decay. The loop below is the paper's MNIST protocol (SGD with momentum 0.9, batch 128, gradient
# norm clipped to 5, cosine learning rate) cut to a few epochs on a subset.

# %%
from anl.data import load_dataset, stratified_subset
from anl.models import build_model

data = load_dataset(page.dataset)
index = stratified_subset(data.train_labels, page.train_subset, seed=0)
noisy = noise.apply_noise(page.noise_spec, data.train_labels.numpy(),
                          dataset=page.dataset, num_classes=data.num_classes,
                          seed=page.seed).subset(index.numpy())
mean = torch.tensor(data.mean).view(1, -1, 1, 1)
std = torch.tensor(data.std).view(1, -1, 1, 1)
images = (data.train_images[index].float() / 255 - mean) / std
labels = torch.from_numpy(noisy.noisy)  # noisy.clean: the true labels

torch.manual_seed(page.seed)
model = build_model("cnn4", data.num_classes, data.image_shape[0])
objective = losses.build(page.loss_name, dataset=page.dataset)
# ANL: the L1 term in the objective instead of weight decay
weight_decay = 0.0 if objective.l1 else 1e-3
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,
                            weight_decay=weight_decay)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, page.epochs)
for epoch in range(page.epochs):
    model.train()
    for batch in torch.randperm(len(labels)).split(128):
        logits = model(images[batch])
        loss = objective(logits, labels[batch], model.parameters())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    schedule.step()

# %% tags=["hide-input"]
model.eval()
with torch.no_grad():
    test_images = (data.test_images.float() / 255 - mean) / std
    test_accuracy = (model(test_images).argmax(1) == data.test_labels).float().mean().item()
    data_term = objective.data_term(model(images), labels).mean().item()
l1_term = objective.l1 * losses.l1_norm(model.parameters()).item()
display(Markdown(
    f"{losses.display_name(page.loss_name)} on {noisy.rate:.1%} wrong labels ({page.noise_spec}), {page.train_subset:,} "
    f"images, {page.epochs} epochs: test accuracy {test_accuracy:.1%} (an example, not a result). "
    f"At the end the mean data term is {data_term:.3f} and the L1 term "
    f"$\\delta \\sum_\\theta |\\theta|$ = {objective.l1:g} x {l1_term / objective.l1 if objective.l1 else 0:,.0f} "
    f"= {l1_term:.4f}, {l1_term / data_term:.1%} of it: the published delta keeps the L1 pull on the "
    f"weights small beside the loss, and it grows with the number of parameters."))

# %% [markdown]
# ## Per-sample values and weights
#
# The objective follows torch's convention: `losses.build(name, dataset, reduction=...)` with
# `"mean"` (the default, the paper's objective), `"sum"` or `"none"`, and
# `objective(logits, labels, parameters, weight=w)` with one weight per sample (shape (N,) for
# (N, K) logits, (N, H, W) per pixel for segmentation logits (N, K, H, W), (N,) per image for the
# Dice loss). With the per-sample data term $d_i$ and the batch-level terms
# $B = \lambda\,\mathrm{ER}(\text{batch}) + \delta \sum_\theta |\theta|$ (one value for the batch):
# `"none"` returns $w_i d_i + B$ for every sample, `"mean"` returns $\frac{1}{n}\sum_i w_i d_i + B$ and
# `"sum"` returns $\sum_i w_i d_i + n B$. So `"none"` averaged is exactly `"mean"`, and a
# reduction of your own over `"none"` keeps the L1 term and the entropy regulariser. The weighted
# mean divides by $n$, not by $\sum_i w_i$, as torch's per-sample weights do. `objective.data_term`
# gives $d_i$ alone, without $B$ and without weights: the score for mislabel detection.
#
# The loop below trains a linear classifier on synthetic data (4 classes, 30 % symmetric noise)
# with the preset of the page's loss, and gives the samples of a second, less trusted source half
# weight. It runs in seconds on a CPU.

# %%
generator = torch.Generator().manual_seed(page.seed)
features = torch.randn(512, 16, generator=generator)
true_labels = features[:, :4].argmax(1)  # the class is the largest of the first four features
toy_noise = noise.symmetric_noise(true_labels.numpy(), num_classes=4, rate=0.3, seed=page.seed)
given_labels = torch.from_numpy(toy_noise.noisy)
weight = torch.ones(len(given_labels))
weight[256:] = 0.5  # the second source, trusted less

torch.manual_seed(page.seed)
classifier = torch.nn.Linear(16, 4)
per_sample_objective = losses.build(page.loss_name, dataset=page.dataset, reduction="none")
toy_optimizer = torch.optim.SGD(classifier.parameters(), lr=0.5, momentum=0.9)
for step in range(100):
    batch = torch.randperm(len(given_labels), generator=generator)[:128]
    values = per_sample_objective(classifier(features[batch]), given_labels[batch],
                                  classifier.parameters(), weight=weight[batch])  # (128,)
    toy_optimizer.zero_grad()
    values.mean().backward()  # = the "mean" objective with these weights
    toy_optimizer.step()

# %% tags=["hide-input"]
with torch.no_grad():
    logits = classifier(features)
    scores = per_sample_objective.data_term(logits, given_labels)  # d_i: high where the label is wrong
    mean_objective = losses.build(page.loss_name, dataset=page.dataset)
    gap = (per_sample_objective(logits, given_labels, classifier.parameters()).mean()
           - mean_objective(logits, given_labels, classifier.parameters())).abs().item()
mislabelled = torch.from_numpy(toy_noise.is_noisy)
display(Markdown(
    f"After 100 steps: accuracy against the true labels {(logits.argmax(1) == true_labels).float().mean():.1%}; "
    f"mean data term {scores[~mislabelled].mean():.3f} on the {int((~mislabelled).sum())} correctly labelled "
    f"samples and {scores[mislabelled].mean():.3f} on the {int(mislabelled.sum())} mislabelled ones; "
    f'"none" averaged minus "mean": {gap:.1e}.'))

# %% [markdown]
# In PyTorch Lightning the same objective goes into `training_step`. This snippet is shown, not
# executed (the package does not depend on Lightning); `batch` carries the per-sample weights:
#
# ```python
# import lightning
# import torch
#
# import anl
#
#
# class RobustClassifier(lightning.LightningModule):
#     def __init__(self, model: torch.nn.Module, dataset: str = "cifar10") -> None:
#         super().__init__()
#         self.model = model
#         self.objective = anl.build("anl_ce", dataset, reduction="none")
#
#     def training_step(self, batch, batch_idx):
#         images, labels, weight = batch
#         values = self.objective(self.model(images), labels, self.model.parameters(), weight=weight)
#         self.log("train_loss", values.mean())
#         return values.mean()
#
#     def configure_optimizers(self):
#         # ANL is regularised by its L1 term (delta) instead of weight decay
#         return torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9, weight_decay=0.0)
# ```

# %% [markdown]
# For the whole protocol with clean/mislabelled tracking, checkpoints and a run record, use the
# trainer: `anl.train.train_run(RunConfig("mnist", "anl_ce", noise="sym:0.6"), ResultsStore())`,
# or from a shell `python -m anl run --dataset mnist --loss anl_ce --noise sym:0.6`.
#
# ## Presets per loss and data set
#
# `losses.build(name, dataset)` takes these values (from the authors' configurations;
# anl-method.md section 3); any of them can be overridden by keyword, e.g.
# `losses.build("anl_ce", "cifar10", delta=0)`. Fashion-MNIST is not in the paper: it uses the
# MNIST presets. "-" marks a loss without a preset for that data set; losses without
# hyperparameters (CE, MAE, RCE, NCE, ...) are left out.
#
# The ε-softmax losses (CEε+MAE, FLε+MAE) publish one CIFAR-10 preset per noise type, so building
# them needs the type, and there is no silent default: `losses.build("ce_eps_mae", "cifar10",
# noise_type="asym")` (one of `sym`, `asym`, `idn`); without it the registry stops with an error
# naming the valid types. The trainer passes the type of the run's noise spec
# (`losses.noise_type_of("asym:0.4")` is `"asym"`; clean labels take the symmetric preset, the
# fixed instance-dependent labels and CIFAR-10N the instance-dependent one). No MNIST or
# Fashion-MNIST preset is published for JAL or ε-softmax: the `mnist-newest` grid gives them their
# CIFAR-10 presets explicitly, stated in its docstring.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
display(Markdown(report.markdown_table(report.preset_table())))

# %% [markdown]
# ## Tuning the hyperparameters on a validation split
#
# ```bash
# python -m anl tune --dataset mnist --loss anl_ce --noise sym:0.8 --validation noisy --fraction 0.1 --trials 40
# ```
#
# holds out a stratified 10 % of the training set (seed 42 unless `--split-seed` says otherwise:
# the ANL authors' code holds out 10 % with generator seed 42 and clean labels; our split is
# stratified by class, so its images are not theirs), trains each trial on the rest, and scores it
# every epoch on the held-out images against their true labels (`--validation clean`) or their
# noisy ones (`--validation noisy`, what a practitioner has). Optuna's TPE sampler (seeded by
# `--seed`) draws the loss's tunable hyperparameters, each log-uniformly over a decade either side
# of its published preset (below; a weight whose preset is 0 stays 0), and a median pruner stops a
# trial in the second half of its epochs (before its last) when its validation accuracy falls
# below the median of the earlier trials at that epoch (from the sixth trial on). A trial's value
# is its last epoch's validation accuracy; the command prints one line per trial, then the best
# setting with it.
# Every trial is a run in `results/runs/` (the split is part of its config and key, and its
# epochs record `val_acc`), checkpointed like any run; the study is an SQLite file
# `results/tuning/<name>.db` with a summary `<name>.json` beside it, so the same command resumes
# it: `--trials` counts the study's finished trials, and a trial interrupted before its record
# was written is tried again first and resumes from its checkpoint. Losses without tunable
# hyperparameters (CE, FL, GCE, MAE, ...) are refused.
#
# A named study runs several searches and then trains what they chose:
# `python -m anl study mnist-tuning` searches ANL-CE and NCE+RCE on MNIST at sym 0.8 and asym 0.4,
# each with a clean and with a noisy validation split (16 trials each, on the reduced protocol:
# 10,000 images, 30 epochs), then trains each chosen setting at the paper's protocol with seeds 1-3,
# beside the presets' runs. Stopped at any point, the same command goes on where it stopped.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
display(Markdown(report.markdown_table(report.search_space_table())))

# %% [markdown]
# ## Out-of-sample probabilities for confident learning
#
# ```bash
# for fold in 0 1 2 3; do
#     python -m anl run --dataset mnist --loss ce --noise sym:0.8 --holdout-folds 4 --holdout-fold $fold
# done
# ```
#
# splits the training images scored every epoch (10,000 unless `--train-eval-size` says
# otherwise) into 4 folds, stratified by their given labels and seeded (`holdout_seed` in the
# run's config, 0 by default), and trains each run on every training image but its fold's (here
# 60,000 − 2,500). At the last epoch a run records its fold's softmax probabilities (float16) with
# the fold's positions in the scored sample and their given and true labels; its per-epoch
# metrics and in-sample confident learning score the other folds. The folds are part of the
# run's config and key. `anl.detection.out_of_sample_confident_learning` joins the 4 records
# into out-of-sample probabilities of the whole sample and runs cleanlab's `find_label_issues`
# on them; the grid `mnist-detection-reference` holds such runs (CE at sym 0.8 and asym 0.4) for
# the page "Finding the wrong labels".

# %% [markdown]
# ## Noise specs
#
# A run's label noise is one string, parsed by `anl.noise.parse_noise` and applied by
# `anl.noise.apply_noise` to the training labels only, with exact counts per class (so realised
# rates sit just under nominal). The realised rates below are those of the MNIST training labels,
# seed 1.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
display(Markdown(report.markdown_table(report.noise_spec_table(data, page.seed))))

# %% [markdown]
# Segmentation masks take their own specs (`anl.mask_noise.parse_mask_noise`); F is the fraction of
# masks made noisy, and R a pixel range `B` (1 to B) or `A-B`: `clean`; `boundary:F:R` (each picked
# mask dilated or eroded by a disc of radius drawn from R); `shift:F:R` (translated by a vector of
# length in R); `coarse:F:polygon` (replaced by its convex hull) or `coarse:F:ellipse` (by the
# ellipse of its centroid and second moments). For example:

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
display(Markdown(", ".join(f"`{spec}`: {report.mask_noise_label(spec)}"
                           for spec in ("boundary:1:8-16", "shift:0.5:8", "coarse:1:ellipse")) + "."))

# %% [markdown]
# ## Re-running a page with other parameters
#
# Every page of this book is a notebook in `notebooks/` (jupytext py:percent) with one cell tagged
# `parameters`, executed by papermill. To re-run one with other values, e.g. the benchmark on
# Fashion-MNIST with three seeds:
#
# ```bash
# book/execute-notebook.sh benchmark -p dataset fashion_mnist -y "seeds: [1, 2, 3]"
# make html   # render the pages as they are
# ```
#
# (`-p name value` for numbers and strings, `-y "name: [a, b]"` for lists.) Runs the new
# parameters name that are not in `results/` are trained first, through the package, with a
# progress bar; every page states the protocol it read from the run records. A bad parameter
# stops the page in its first code cell with one line naming it and its valid choices.
#
# ## Running the grids on a cluster
#
# ```bash
# python -m anl sweep --grid cifar10-paper --executor slurm --partition gpu --gpus-per-job 1 \
#     --runs-per-job 2 --timeout-min 240
# ```
#
# submits the grid's runs that are not yet recorded as one SLURM job array through submitit; every
# job writes its records into the same `results/runs/`. A worker claims each run before training
# it (a claim file with a heartbeat beside the run's checkpoint), so two workers never train the
# same run, and a job that is preempted or reaches its time limit is requeued and resumes from its
# last epoch. Progress: `python -m anl progress --grid cifar10-paper` (each run recorded, training
# by host:pid, stopped at a checkpoint, or waiting, with its epochs done and last test score),
# `checkpoints/claims.log` (one line per run started) and the job logs in `jobs/`.
# `--executor local` runs the same array on this machine.
