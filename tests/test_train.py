"""Trainer, results store and command line: protocol resolution, device augmentation, learning
on real MNIST, records that round-trip, bit-identical resume, sweeps that skip done runs, and the
memorisation gap between CE and ANL-CE at 60 % symmetric noise."""

from __future__ import annotations

import json
import math

import pytest
import torch

from anl import engine, train
from anl.cli import main
from anl.engine import cosine_lr
from anl.models import build_model
from anl.results import ResultsStore, config_key, load_results, load_summaries
from anl.train import RunConfig, augment_batch, train_run, train_sweep

TIMING_FIELDS = ("train_time_s", "eval_time_s")


@pytest.fixture(autouse=True)
def checkpoints_beside_their_store(monkeypatch):
    monkeypatch.delenv("ANL_CHECKPOINTS", raising=False)


def without_timings(epochs: list[dict]) -> list[dict]:
    return [{k: v for k, v in epoch.items() if k not in TIMING_FIELDS} for epoch in epochs]


# --- protocol and configuration --------------------------------------------------------------

def test_protocol_resolution_follows_the_paper() -> None:
    anl_ce = RunConfig("cifar10", "ANL-CE").resolved()
    assert (anl_ce["model"], anl_ce["epochs"], anl_ce["lr"], anl_ce["weight_decay"]) == ("cnn8", 120, 0.01, 0.0)
    assert anl_ce["loss"] == "anl_ce" and anl_ce["augment"] == "crop_flip" and anl_ce["grad_clip"] == 5.0
    ce = RunConfig("mnist", "ce").resolved()
    assert (ce["model"], ce["epochs"], ce["batch_size"], ce["weight_decay"], ce["augment"]) == \
        ("cnn4", 50, 128, 1e-3, "none")
    assert RunConfig("cifar100", "gce").resolved()["weight_decay"] == 1e-5
    l2_ablation = RunConfig("mnist", "anl_ce", weight_decay=1e-3, loss_overrides={"delta": 0.0}).resolved()
    assert l2_ablation["weight_decay"] == 1e-3


def test_run_key_is_stable_and_tracks_every_field() -> None:
    base = RunConfig("mnist", "ce", noise="sym:0.4", seed=1)
    assert base.key == RunConfig("mnist", "CE", noise="sym:0.4", seed=1).key == config_key(base.resolved())
    others = [RunConfig("mnist", "ce", noise="sym:0.4", seed=2), RunConfig("mnist", "ce", noise="sym:0.6", seed=1),
              RunConfig("mnist", "ce", noise="sym:0.4", seed=1, epochs=3),
              RunConfig("mnist", "ce", noise="sym:0.4", seed=1, train_subset=100)]
    assert len({base.key, *(config.key for config in others)}) == 5


def test_every_committed_record_keeps_its_key_and_precision() -> None:
    """A record's config, read back as a RunConfig, resolves to the record's key: fields added to
    RunConfig later (precision) must not move an old record's key or change its meaning."""
    records = list(ResultsStore().records())
    assert records, "no committed records"
    for record in records:
        if record["config"]["dataset"] not in train.PROTOCOLS:
            continue  # segmentation records have their own config
        config = RunConfig(**record["config"])
        assert config.key == record["key"], record["key"]
        assert record["provenance"]["amp_bf16"] == (config.precision == "bf16"), record["key"]


def test_bf16_is_its_own_run_and_fp32_keeps_the_old_key() -> None:
    fp32 = RunConfig("cifar10", "anl_ce", noise="sym:0.8")
    bf16 = RunConfig("cifar10", "anl_ce", noise="sym:0.8", precision="bf16")
    assert "precision" not in fp32.resolved() and bf16.resolved()["precision"] == "bf16"
    assert RunConfig("cifar10", "anl_ce", noise="sym:0.8", precision="fp32").key == fp32.key != bf16.key
    assert engine.run_precision(fp32.resolved()) == "fp32" and engine.run_precision(bf16.resolved()) == "bf16"


def test_auto_precision_is_bf16_only_where_the_hardware_has_it(monkeypatch) -> None:
    assert engine.resolve_precision("fp32", "cpu") == "fp32" and engine.resolve_precision("bf16", "cpu") == "bf16"
    for native, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(engine, "native_bf16", lambda device, native=native: native)
        assert engine.resolve_precision("auto", "cpu") == expected
    with pytest.raises(ValueError, match="'fp16'.*auto, fp32, bf16"):
        engine.resolve_precision("fp16", "cpu")


@pytest.mark.parametrize("config,message", [
    (RunConfig("mnist", "ce", precision="fp16"), "precision='fp16'.*fp32, bf16"),
    (RunConfig("imagenet", "ce"), "unknown dataset 'imagenet'.*mnist"),
    (RunConfig("mnist", "cross_entropy"), "cross_entropy"),
    (RunConfig("mnist", "ce", noise="sym:1.5"), "1.5"),
    (RunConfig("mnist", "ce", epochs=0), "epochs"),
    (RunConfig("mnist", "ce", model="vgg"), "model.*cnn4"),
    (RunConfig("mnist", "ce", augment="mixup"), "augment.*crop_flip"),
])
def test_bad_configs_are_rejected_with_the_reason(config: RunConfig, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config.resolved()


def test_cosine_schedule_matches_torch() -> None:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=7)
    for epoch in range(7):
        assert math.isclose(cosine_lr(0.01, epoch, 7), optimizer.param_groups[0]["lr"], rel_tol=1e-9, abs_tol=1e-15)
        optimizer.step()
        scheduler.step()


# --- augmentation on the device ----------------------------------------------------------------

def test_crop_flip_gives_a_shifted_window_of_the_zero_padded_image() -> None:
    images = torch.randint(1, 256, (16, 3, 32, 32), dtype=torch.uint8)  # no zeros inside
    out = augment_batch(images, "crop_flip", torch.Generator().manual_seed(0))
    assert out.dtype == torch.uint8 and out.shape == images.shape
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    flips = 0
    for i in range(len(images)):
        matches = [(dy, dx, flip) for dy in range(9) for dx in range(9) for flip in (False, True)
                   if torch.equal(out[i], (lambda w: w.flip(-1) if flip else w)(padded[i, :, dy:dy + 32, dx:dx + 32]))]
        assert len(matches) == 1, f"sample {i} is not one crop of the padded image"
        flips += matches[0][2]
    assert 0 < flips < len(images)
    assert not torch.equal(out, augment_batch(images, "crop_flip", torch.Generator().manual_seed(1)))
    assert torch.equal(out, augment_batch(images, "crop_flip", torch.Generator().manual_seed(0)))


def test_rotation_keeps_shape_and_range_and_none_is_identity() -> None:
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    rotated = augment_batch(images, "crop_flip_rotate", torch.Generator().manual_seed(0))
    assert rotated.shape == images.shape and rotated.dtype == torch.float32
    assert rotated.min() >= 0 and rotated.max() <= 255
    assert augment_batch(images, "none", torch.Generator()) is images


# --- training on real data ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist_record(real_dataset, tmp_path_factory):
    """CE on a 5,000-image real MNIST subset for 3 epochs, stored."""
    store = ResultsStore(tmp_path_factory.mktemp("results"))
    config = RunConfig("mnist", "ce", seed=1, epochs=3, train_subset=5000)
    return store, train_run(config, store, dataset=real_dataset("mnist"), device="cpu", progress=False)


@pytest.mark.slow
def test_end_to_end_run_learns_and_its_record_round_trips(mnist_record) -> None:
    store, record = mnist_record
    assert record["summary"]["final_test_acc"] > 0.80
    assert [epoch["epoch"] for epoch in record["epochs"]] == [1, 2, 3]
    assert record["epochs"][-1]["clean_acc"] > 0.8 and record["epochs"][-1]["noisy_acc_given"] is None
    assert record["noise"]["rate"] == 0.0 and record["noise"]["train_size"] == 5000
    assert sum(map(sum, record["summary"]["test_confusion"])) == 10_000
    provenance = record["provenance"]
    assert provenance["device"] == "cpu" and provenance["threads"] == torch.get_num_threads()
    assert len(provenance["git_sha"]) in (40, len("unknown")) and provenance["wall_time_s"] > 0
    assert json.loads(store.path(record["key"]).read_text()) == json.loads(json.dumps(record))
    frame = load_results(store.root)
    assert len(frame) == 3 and set(frame["loss"]) == {"ce"} and (frame["epoch"] == [1, 2, 3]).all()
    assert {"dataset", "noise", "seed", "test_acc", "clean_acc", "noisy_acc_given", "noise_rate"} <= set(frame)
    summaries = load_summaries(store.root)
    assert len(summaries) == 1 and summaries["final_test_acc"].iloc[0] == record["summary"]["final_test_acc"]
    assert list(store.runs.glob(".*.tmp")) == []


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_record(real_dataset, tmp_path) -> None:
    mnist = real_dataset("mnist")
    config = RunConfig("mnist", "anl_ce", noise="sym:0.4", seed=3, epochs=3, train_subset=1500)
    whole = train_run(config, ResultsStore(tmp_path / "a"), dataset=mnist, device="cpu", progress=False)

    def stop_after_first(epoch: int, metrics: dict) -> None:
        if epoch == 1:
            raise KeyboardInterrupt

    store = ResultsStore(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        train_run(config, store, dataset=mnist, device="cpu", progress=False, on_epoch_end=stop_after_first)
    assert not store.has(config.key) and engine.checkpoint_path(store, config.key).is_file()
    resumed_epochs = []
    resumed = train_run(config, store, dataset=mnist, device="cpu", progress=False,
                        on_epoch_end=lambda epoch, metrics: resumed_epochs.append(epoch))
    assert resumed_epochs == [2, 3]
    assert without_timings(resumed["epochs"]) == without_timings(whole["epochs"])
    assert resumed["summary"] == whole["summary"] and resumed["noise"] == whole["noise"]
    assert not engine.checkpoint_path(store, config.key).exists()
    other_seed = train_run(RunConfig("mnist", "anl_ce", noise="sym:0.4", seed=4, epochs=1, train_subset=1500),
                           None, dataset=mnist, device="cpu", progress=False)
    assert without_timings(other_seed["epochs"]) != without_timings(whole["epochs"][:1])


@pytest.mark.slow
def test_a_checkpoint_in_the_saved_format_resumes(real_dataset, tmp_path) -> None:
    """A checkpoint written by hand as runs in progress hold it (<key>.pt in the checkpoint folder:
    model, optimizer, generator, torch_rng, epochs, elapsed) resumes: at the initial state it gives
    the uninterrupted run's record, and with one completed epoch it trains the rest only."""
    mnist = real_dataset("mnist")
    config = RunConfig("mnist", "ce", noise="sym:0.4", seed=2, epochs=2, train_subset=600, train_eval_size=200)
    resolved = config.resolved()
    whole = train_run(config, None, dataset=mnist, device="cpu", progress=False)
    store = ResultsStore(tmp_path / "results")

    def write_checkpoint(epochs: list[dict], elapsed: float) -> None:
        torch.manual_seed(resolved["seed"])
        model = build_model(resolved["model"], 10, 1).to(memory_format=torch.channels_last)
        optimizer = torch.optim.SGD(model.parameters(), lr=resolved["lr"], momentum=0.9,
                                    weight_decay=resolved["weight_decay"])
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "generator": torch.Generator().manual_seed(resolved["seed"]).get_state(),
                 "torch_rng": torch.get_rng_state(), "epochs": epochs, "elapsed": elapsed}
        path = store.root / "checkpoints" / f"{config.key}.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, path)

    write_checkpoint([], 0.0)
    resumed = train_run(config, store, dataset=mnist, device="cpu", progress=False)
    assert without_timings(resumed["epochs"]) == without_timings(whole["epochs"])
    assert resumed["summary"] == whole["summary"]
    assert not engine.checkpoint_path(store, config.key).exists()

    store.path(config.key).unlink()
    first = {**whole["epochs"][0], "test_acc": 0.5}  # marked, to see that it is kept as saved
    write_checkpoint([first], 1000.0)
    seen = []
    record = train_run(config, store, dataset=mnist, device="cpu", progress=False,
                       on_epoch_end=lambda epoch, metrics: seen.append(epoch))
    assert seen == [2] and record["epochs"][0] == first and record["epochs"][1]["epoch"] == 2
    assert record["provenance"]["wall_time_s"] >= 1000.0


@pytest.mark.slow
def test_sweep_trains_only_what_is_not_recorded(real_dataset, mnist_record, monkeypatch) -> None:
    store, done = mnist_record
    trained = []
    real_train_run = train.train_run

    def counting_train_run(config, *args, **kwargs):
        trained.append(config)
        return real_train_run(config, *args, **kwargs)

    monkeypatch.setattr(train, "train_run", counting_train_run)
    monkeypatch.setattr(train, "load_dataset", lambda name: real_dataset(name))
    configs = [RunConfig("mnist", "ce", seed=1, epochs=3, train_subset=5000),
               RunConfig("mnist", "ce", seed=2, epochs=1, train_subset=500)]
    records = train_sweep(configs, store, device="cpu", progress=False)
    assert [config.seed for config in trained] == [2]
    assert records[0] == done and records[1]["config"]["seed"] == 2
    train_sweep(configs, store, device="cpu", progress=False)
    assert len(trained) == 1


@pytest.mark.slow
def test_ce_memorises_wrong_labels_that_anl_ce_does_not_fit(real_dataset) -> None:
    mnist = real_dataset("mnist")
    memorised = {}
    for loss in ("ce", "anl_ce"):
        config = RunConfig("mnist", loss, noise="sym:0.6", seed=1, epochs=12, train_subset=2000)
        record = train_run(config, None, dataset=mnist, device="cpu", progress=False)
        memorised[loss] = record["summary"]["final_noisy_acc_given"]
        assert 0.55 < record["noise"]["rate"] <= 0.6
    assert memorised["ce"] > memorised["anl_ce"] + 0.2, memorised


# --- command line -------------------------------------------------------------------------------

@pytest.mark.parametrize("argv,message", [
    (["run", "--dataset", "mnist", "--loss", "hinge"], "hinge"),
    (["run", "--dataset", "mnist", "--loss", "ce", "--noise", "sym:2"], "sym"),
    (["run", "--dataset", "mnist", "--loss", "ce", "--set", "delta"], "NAME=NUMBER"),
    (["run", "--dataset", "svhn", "--loss", "ce"], "invalid choice: 'svhn'"),
    (["sweep", "--dataset", "mnist", "--losses", "ce", "--seeds", "x"], "invalid literal"),
])
def test_cli_errors_are_one_line(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in error and "Traceback" not in error


@pytest.mark.slow
def test_bf16_run_learns_and_says_so_in_its_record(real_dataset, tmp_path) -> None:
    config = RunConfig("mnist", "ce", seed=1, epochs=2, train_subset=3000, precision="bf16")
    record = train_run(config, ResultsStore(tmp_path), dataset=real_dataset("mnist"), device="cpu", progress=False)
    assert record["summary"]["final_test_acc"] > 0.85
    assert record["config"]["precision"] == "bf16" and record["provenance"]["amp_bf16"] is True
    assert isinstance(record["epochs"][-1]["test_loss"], float)  # the objective stayed float32


@pytest.mark.slow
def test_cli_run_records_and_prints_the_summary(real_dataset, tmp_path, capsys) -> None:
    real_dataset("mnist")
    argv = ["run", "--dataset", "mnist", "--loss", "nce_rce", "--noise", "asym:0.4", "--epochs", "1",
            "--train-subset", "600", "--device", "cpu", "--results", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    record = ResultsStore(tmp_path).read(printed["key"])
    assert record["config"]["loss"] == "nce_rce" and record["config"]["noise"] == "asym:0.4"
    assert printed["final_test_acc"] == record["summary"]["final_test_acc"]
