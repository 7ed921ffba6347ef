"""The results store: one JSON record per run under ``results/runs/``, named by a hash of its
config; atomic writes; a loader that returns tidy pandas frames for the notebooks.

A record holds ``key``, ``config`` (the resolved run config), ``loss_hparams`` (every
hyperparameter of the objective as built), ``noise`` (spec, realised rate and transition matrix), ``epochs`` (one dict of metrics per epoch), ``summary`` (final and best test
accuracy, best epoch) and ``provenance`` (code version, packages, device, threads, wall time).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_RESULTS = REPOSITORY / "results"


def config_key(config: Mapping[str, Any]) -> str:
    """Sixteen hex digits of the SHA-256 of the config as canonical JSON (sorted keys)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_code_version() -> dict[str, Any]:
    """Git commit of the package's checkout and whether its tracked files under anl/ differ from
    it; where git or the checkout is missing (a copy on a GPU machine), the commit named by the
    environment variable ANL_GIT_SHA, else "unknown", with git_dirty None."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
    try:
        sha = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "anl"))
    except (OSError, subprocess.SubprocessError):
        return {"git_sha": os.environ.get("ANL_GIT_SHA", "unknown"), "git_dirty": None}
    return {"git_sha": sha, "git_dirty": dirty}


_CODE_VERSION = read_code_version()  # the code this process imported, whatever is checked out later


def code_version() -> dict[str, Any]:
    """The code version of the running process, read when anl.results was imported (a checkout
    changed during a long sweep does not relabel the runs trained with the imported code)."""
    return dict(_CODE_VERSION)


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide a run's numbers."""
    import numpy
    import torch

    import anl

    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "anl": anl.__version__}


class ResultsStore:
    """Run records under ``root/runs/<key>.json``."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else DEFAULT_RESULTS
        self.runs = self.root / "runs"

    def path(self, key: str) -> Path:
        return self.runs / f"{key}.json"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def write(self, record: Mapping[str, Any]) -> Path:
        """Write one complete record atomically; returns its path."""
        path = self.path(record["key"])
        atomic_write_bytes(path, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())
        return path

    def read(self, key: str) -> dict[str, Any]:
        return json.loads(self.path(key).read_text())

    def records(self) -> Iterable[dict[str, Any]]:
        for path in sorted(self.runs.glob("*.json")):
            yield json.loads(path.read_text())


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
