"""The results store: one JSON record per run under ``results/runs/``, named by a hash of its
config; atomic writes; a loader that returns tidy pandas frames for the notebooks.

A record holds ``key``, ``config`` (the resolved run config), ``loss_hparams`` (every
hyperparameter of the objective as built), ``noise`` (spec, realised rate and transition matrix), ``epochs`` (one dict of metrics per epoch), ``summary`` (final and best test
accuracy, best epoch) and ``provenance`` (code version, packages, device, threads, wall time).
The readers refuse a damaged record (see ``read_record``) with a DamagedRecordError naming its file.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from anl import __version__
from anl.atomic import atomic_write_bytes

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_RESULTS = REPOSITORY / "results"


def config_key(config: Mapping[str, Any]) -> str:
    """Sixteen hex digits of the SHA-256 of the config as canonical JSON (sorted keys)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def read_code_version() -> dict[str, Any]:
    """The code version: ``git_sha`` and ``git_dirty`` (tracked files under anl/ differ from the
    commit), and ``code_version_source``, where it came from. "git": the package's checkout;
    without git or a checkout (a copy on a GPU machine), "ANL_GIT_SHA": the commit that
    environment variable names, else "package": the package version; git_dirty is then None."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
    try:
        sha = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "anl"))
    except (OSError, subprocess.SubprocessError):
        if os.environ.get("ANL_GIT_SHA"):
            return {"git_sha": os.environ["ANL_GIT_SHA"], "git_dirty": None,
                    "code_version_source": "ANL_GIT_SHA"}
        return {"git_sha": __version__, "git_dirty": None, "code_version_source": "package"}
    return {"git_sha": sha, "git_dirty": dirty, "code_version_source": "git"}


_CODE_VERSION = read_code_version()  # the code this process imported, whatever is checked out later


def code_version() -> dict[str, Any]:
    """The code version of the running process, read when anl.results was imported (a checkout
    changed during a long sweep does not relabel the runs trained with the imported code)."""
    return dict(_CODE_VERSION)


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide a run's numbers."""
    import numpy
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "anl": __version__}


# Every record has these fields, of these JSON types; segmentation records add more.
REQUIRED_FIELDS: dict[str, type] = {"key": str, "config": dict, "loss_hparams": dict, "noise": dict,
                                    "epochs": list, "summary": dict, "provenance": dict}
JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
              float: "a number", type(None): "null"}


class DamagedRecordError(ValueError):
    """A run record file that is not a valid record: ``path`` and ``problem`` say which and why."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def read_record(path: Path) -> dict[str, Any]:
    """The record in ``path``. DamagedRecordError if it is not valid JSON, is not an object, lacks
    a field of REQUIRED_FIELDS or has one of another type, is not named ``<key>.json``, or its key
    is not ``config_key`` of its config."""
    try:
        record = json.loads(path.read_bytes())
    except ValueError as error:  # JSONDecodeError, or bytes that are not text
        raise DamagedRecordError(path, f"invalid JSON ({error})") from None
    if not isinstance(record, dict):
        raise DamagedRecordError(path, f"not a JSON object but {JSON_TYPES[type(record)]}")
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        raise DamagedRecordError(path, f"missing required field(s) {', '.join(map(repr, missing))}")
    for name, kind in REQUIRED_FIELDS.items():
        if not isinstance(record[name], kind):
            raise DamagedRecordError(path, f"field {name!r} is {JSON_TYPES[type(record[name])]}, "
                                           f"not {JSON_TYPES[kind]}")
    key, expected = record["key"], config_key(record["config"])
    if key != expected:
        raise DamagedRecordError(path, f"key {key!r} does not match its config (whose key is {expected!r})")
    if path.name != f"{key}.json":
        raise DamagedRecordError(path, f"file name {path.name!r} is not its key {key!r} (its file is {key}.json)")
    return record


class ResultsStore:
    """Run records under ``root/runs/<key>.json``; the readers raise DamagedRecordError."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else DEFAULT_RESULTS
        self.runs = self.root / "runs"

    def path(self, key: str) -> Path:
        return self.runs / f"{key}.json"

    def paths(self) -> list[Path]:
        """The record files, sorted by name."""
        return sorted(self.runs.glob("*.json"))

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def write(self, record: Mapping[str, Any]) -> Path:
        """Write one complete record atomically; returns its path."""
        path = self.path(record["key"])
        atomic_write_bytes(path, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())
        return path

    def read(self, key: str) -> dict[str, Any]:
        return read_record(self.path(key))

    def records(self) -> Iterable[dict[str, Any]]:
        for path in self.paths():
            yield read_record(path)


def check_records(root: str | os.PathLike[str] | None = None) -> list[DamagedRecordError]:
    """Every damaged record of the store at ``root``, in file name order, as the error reading it
    raises; the files are only read. ValueError if ``root`` has no runs/ folder."""
    store = ResultsStore(root)
    if not store.runs.is_dir():
        raise ValueError(f"no runs/ folder in {store.root} (give a results folder that has one)")
    damaged = []
    for path in store.paths():
        try:
            read_record(path)
        except DamagedRecordError as error:
            damaged.append(error)
    return damaged


def flat_config(record: Mapping[str, Any]) -> dict[str, Any]:
    """Config fields as columns; the loss's resolved hyperparameters as ``loss_<name>`` columns
    (loss_alpha, loss_beta, loss_delta, loss_lambda, ...); the realised noise rate and number of
    training images (``noise_rate``, ``train_size``)."""
    config = dict(record["config"])
    del config["loss_overrides"]
    for name, value in record["loss_hparams"].items():
        config[f"loss_{name}"] = value
    config["noise_rate"] = record["noise"]["rate"]
    config["train_size"] = record["noise"]["train_size"]
    config["key"] = record["key"]
    config["device"] = record["provenance"]["device"]
    return config


def load_results(root: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per run and epoch: config columns, realised noise rate, and the epoch's metrics."""
    rows = [{**flat_config(record), **epoch}
            for record in ResultsStore(root).records() for epoch in record["epochs"]]
    return pd.DataFrame(rows)


def load_summaries(root: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per run: config columns, realised noise rate, summary metrics and wall time."""
    rows = [{**flat_config(record), **record["summary"],
             "wall_time_s": record["provenance"]["wall_time_s"]}
            for record in ResultsStore(root).records()]
    return pd.DataFrame(rows)
