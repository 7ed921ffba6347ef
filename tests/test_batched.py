"""Batched runs (anl.batched): the grouped model equals its single models, objectives / clipping /
SGD equal the single-run ones per run, a batch of runs on real MNIST gives the per-run metrics of
the same runs done one by one, checkpoints resume, time budgets stop cleanly, sweeps batch and
skip, and the GPU script's device and fetch steps work on CPU."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from anl import batched
from anl.batched import (BatchedRuns, GroupedModel, flat_runs, per_run, plan_batches, train_batched, train_sweep_batched,
                         unflat_runs)
from anl.cli import main
from anl.data import ImageDataset
from anl.engine import normalise
from anl.experiments import anl_ce_hparams
from anl.models import build_model
from anl.results import ResultsStore
from anl.train import RunConfig, augment_batch, train_run

REPOSITORY = Path(__file__).resolve().parent.parent
TIMING_FIELDS = ("train_time_s", "eval_time_s")
ACCURACIES = ("test_acc", "clean_acc", "noisy_acc_given", "noisy_acc_true")
LOSSES = ("train_objective", "test_loss", "clean_loss", "noisy_loss")


@pytest.fixture(autouse=True)
def checkpoints_beside_their_store(monkeypatch):
    monkeypatch.delenv("ANL_CHECKPOINTS", raising=False)


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: one thread is as fast, and many times faster on an oversubscribed machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def synthetic(name: str = "mnist", train: int = 64, test: int = 32, channels: int = 1, side: int = 28) -> ImageDataset:
    """Random uint8 images with balanced labels, shaped like ``name``."""
    generator = torch.Generator().manual_seed(0)

    def images(count: int) -> torch.Tensor:
        return torch.randint(0, 256, (count, channels, side, side), dtype=torch.uint8, generator=generator)

    return ImageDataset(name=name, train_images=images(train), train_labels=torch.arange(train) % 10,
                        test_images=images(test), test_labels=torch.arange(test) % 10,
                        classes=tuple(str(k) for k in range(10)), mean=(0.5,) * channels, std=(0.25,) * channels,
                        source="synthetic")


def without_timings(epochs: list[dict]) -> list[dict]:
    return [{k: v for k, v in epoch.items() if k not in TIMING_FIELDS} for epoch in epochs]


# --- the grouped model --------------------------------------------------------------------------

@pytest.mark.parametrize("model_name,channels,side", [("cnn4", 1, 28), ("cnn8", 3, 32)])
def test_grouped_model_holds_each_single_model_and_computes_its_logits(model_name, channels, side) -> None:
    singles = []
    for seed in (1, 2, 3):
        torch.manual_seed(seed)
        singles.append(build_model(model_name, 10, channels))
    grouped = GroupedModel.from_models(model_name, singles).to(memory_format=torch.channels_last)
    for run, single in enumerate(singles):
        extracted = grouped.run_model(run).state_dict()
        assert extracted.keys() == single.state_dict().keys()
        assert all(torch.equal(extracted[name], value) for name, value in single.state_dict().items())
    batches = torch.randn(3, 5, channels, side, side, generator=torch.Generator().manual_seed(0))
    stacked = batches.permute(1, 0, 2, 3, 4).reshape(5, 3 * channels, side, side)
    for mode in ("train", "eval"):
        grouped.train(mode == "train")
        logits = grouped(stacked.contiguous(memory_format=torch.channels_last))
        assert logits.shape == (3, 5, 10)
        for run, single in enumerate(singles):
            single.train(mode == "train")
            torch.testing.assert_close(logits[run], single(batches[run]), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(logits[0], logits[1])


def test_only_sequential_cnns_can_be_grouped() -> None:
    with pytest.raises(ValueError, match="resnet34.*cnn4, cnn8"):
        GroupedModel("resnet34", 2, 100, 3)
    with pytest.raises(ValueError, match="resnet34.*cannot be batched"):
        BatchedRuns([RunConfig("cifar100", "ce")], synthetic("cifar100", channels=3, side=32), torch.device("cpu"))


# --- per-run objective, clipping and SGD ----------------------------------------------------------

def test_objective_values_are_each_runs_objective_with_its_own_l1_and_er() -> None:
    er = {**anl_ce_hparams("mnist"), "lam": 2.0}
    configs = [RunConfig("mnist", "nce_rce", seed=1), RunConfig("mnist", "anl_ce", seed=2, loss_overrides={"delta": 1e-3}),
               RunConfig("mnist", "anl_ce_er", seed=3, loss_overrides=er), RunConfig("mnist", "nce_rce", seed=4),
               RunConfig("mnist", "ce", seed=5)]
    runs = BatchedRuns(configs, synthetic(), torch.device("cpu"))
    assert [objective.name for objective in runs.objectives] == ["anl_ce", "anl_ce_er", "ce", "nce_rce", "nce_rce"]
    assert len(runs.loss_groups) == 4 and len(runs.entropy_runs) == 1
    logits = (3 * torch.randn(5, 16, 10, generator=torch.Generator().manual_seed(1))).requires_grad_(True)
    labels = torch.randint(0, 10, (5, 16), generator=torch.Generator().manual_seed(2))
    values = runs.objective_values(logits, labels)
    (gradient,) = torch.autograd.grad(values.sum(), logits)
    for run, objective in enumerate(runs.objectives):
        single = runs.model.run_model(run)
        row = logits.detach()[run].clone().requires_grad_(True)
        expected = objective(row, labels[run], list(single.parameters()))
        torch.testing.assert_close(values[run], expected, rtol=1e-6, atol=0)
        torch.testing.assert_close(gradient[run], torch.autograd.grad(expected, row)[0], rtol=1e-5, atol=1e-8)
    assert values[0] - objective_without_l1(runs, logits, labels, 0) > 1e-3  # the L1 term is in


def test_flat_runs_hold_each_runs_slices_in_one_row_and_unflat_runs_inverts_them() -> None:
    runs = BatchedRuns([RunConfig("mnist", "ce", seed=seed) for seed in (1, 2, 3)], synthetic(), torch.device("cpu"))
    parameters = runs.parameters
    assert any(p.dim() == 4 and not p.is_contiguous() for p in parameters)  # channels_last weights are covered
    flat = flat_runs(parameters, 3)
    for run in range(3):  # row r is run r's single model, parameter by parameter
        single = torch.cat([p.reshape(-1) for p in runs.model.run_model(run).parameters()])
        assert torch.equal(flat[run], single)
    for view, parameter in zip(unflat_runs(flat, parameters, 3), parameters):
        assert torch.equal(view, per_run(parameter, 3))


def objective_without_l1(runs: BatchedRuns, logits: torch.Tensor, labels: torch.Tensor, run: int) -> float:
    return runs.objectives[run].data_term(logits[run], labels[run]).mean().item()


def sgd_reference(runs: BatchedRuns, grads: list[list[torch.Tensor]]) -> list[dict[str, torch.Tensor]]:
    """Each run as a single model through clip_grad_norm_ and torch.optim.SGD, one step per grads entry."""
    states = []
    for run, config in enumerate(runs.configs):
        model = runs.model.run_model(run)
        optimizer = torch.optim.SGD(model.parameters(), lr=runs.lr[run].item(), momentum=0.9,
                                    weight_decay=config["weight_decay"])
        for step_grads in grads:
            for parameter, grad in zip(model.parameters(), step_grads):
                parameter.grad = per_run(grad, runs.runs)[run].reshape(parameter.shape).clone()
            torch.nn.utils.clip_grad_norm_(list(model.parameters()), config["grad_clip"])
            optimizer.step()
        states.append(model.state_dict())
    return states


def test_clipping_and_sgd_are_per_run_and_equal_torch_sgd() -> None:
    configs = [RunConfig("mnist", "ce", seed=1, lr=0.01), RunConfig("mnist", "anl_ce", seed=2, lr=0.05, grad_clip=1.0),
               RunConfig("mnist", "nce_rce", seed=3, lr=0.02, weight_decay=5e-4)]

    def gradients(huge: bool) -> list[list[torch.Tensor]]:
        generator = torch.Generator().manual_seed(7)
        steps = []
        for _ in range(2):
            grads = [torch.randn(p.shape, generator=generator) * 0.05 for p in runs.parameters]
            if huge:
                for grad in grads:
                    per_run(grad, 3)[0] *= 1e6
            steps.append(grads)
        return steps

    results = []
    for huge in (True, False):
        runs = BatchedRuns(configs, synthetic(), torch.device("cpu"))
        runs.set_lr(3)
        steps = gradients(huge)
        expected = sgd_reference(runs, steps)
        for grads in steps:
            for parameter, grad in zip(runs.parameters, grads):
                parameter.grad = grad.clone().contiguous(memory_format=torch.channels_last) \
                    if grad.dim() == 4 else grad.clone()
            runs.clip_and_update()
        for run in range(3):
            got = runs.model.run_state(run)
            for name, value in expected[run].items():
                torch.testing.assert_close(got[name], value, rtol=1e-6, atol=1e-8, msg=f"run {run} {name}")
        results.append([runs.model.run_state(run) for run in range(3)])
    huge_run, calm_run = results
    assert not torch.equal(huge_run[0]["0.weight"], calm_run[0]["0.weight"])
    for run in (1, 2):  # a run with huge gradients changes no other run's update, to the bit
        assert all(torch.equal(huge_run[run][name], calm_run[run][name]) for name in huge_run[run])


def test_cifar_style_batch_draws_each_runs_augmentation_and_trains() -> None:
    cifar = synthetic("cifar10", train=48, test=8, channels=3, side=32)
    configs = [RunConfig("cifar10", "ce", seed=1, batch_size=8, epochs=2, train_eval_size=0),
               RunConfig("cifar10", "anl_ce", seed=2, batch_size=8, epochs=2, train_eval_size=0)]
    runs = BatchedRuns(configs, cifar, torch.device("cpu"))
    assert runs.configs[0]["augment"] == "crop_flip" and runs.configs[0]["model"] == "cnn8"
    index = torch.stack([torch.randperm(48)[:8] for _ in range(2)])
    x, labels = runs.batch(index)
    assert x.shape == (8, 6, 32, 32) and x.is_contiguous(memory_format=torch.channels_last)
    for run, config in enumerate(runs.configs):
        generator = torch.Generator().manual_seed(config["seed"])
        expected = normalise(augment_batch(cifar.train_images[index[run]], "crop_flip", generator),
                             runs.data[run].mean, runs.data[run].std)
        assert torch.equal(x[:, 3 * run:3 * run + 3], expected)
        assert torch.equal(labels[run], runs.data[run].labels[index[run]])
    runs.set_lr(0)
    before = [runs.model.run_state(run) for run in range(2)]
    objectives = runs.train_epoch()
    assert all(np.isfinite(objectives)) and len(objectives) == 2
    after = [runs.model.run_state(run) for run in range(2)]
    assert all(not torch.equal(before[run]["0.weight"], after[run]["0.weight"]) for run in range(2))
    assert len(runs.evaluate()) == 2


# --- whole runs -----------------------------------------------------------------------------------

def assert_same_metrics(single: list[dict], batch: list[dict], sizes: dict[str, int]) -> None:
    """Accuracies within one image of their subset (summation order differs, and an image on the
    decision boundary can flip), losses within 1e-3 relative."""
    assert [epoch["epoch"] for epoch in single] == [epoch["epoch"] for epoch in batch]
    for one, other in zip(single, batch):
        assert one.keys() == other.keys() and one["lr"] == other["lr"]
        for name in ACCURACIES:
            size = sizes["test" if name == "test_acc" else "clean" if name == "clean_acc" else "noisy"]
            if size == 0:
                assert one[name] is None and other[name] is None
            else:
                assert abs(one[name] - other[name]) <= 1 / size + 1e-6, (name, one[name], other[name])
        for name in LOSSES:
            if one[name] is None:
                assert other[name] is None
            else:
                assert other[name] == pytest.approx(one[name], rel=1e-3), (name, one[name], other[name])


@pytest.mark.slow
@pytest.mark.realdata
def test_a_batch_of_runs_gives_the_metrics_of_the_same_runs_one_by_one(real_dataset) -> None:
    mnist = real_dataset("mnist")
    small = dataclasses.replace(mnist, train_images=mnist.train_images[:3000].contiguous(),
                                train_labels=mnist.train_labels[:3000].contiguous(),
                                test_images=mnist.test_images[:500].contiguous(),
                                test_labels=mnist.test_labels[:500].contiguous())
    common = {"epochs": 2, "train_subset": 256, "train_eval_size": 0}
    configs = [RunConfig("mnist", "ce", noise="sym:0.4", seed=1, **common),
               RunConfig("mnist", "anl_ce", noise="asym:0.4", seed=2, **common),
               RunConfig("mnist", "nce_rce", noise="sym:0.6", seed=3, weight_decay=5e-4, **common)]
    singles = [train_run(config, None, dataset=small, device="cpu", progress=False) for config in configs]
    batch = train_batched(configs, None, dataset=small, device="cpu", progress=False)
    for single, record in zip(singles, batch):
        assert record["key"] == single["key"] and record["config"] == single["config"]
        assert record["noise"] == single["noise"] and record["loss_hparams"] == single["loss_hparams"]
        noisy = round(single["noise"]["rate"] * 256)
        assert_same_metrics(single["epochs"], record["epochs"], {"test": 500, "clean": 256 - noisy, "noisy": noisy})
        assert record["epochs"][-1]["noisy_acc_given"] is not None and noisy > 50
        assert record["provenance"]["batched_runs"] == 3
        assert record.keys() == single.keys() and record["summary"].keys() == single["summary"].keys()
        assert record["provenance"].keys() - single["provenance"].keys() == {"batched_runs"}


def test_interrupted_batch_resumes_to_the_same_records_and_deadlines_stop_cleanly(tmp_path) -> None:
    data = synthetic()
    configs = [RunConfig("mnist", "ce", noise="sym:0.4", seed=1, epochs=2, batch_size=16),
               RunConfig("mnist", "anl_fl", noise="clean", seed=2, epochs=2, batch_size=16)]
    whole = train_batched(configs, None, dataset=data, device="cpu", progress=False)
    single = train_run(configs[0], None, dataset=data, device="cpu", progress=False)
    noisy = round(single["noise"]["rate"] * 64)
    assert_same_metrics(single["epochs"], whole[0]["epochs"], {"test": 32, "clean": 64 - noisy, "noisy": noisy})
    store = ResultsStore(tmp_path / "results")
    assert train_batched(configs, store, dataset=data, device="cpu", progress=False,
                         deadline=time.perf_counter(), epoch_estimate=1.0) is None
    assert not batched.batch_checkpoint_path(store, [c.key for c in configs]).exists()
    seen = []
    stopped = train_batched(configs, store, dataset=data, device="cpu", progress=False, deadline=time.perf_counter(),
                            on_epoch_end=lambda epoch, metrics: seen.append(epoch))
    assert stopped is None and seen == [1] and not any(store.has(c.key) for c in configs)
    assert batched.batch_checkpoint_path(store, [c.key for c in configs]).is_file()
    resumed = train_batched(configs, store, dataset=data, device="cpu", progress=False,
                            on_epoch_end=lambda epoch, metrics: seen.append(epoch))
    assert seen == [1, 2] and not batched.batch_checkpoint_path(store, [c.key for c in configs]).exists()
    for before, after in zip(whole, resumed):
        assert without_timings(after["epochs"]) == without_timings(before["epochs"])
        assert after["summary"] == before["summary"] and store.read(after["key"]) == json.loads(json.dumps(after))


def test_batches_group_compatible_runs_evenly_in_grid_order() -> None:
    configs = [RunConfig("mnist", "ce", seed=seed, epochs=3) for seed in range(7)]
    configs.insert(2, RunConfig("mnist", "ce", seed=1, epochs=4))
    batches = plan_batches(configs, 3)
    assert [[(c.epochs, c.seed) for c in batch] for batch in batches] == [
        [(3, 0), (3, 1)], [(4, 1)], [(3, 2), (3, 3), (3, 4)], [(3, 5), (3, 6)]]
    with pytest.raises(ValueError, match="runs per batch must be >= 1"):
        plan_batches(configs, 0)
    with pytest.raises(ValueError, match="differ in epochs"):
        batched.check_batchable([configs[0].resolved(), configs[2].resolved()])
    bf16 = RunConfig("mnist", "ce", seed=9, epochs=3, precision="bf16")
    assert [len(batch) for batch in plan_batches([configs[0], bf16, configs[1]], 3)] == [2, 1]
    with pytest.raises(ValueError, match="differ in precision"):
        batched.check_batchable([configs[0].resolved(), bf16.resolved()])
    held_out = RunConfig("mnist", "ce", seed=9, epochs=3, validation_fraction=0.1, validation="clean")
    with pytest.raises(ValueError, match="validation split .* cannot be batched"):
        plan_batches([held_out], 3)
    fold = RunConfig("mnist", "ce", seed=9, epochs=3, holdout_folds=4, holdout_fold=1)
    with pytest.raises(ValueError, match=r"held-out fold \(holdout_folds\) cannot be batched"):
        plan_batches([fold], 3)


def test_sweep_with_a_time_budget_stops_and_the_next_call_finishes(tmp_path, monkeypatch) -> None:
    data = synthetic()
    monkeypatch.setattr(batched, "load_dataset", lambda name: data)
    configs = [RunConfig("mnist", loss, seed=seed, epochs=2, batch_size=32) for seed in (1, 2) for loss in ("ce", "gce")]
    store = ResultsStore(tmp_path)
    assert train_sweep_batched(configs, store, 2, device="cpu", progress=False, time_budget=1e-3) == []
    trained = []
    monkeypatch.setattr(batched, "train_batched", lambda batch, *a, real=batched.train_batched, **k:
                        trained.append(len(batch)) or real(batch, *a, **k))
    records = train_sweep_batched(configs, store, 2, device="cpu", progress=False)
    assert trained == [2, 2] and [record["key"] for record in records] == [config.key for config in configs]
    assert train_sweep_batched(configs, store, 3, device="cpu", progress=False) == records and trained == [2, 2]
    later = [*configs, RunConfig("mnist", "sce", seed=1, epochs=2, batch_size=32)]
    assert batched.recorded_seconds_per_unit(store, "mnist", "cnn4", torch.device("cpu")) > 0
    assert train_sweep_batched(later, store, 2, device="cpu", progress=False, time_budget=1e-3) == records
    assert trained == [2, 2]  # the stored records' timings say the new batch cannot fit: it does not start


@pytest.mark.parametrize("argv,message", [
    (["sweep", "--dataset", "mnist", "--losses", "ce", "--time-budget", "60"], "needs --batched"),
    (["sweep", "--dataset", "mnist", "--losses", "ce", "--batched", "0"], "runs per batch must be >= 1"),
    (["sweep", "--dataset", "cifar100", "--losses", "ce", "--batched", "4"], "cannot be batched"),
    (["bench", "--runs", "0", "--no-epoch"], "runs per batch must be >= 1"),
    (["bench", "--precisions", "fp32,fp16", "--no-epoch"], "unknown precision 'fp16'; choose from fp32, bf16"),
])
def test_cli_rejects_bad_batched_options_in_one_line(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in error and "Traceback" not in error


# --- the GPU script, dry run on CPU ----------------------------------------------------------------

def test_gpu_script_runs_a_sweep_packs_new_records_and_fetches_only_new_ones(tmp_path, fake_mnist) -> None:
    env = {**os.environ, "OUT": str(tmp_path / "out"), "DEVICE": "cpu", "ANL_DATA": str(fake_mnist),
           "ANL_RESULTS": str(tmp_path / "device-results"), "ANL_CHECKPOINTS": str(tmp_path / "checkpoints"),
           "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    script = str(REPOSITORY / "scripts" / "gpu_grid.sh")
    sweep = ["--dataset", "mnist", "--losses", "ce,anl_ce", "--epochs", "1", "--train-subset", "60",
             "--batch-size", "30", "--train-eval-size", "0"]
    done = subprocess.run(["bash", script, "device", "2", "300", *sweep], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    log = (tmp_path / "out" / "sweep.log").read_text()
    assert "2 of 2 runs recorded" in log and "packed 2 new records" in log
    with tarfile.open(tmp_path / "out" / "records.tar.gz") as archive:
        names = sorted(archive.getnames())
    assert names == sorted(path.name for path in (tmp_path / "device-results" / "runs").glob("*.json"))
    env["ANL_RESULTS"] = str(tmp_path / "results")
    fetched = [subprocess.run(["bash", script, "fetch", str(tmp_path / "out")], env=env, capture_output=True,
                              text=True, timeout=30).stdout.strip() for _ in range(2)]
    assert fetched[0].startswith("fetched 2 new records") and fetched[1].endswith("(2 already there)")
    record = ResultsStore(tmp_path / "results").read(names[0].removesuffix(".json"))
    assert record["provenance"]["batched_runs"] == 2 and record["config"]["train_subset"] == 60
