"""The command line checks what it can before training and turns every failure a user can cause or
meet into one line naming the thing and what to do: an unwritable --results, a results folder
that does not exist, an unknown device, a damaged checkpoint, a failed job of a local job array;
and the files it writes respect the umask."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from anl import cli, engine
from anl.atomic import atomic_write_bytes
from anl.cli import main
from anl.results import ResultsStore
from anl.train import RunConfig
from records import classification_record

REPOSITORY = Path(__file__).resolve().parents[1]

TINY = ["--dataset", "mnist", "--train-subset", "100", "--train-eval-size", "50", "--epochs", "1", "--device", "cpu",
        "--precision", "fp32", "--no-progress"]
TINY_CONFIG = RunConfig("mnist", "ce", train_subset=100, train_eval_size=50, epochs=1, precision="fp32")


def error_line(capsys, argv: list[str]) -> str:
    """The one line ``main(argv)`` exits 2 with."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    return lines[-1]


@pytest.fixture
def no_training(monkeypatch):
    def refuse(*_, **__):
        pytest.fail("trained although the results folder cannot take the record")
    for name in ("train_run", "train_configs"):
        monkeypatch.setattr(cli, name, refuse)
    monkeypatch.setattr(cli.segmentation, "train_segmentation", refuse)


@pytest.mark.parametrize("command", [["run", *TINY, "--loss", "ce"], ["sweep", *TINY, "--losses", "ce"],
                                     ["segment", "run", "--loss", "dice", "--epochs", "1", "--device", "cpu"]])
def test_results_that_is_a_file_is_refused_before_training(command, tmp_path, capsys, no_training):
    file = tmp_path / "results"
    file.write_text("not a folder")
    line = error_line(capsys, [*command, "--results", str(file)])
    assert line.endswith(f"error: cannot write records in {file / 'runs'} (Not a directory); "
                         "give a writable results folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_results_folder_is_refused_before_training(tmp_path, capsys, no_training):
    runs = tmp_path / "results" / "runs"
    runs.mkdir(parents=True)
    runs.chmod(0o555)
    try:
        line = error_line(capsys, ["run", *TINY, "--loss", "ce", "--results", str(tmp_path / "results")])
    finally:
        runs.chmod(0o755)
    assert line.endswith(f"error: cannot write records in {runs} (Permission denied); give a writable results folder")
    assert list(runs.iterdir()) == []


def test_readme_from_a_missing_results_folder_is_an_error_and_leaves_the_readme(tmp_path, capsys):
    readme = tmp_path / "README.md"
    text = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    readme.write_text(text, encoding="utf-8")
    line = error_line(capsys, ["readme", "--file", str(readme), "--results", str(tmp_path / "nonexistent")])
    assert line == (f"python -m anl readme: error: no runs/ folder in {tmp_path / 'nonexistent'} "
                    "(give a results folder that has one)")
    assert readme.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("command", [["run", "--dataset", "mnist", "--loss", "ce"], ["sweep", "--grid", "mnist-full"],
                                     ["segment", "run", "--loss", "dice"], ["bench"]])
def test_an_unknown_device_is_one_line_naming_the_choices(command, tmp_path, capsys):
    line = error_line(capsys, [*command, "--device", "tpu", "--results", str(tmp_path)] if command[0] != "bench"
                      else [*command, "--device", "tpu"])
    assert line.endswith("error: argument --device: 'tpu' is not a device: auto, cpu, cuda or cuda:N")


def zip_checkpoint() -> bytes:
    buffer = io.BytesIO()
    torch.save({"epochs": []}, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("damage", [b"", b"garbage\n", b"\x80\x02garbage" * 10, zip_checkpoint()[:200]],
                         ids=["empty", "text", "pickle", "truncated"])
def test_a_damaged_checkpoint_is_one_line_naming_its_file(damage, real_dataset, tmp_path, monkeypatch, capsys):
    real_dataset("mnist")
    monkeypatch.delenv("ANL_CHECKPOINTS", raising=False)
    path = engine.checkpoint_path(ResultsStore(tmp_path / "results"), TINY_CONFIG.key)
    path.parent.mkdir(parents=True)
    path.write_bytes(damage)
    line = error_line(capsys, ["run", *TINY, "--loss", "ce", "--results", str(tmp_path / "results")])
    assert line.startswith(f"python -m anl run: error: cannot read {path} (")
    assert line.endswith("): a damaged checkpoint; delete it and its run trains again from epoch 0")


def test_a_failed_job_of_a_local_array_is_one_line_naming_its_log(tmp_path, monkeypatch, capsys):
    (tmp_path / "no-data").mkdir()
    monkeypatch.setenv("ANL_DATA", str(tmp_path / "no-data"))  # the job finds no MNIST and fails
    monkeypatch.delenv("ANL_CHECKPOINTS", raising=False)
    line = error_line(capsys, ["sweep", *TINY, "--losses", "ce", "--results", str(tmp_path / "results"),
                               "--executor", "local", "--jobs-folder", str(tmp_path / "jobs")])
    [log] = (tmp_path / "jobs").glob("*_log.err")
    assert line.startswith("python -m anl sweep: error: job ")
    assert " failed: anl.data.layouts.DataNotFoundError: " in line
    assert line.endswith(f"; its log: {log} (the runs recorded stay recorded; a rerun trains the rest)")


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_records_and_checkpoints_are_written_with_the_umask(umask, mode, tmp_path, monkeypatch):
    monkeypatch.delenv("ANL_CHECKPOINTS", raising=False)
    previous = os.umask(umask)
    try:
        store = ResultsStore(tmp_path / "results")
        record = store.write(classification_record(TINY_CONFIG, 0.5))
        checkpoint = engine.checkpoint_path(store, TINY_CONFIG.key)
        checkpoint.parent.mkdir(parents=True)
        engine.save_checkpoint(checkpoint, {"epochs": []})
        plain = tmp_path / "plain"
        atomic_write_bytes(plain, b"x")
        assert os.umask(umask) == umask  # writing left the umask as it was
    finally:
        os.umask(previous)
    for path in (record, checkpoint, plain):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


def test_a_misspelt_page_parameter_stops_the_page_naming_it(tmp_path):
    """book/execute-notebook.sh on a one-cell page: papermill alone would warn and run the defaults."""
    (tmp_path / "book").mkdir()
    (tmp_path / "notebooks").mkdir()
    for name in ("execute-notebook.sh", "finish_page.py"):
        (tmp_path / "book" / name).write_bytes((REPOSITORY / "book" / name).read_bytes())
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: tiny\n")
    (tmp_path / "notebooks" / "tiny.py").write_text(
        "# ---\n# jupyter:\n#   kernelspec:\n#     display_name: Python 3\n#     language: python\n"
        "#     name: python3\n# ---\n\n# %% [markdown]\n# # Tiny\n\n# %% tags=[\"parameters\"]\nnoise_spec = \"clean\"\nseeds = [1]\n\n"
        "# %%\nprint(f\"noise {noise_spec} seeds {seeds}\")\n")
    env = {**os.environ, "VENV": sys.prefix}

    def execute(*parameters: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "book/execute-notebook.sh", "tiny", *parameters], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)

    misspelt = execute("-p", "noise", "sym:0.4", "-y", "seed: [2]")
    assert misspelt.returncode == 2
    assert misspelt.stderr.strip().splitlines()[-1] == (
        "page tiny: unknown parameter(s) seed, noise; the page takes noise_spec, seeds")
    assert not (tmp_path / "book" / "notebooks" / "tiny.ipynb").exists()
    spelt = execute("-p", "noise_spec", "sym:0.4")
    assert spelt.returncode == 0, spelt.stderr
    assert "noise sym:0.4 seeds [1]" in (tmp_path / "book" / "notebooks" / "tiny.ipynb").read_text()


def test_a_section_tagged_with_an_empty_parameter_is_left_out_of_the_page():
    """book/finish_page.py: "if:NAME" cells get Jupyter Book's remove-cell tag when the executed
    parameter NAME is empty (the injected value counts, not the default; an unset one is the page's
    default), and stay in the notebook."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("finish_page", REPOSITORY / "book" / "finish_page.py")
    finish_page = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(finish_page)

    def cell(source: str, *tags: str) -> dict:
        return {"cell_type": "code", "source": source, "metadata": {"tags": list(tags)}}

    cells = [cell("losses = ['ce']\nextra = []\nscale = 2 * 3", "parameters"), cell("losses = []", "injected-parameters"),
             cell("print(losses)", "if:losses"), cell("print(extra)", "hide-input", "if:extra"), cell("1"),
             cell("print(scale)", "if:scale")]
    finish_page.hide_unasked_sections(cells, "book/notebooks/tiny", "tiny.ipynb")
    assert [c["metadata"]["tags"] for c in cells[2:]] == [
        ["if:losses", "remove-cell"], ["hide-input", "if:extra", "remove-cell"], [], ["if:scale"]]
    with pytest.raises(SystemExit, match="tagged if:seeds, but the page has no parameter seeds"):
        finish_page.hide_unasked_sections([*cells, cell("print(seeds)", "if:seeds")], "book/notebooks/tiny", "tiny.ipynb")
    # a book page's parameter left unset (...) is its default in anl.pages: the benchmark's paper losses are not empty
    unset = [cell("paper_loss_names = ...\nprotocol_losses = ...", "parameters"),
             cell("protocol_losses = []", "injected-parameters"), cell("1", "if:paper_loss_names"),
             cell("2", "if:protocol_losses")]
    finish_page.hide_unasked_sections(unset, "book/notebooks/benchmark-fashion-mnist", "benchmark.ipynb")
    assert [c["metadata"]["tags"] for c in unset[2:]] == [["if:paper_loss_names"], ["if:protocol_losses", "remove-cell"]]


@pytest.mark.parametrize(("flags", "message"), [(["--holdout-folds", "4", "--holdout-fold", "4"],
                                                 "invalid holdout_fold=4: must lie in 0..3"),
                                                (["--holdout-fold", "2"], "invalid holdout_fold=2: needs holdout_folds >= 2")])
def test_a_fold_that_is_not_one_of_the_folds_is_refused_in_one_line(flags, message, tmp_path, capsys):
    line = error_line(capsys, ["run", *TINY, "--loss", "ce", *flags, "--results", str(tmp_path)])
    assert line.endswith(f"error: {message}")
