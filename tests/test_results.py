"""anl.results: the code version in a record is the one the process imported, with the
ANL_GIT_SHA fallback for copies without git; records are written atomically."""

from __future__ import annotations

import json
import subprocess

import pytest

from anl import results


def test_code_version_is_read_from_git_once_per_process(monkeypatch):
    expected = subprocess.run(["git", "rev-parse", "HEAD"], cwd=results.REPOSITORY, capture_output=True,
                              text=True).stdout.strip()
    if not expected:
        pytest.skip("not a git checkout")
    monkeypatch.setattr(results.subprocess, "run", lambda *_, **__: pytest.fail("git called again"))
    assert results.code_version()["git_sha"] == expected


def test_code_version_falls_back_to_ANL_GIT_SHA_without_git(monkeypatch):
    def no_git(*_, **__):
        raise FileNotFoundError("git")

    monkeypatch.setattr(results.subprocess, "run", no_git)
    monkeypatch.delenv("ANL_GIT_SHA", raising=False)
    assert results.read_code_version() == {"git_sha": "unknown", "git_dirty": None}
    monkeypatch.setenv("ANL_GIT_SHA", "0123abc")
    assert results.read_code_version() == {"git_sha": "0123abc", "git_dirty": None}


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
