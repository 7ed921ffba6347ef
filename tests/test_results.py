"""anl.results: the code version in a record is read once per process (before its first epoch), from git, else
ANL_GIT_SHA, else the package version; the results folder is $ANL_RESULTS, else the checkout's results/;
records are written atomically; a damaged record is refused
with an error naming its file and the problem, and ``check-results`` lists every damaged one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import anl
from anl import results
from anl.cli import main
from anl.train import RunConfig
from records import classification_record


def test_code_version_is_read_from_git_once_per_process(monkeypatch):
    expected = subprocess.run(["git", "rev-parse", "HEAD"], cwd=results.source_checkout(), capture_output=True,
                              text=True).stdout.strip()
    if not expected:
        pytest.skip("not a git checkout")
    assert results.code_version()["git_sha"] == expected
    monkeypatch.setattr(results.subprocess, "run", lambda *_, **__: pytest.fail("git called again"))
    assert results.code_version()["git_sha"] == expected
    assert results.code_version()["code_version_source"] == "git"


def test_importing_the_results_store_runs_no_subprocess():
    code = ("import subprocess\n"
            "def refuse(*args, **kwargs):\n"
            "    raise AssertionError(f'subprocess at import: {args}')\n"
            "subprocess.run = subprocess.Popen = refuse\n"
            "import anl.results\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_code_version_without_git_is_ANL_GIT_SHA_else_the_package_version(monkeypatch):
    def no_git(*_, **__):
        raise FileNotFoundError("git")

    monkeypatch.setattr(results.subprocess, "run", no_git)
    monkeypatch.setenv("ANL_GIT_SHA", "0123abc")
    assert results.read_code_version() == {"git_sha": "0123abc", "git_dirty": None,
                                           "code_version_source": "ANL_GIT_SHA"}
    package = {"git_sha": anl.__version__, "git_dirty": None, "code_version_source": "package"}
    monkeypatch.setenv("ANL_GIT_SHA", "")
    assert results.read_code_version() == package
    monkeypatch.delenv("ANL_GIT_SHA")
    assert results.read_code_version() == package


def test_the_results_folder_is_ANL_RESULTS_else_the_checkouts_results(monkeypatch, tmp_path):
    monkeypatch.delenv("ANL_RESULTS", raising=False)
    checkout = Path(__file__).resolve().parents[1]
    assert results.ResultsStore().root == checkout / "results"
    monkeypatch.setenv("ANL_RESULTS", str(tmp_path / "mine"))
    assert results.ResultsStore().runs == tmp_path / "mine" / "runs"
    assert results.ResultsStore(tmp_path / "given").root == tmp_path / "given"


def test_an_installed_package_names_ANL_RESULTS_and_never_writes_beside_itself(tmp_path):
    """A copy of the package without a pyproject.toml beside it, as in site-packages."""
    shutil.copytree(Path(results.__file__).parent, tmp_path / "anl", ignore=shutil.ignore_patterns("__pycache__"))
    code = ("from anl import results\n"
            "assert results.source_checkout() is None\n"
            "assert results.read_code_version()['code_version_source'] == 'package'\n"
            "results.ResultsStore()\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("ANL_RESULTS", None)
    env.pop("ANL_GIT_SHA", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "ValueError: no results folder" in done.stderr and "set ANL_RESULTS" in done.stderr
    env["ANL_RESULTS"] = str(tmp_path / "results")
    code = "from anl import results\nprint(results.ResultsStore().root)\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == str(tmp_path / "results")


def test_a_write_interrupted_before_the_rename_leaves_the_previous_record(tmp_path, monkeypatch):
    store = results.ResultsStore(tmp_path)
    store.write({"key": "k", "value": 1})

    def interrupted(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(results.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.write({"key": "k", "value": 2})
    assert json.loads((tmp_path / "runs" / "k.json").read_text())["value"] == 1
    assert [path.name for path in (tmp_path / "runs").iterdir()] == ["k.json"]  # no temporary left


def make_record(seed: int) -> dict:
    return classification_record(RunConfig("mnist", "ce", noise="sym:0.4", seed=seed, epochs=2, train_subset=100), 0.5)


def truncated(store, record):
    path = store.write(record)
    path.write_bytes(path.read_bytes()[:40])
    return path


def tampered_config(store, record):
    record["config"]["seed"] += 100
    return store.write(record)


def without_summary(store, record):
    del record["summary"]
    return store.write(record)


def epochs_not_a_list(store, record):
    record["epochs"] = {"1": record["epochs"][0]}
    return store.write(record)


def misnamed(store, record):
    path = store.write(record)
    return path.rename(path.with_name("0000000000000000.json"))


DAMAGE = {truncated: "invalid JSON", tampered_config: "does not match its config",
          without_summary: "'summary' is a required property", epochs_not_a_list: "epochs: .* is not of type 'array'",
          misnamed: "file name '0000000000000000.json' is not its key"}


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda damage: damage.__name__)
def test_every_reader_names_the_damaged_file_and_the_problem(tmp_path, damage):
    store = results.ResultsStore(tmp_path)
    path = damage(store, make_record(1))
    message = rf"{re.escape(str(path))}: .*{DAMAGE[damage]}"
    for read in (lambda: store.read(path.stem), lambda: list(store.records()),
                 lambda: results.load_summaries(tmp_path), lambda: results.load_results(tmp_path)):
        with pytest.raises(results.DamagedRecordError, match=message) as caught:
            read()
        assert caught.value.path == path


def damaged_store(tmp_path):
    """Two good records and one of each kind of damage; {damaged file: its problem}, sorted by file."""
    store = results.ResultsStore(tmp_path)
    for seed in (1, 2):
        store.write(make_record(seed))
    damaged = {damage(store, make_record(10 + index)): DAMAGE[damage] for index, damage in enumerate(DAMAGE)}
    return store, dict(sorted(damaged.items()))


def test_check_records_finds_exactly_the_damaged_files_and_leaves_every_file_as_it_was(tmp_path):
    store, damaged = damaged_store(tmp_path)
    before = {path: path.read_bytes() for path in store.paths()}
    assert len(before) == 2 + len(DAMAGE)
    problems = results.check_records(tmp_path)
    assert [problem.path for problem in problems] == list(damaged)
    assert {path: path.read_bytes() for path in store.paths()} == before


def test_check_results_lists_the_damaged_records_and_exits_1(tmp_path, capsys):
    store, damaged = damaged_store(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(["check-results", "--results", str(tmp_path)])
    assert caught.value.code == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == len(damaged)
    for line, (path, problem) in zip(lines, damaged.items()):
        assert re.fullmatch(rf"{re.escape(str(path))}: .*{problem}.*", line)
    assert err == f"check-results: {len(damaged)} damaged record(s) in {store.runs}\n"


def test_check_results_of_a_sound_store_prints_one_ok_line_and_exits_0(tmp_path, capsys):
    store = results.ResultsStore(tmp_path)
    for seed in (1, 2, 3):
        store.write(make_record(seed))
    assert main(["check-results", "--results", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"check-results: OK, 3 records in {store.runs}\n"


def test_check_results_without_a_runs_folder_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["check-results", "--results", str(tmp_path / "missing")])
    assert caught.value.code == 2
    assert f"no runs/ folder in {tmp_path / 'missing'}" in capsys.readouterr().err


def test_every_record_in_the_repository_is_sound():
    """Classification and segmentation records alike pass the schema and the consistency checks."""
    store = results.ResultsStore()
    datasets = {json.loads(path.read_bytes())["config"]["dataset"] for path in store.paths()}
    assert {"mnist", "isic2017"} <= datasets
    assert results.check_records() == []
