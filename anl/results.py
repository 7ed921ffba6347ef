"""Internal: the results store: one JSON record per run under ``results/runs/``, named by a hash of its
config; atomic writes; a loader that returns tidy pandas frames for the notebooks.

A record holds ``key``, ``config`` (the resolved run config), ``loss_hparams`` (every
hyperparameter of the objective as built), ``noise`` (spec, realised rate and transition matrix),
``epochs`` (one dict of metrics per epoch), ``summary`` (final and best test accuracy, best epoch)
and ``provenance`` (code version, packages, device, threads, wall time); a segmentation record adds
``per_image`` and ``examples``, and a run that held out a fold of its scored sample ``held_out``
(that fold's softmax probabilities, anl.detection). Its schema, every field at every level, is the JSON Schema
``anl/record.schema.json``; :func:`record_problem` checks it and then what a schema cannot say (the
summary agrees with the epochs, the key is the config's hash and names the file).

Every reader goes through :func:`read_record`, which refuses a damaged record with a
DamagedRecordError naming its file and field: the loaders behind every page (``load_results``,
``load_summaries``, ``ResultsStore.records``) raise it, so a page with a damaged record in its
store stops there, naming it, rather than show numbers without it; ``make book`` runs
``check-results`` first, which lists every damaged record.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from anl import __version__
from anl.atomic import atomic_write_bytes

RESULTS_VARIABLE = "ANL_RESULTS"  # names the results folder; else the source checkout's results/


def source_checkout() -> Path | None:
    """The source checkout the package runs from (the folder holding ``anl/`` and a ``pyproject.toml``
    beside it: a clone, installed editable or on ``PYTHONPATH``), or None for an installed package."""
    folder = Path(__file__).resolve().parent.parent
    return folder if (folder / "pyproject.toml").is_file() else None


def default_results_root() -> Path:
    """The results folder a store uses when none is given: ``$ANL_RESULTS`` where set, else
    ``results/`` of the source checkout; ValueError for an installed package without the variable
    (its own folder, site-packages, is never a place to write runs)."""
    if os.environ.get(RESULTS_VARIABLE):
        return Path(os.environ[RESULTS_VARIABLE]).expanduser()
    checkout = source_checkout()
    if checkout is None:
        raise ValueError(f"no results folder: anl runs as an installed package (from {Path(__file__).parent}), "
                         f"not from a source checkout; set {RESULTS_VARIABLE} to the results folder "
                         f"or pass one (--results PATH)")
    return checkout / "results"


def config_key(config: Mapping[str, Any]) -> str:
    """Sixteen hex digits of the SHA-256 of the config as canonical JSON (sorted keys)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def read_code_version() -> dict[str, Any]:
    """The code version: ``git_sha`` and ``git_dirty`` (tracked files under anl/ differ from the
    commit), and ``code_version_source``, where it came from. "git": the package's checkout;
    without git or a checkout (a copy on a GPU machine), "ANL_GIT_SHA": the commit that
    environment variable names, else "package": the package version; git_dirty is then None."""
    checkout = source_checkout()

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=checkout, capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
    try:
        if checkout is None:  # git above site-packages would name an unrelated repository
            raise FileNotFoundError("no source checkout")
        sha = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "anl"))
    except (OSError, subprocess.SubprocessError):
        if os.environ.get("ANL_GIT_SHA"):
            return {"git_sha": os.environ["ANL_GIT_SHA"], "git_dirty": None,
                    "code_version_source": "ANL_GIT_SHA"}
        return {"git_sha": __version__, "git_dirty": None, "code_version_source": "package"}
    return {"git_sha": sha, "git_dirty": dirty, "code_version_source": "git"}


@functools.cache
def _first_code_version() -> dict[str, Any]:
    return read_code_version()


def code_version() -> dict[str, Any]:
    """The code version of the running process: :func:`read_code_version` on the first call, then
    the same (a checkout changed during a long sweep does not relabel the runs trained with the
    code read before it). Every trainer makes that first call before its first epoch
    (:func:`anl.engine.train_loop`); importing this module runs no git."""
    return dict(_first_code_version())


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide a run's numbers."""
    import numpy
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "anl": __version__}


SCHEMA: dict[str, Any] = json.loads(resources.files("anl").joinpath("record.schema.json").read_text(encoding="utf-8"))


def _is_finite_number(checker: Any, instance: Any) -> bool:
    return Draft202012Validator.TYPE_CHECKER.is_type(instance, "number") and math.isfinite(instance)


# JSON Schema's numbers include the NaN and infinities that Python's json reads: a record's may not.
_RecordValidator = validators.extend(
    Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine("number", _is_finite_number))


def _inline_references(node: Any, definitions: Mapping[str, Any]) -> Any:
    """``node`` with each bare {"$ref": "#/$defs/NAME"} replaced by that definition (the same
    meaning, and half the time: jsonschema resolves a reference on every visit)."""
    if isinstance(node, list):
        return [_inline_references(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if node.keys() == {"$ref"} and node["$ref"].startswith("#/$defs/"):
        return _inline_references(definitions[node["$ref"].removeprefix("#/$defs/")], definitions)
    return {name: _inline_references(value, definitions) for name, value in node.items()}


_VALIDATOR = _RecordValidator(_inline_references(SCHEMA, SCHEMA["$defs"]))
_SOUND: set[tuple[str, int, int, int]] = set()  # (path, inode, mtime, size) of the files found sound here
_MATRIX_ROW_SUM_TOLERANCE = 1e-3  # transition rows are stored rounded to 6 decimals
_ACCURACY_TOLERANCE = 1e-6  # float32 accuracy against the exact fraction of its confusion matrix
_MEAN_TOLERANCE = 1e-5  # per-image scores are stored rounded to 5 decimals


class DamagedRecordError(ValueError):
    """A run record file that is not a valid record: ``path`` and ``problem`` say which and why."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def _field_path(parts: Iterable[str | int]) -> str:
    """("epochs", 3, "test_acc") -> "epochs[3].test_acc"."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts).lstrip(".")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}...{text[-6:]}"


def _schema_problem(record: Any) -> str | None:
    """The most relevant way ``record`` breaks SCHEMA ("field.path: what is wrong"), or None."""
    error = best_match(_VALIDATOR.iter_errors(record))
    if error is None:
        return None
    if error.validator == "not" and error.validator_value == {}:  # a field of another kind of record
        message = ("not allowed in a record without config.holdout_folds" if list(error.absolute_path) == ["held_out"]
                   else "not allowed in a record of this config.dataset")
    else:
        message = error.message.replace(repr(error.instance), _short(error.instance))
    where = _field_path(error.absolute_path)
    return f"{where}: {message}" if where else message


def _mismatch(field: str, value: Any, expected: Any, what: str) -> str | None:
    return None if value == expected else f"{field}: {value!r} is not {what} ({expected!r})"


def _square_stochastic(field: str, matrix: list[list[float]], size: int) -> str | None:
    if len(matrix) != size or any(len(row) != size for row in matrix):
        return f"{field}: not {size} x {size} (as many rows and columns as noise.transition has rows)"
    for row, values in enumerate(matrix):
        if abs(sum(values) - 1) > _MATRIX_ROW_SUM_TOLERANCE:
            return f"{field}[{row}]: sums to {sum(values):.6g}, not 1 (a row of label probabilities)"
    return None


def _classification_problem(record: dict[str, Any]) -> str | None:
    noise, summary, epochs = record["noise"], record["summary"], record["epochs"]
    classes = len(noise["transition"])
    accuracies = [epoch["test_acc"] for epoch in epochs]
    best = max(range(len(accuracies)), key=lambda index: (accuracies[index], -index))
    confusion = summary["test_confusion"]
    problems = [
        _square_stochastic("noise.transition", noise["transition"], classes),
        noise["nominal"] and _square_stochastic("noise.nominal", noise["nominal"], classes),
        _mismatch("summary.final_test_acc", summary["final_test_acc"], accuracies[-1], "the last epoch's test_acc"),
        _mismatch("summary.best_test_acc", summary["best_test_acc"], accuracies[best], "the epochs' highest test_acc"),
        _mismatch("summary.best_epoch", summary["best_epoch"], best + 1, "the first epoch of the highest test_acc"),
        _mismatch("summary.final_noisy_acc_given", summary["final_noisy_acc_given"], epochs[-1]["noisy_acc_given"],
                  "the last epoch's noisy_acc_given"),
    ]
    if len(confusion) != classes or any(len(row) != classes for row in confusion):
        problems.append(f"summary.test_confusion: not {classes} x {classes} (the classes of noise.transition)")
    elif sum(map(sum, confusion)) == 0:
        problems.append("summary.test_confusion: counts no test image")
    else:
        fraction = sum(confusion[k][k] for k in range(classes)) / sum(map(sum, confusion))
        if abs(fraction - summary["final_test_acc"]) > _ACCURACY_TOLERANCE:
            problems.append(f"summary.test_confusion: its accuracy {fraction!r} is not summary.final_test_acc "
                            f"({summary['final_test_acc']!r})")
    if "held_out" in record:
        problems.append(_held_out_problem(record["config"], record["held_out"], classes))
    detection = summary.get("confident_learning")
    if detection is not None:
        for name in ("flagged", "mislabelled"):
            if detection[name] > detection["scored"]:
                problems.append(f"summary.confident_learning.{name}: {detection[name]} is more than the "
                                f"{detection['scored']} images scored")
    return next((problem for problem in problems if problem), None)


def _held_out_problem(config: dict[str, Any], held_out: dict[str, Any], classes: int) -> str | None:
    from anl.detection import decode_probabilities  # torch and scikit-learn, only for a record that needs them

    if config["holdout_fold"] >= config["holdout_folds"]:
        return f"config.holdout_fold: {config['holdout_fold']} is not one of the {config['holdout_folds']} folds"
    count = len(held_out["indices"])
    for name in ("given", "true"):
        if len(held_out[name]) != count or max(held_out[name]) >= classes:
            return f"held_out.{name}: not {count} labels (one per held-out image) below {classes} classes"
    if len(set(held_out["indices"])) != count or max(held_out["indices"]) >= held_out["sample_size"]:
        return f"held_out.indices: not distinct positions in the scored sample of {held_out['sample_size']} images"
    try:
        rows = len(decode_probabilities(held_out["probabilities"], classes))
    except ValueError as error:
        return f"held_out.probabilities: {error}"
    return _mismatch("held_out.probabilities", rows, count, "a row per held-out image")


def _segmentation_problem(record: dict[str, Any]) -> str | None:
    summary, epochs, per_image, examples = record["summary"], record["epochs"], record["per_image"], record["examples"]
    last = epochs[-1]
    chosen = max(range(len(epochs)), key=lambda index: (epochs[index]["val_dice"], -index))
    names = ("dice", "jaccard", "thresholded_jaccard")
    problems = [
        *(_mismatch(f"summary.final_test_{name}", summary[f"final_test_{name}"], last[f"test_{name}"],
                    f"the last epoch's test_{name}") for name in names),
        _mismatch("summary.final_val_dice", summary["final_val_dice"], last["val_dice"], "the last epoch's val_dice"),
        _mismatch("summary.best_val_epoch", summary["best_val_epoch"], chosen + 1,
                  "the first epoch of the highest val_dice"),
        *(_mismatch(f"summary.best_val_test_{name}", summary[f"best_val_test_{name}"], epochs[chosen][f"test_{name}"],
                    f"test_{name} at the best validation Dice") for name in names),
        _mismatch("summary.oracle_best_test_dice", summary["oracle_best_test_dice"],
                  max(epoch["test_dice"] for epoch in epochs), "the epochs' highest test_dice"),
        *(_mismatch(f"summary.final_{name}", summary[f"final_{name}"], last[name], f"the last epoch's {name}")
          for name in ("noisy_dice_given", "noisy_dice_true", "flipped_fit_given")),
        _mismatch("per_image.jaccard", len(per_image["jaccard"]), len(per_image["dice"]),
                  "as many scores as per_image.dice has"),
        _mismatch("examples.masks", len(examples["masks"]), len(examples["indices"]),
                  "as many masks as examples.indices"),
    ]
    for name in ("dice", "jaccard"):
        mean = sum(per_image[name]) / len(per_image[name])
        if abs(mean - summary[f"final_test_{name}"]) > _MEAN_TOLERANCE:
            problems.append(f"per_image.{name}: its mean {mean!r} is not summary.final_test_{name} "
                            f"({summary[f'final_test_{name}']!r})")
    if any(index >= len(per_image["dice"]) for index in examples["indices"]):
        problems.append(f"examples.indices: {examples['indices']} names an image beyond the "
                        f"{len(per_image['dice'])} test images")
    for field, amounts in (("noise", record["noise"]), ("noise.native_256x192", record["noise"]["native_256x192"])):
        if amounts["noisy_masks"] > amounts["train_size"]:
            problems.append(f"{field}.noisy_masks: {amounts['noisy_masks']} is more than train_size "
                            f"{amounts['train_size']}")
    return next((problem for problem in problems if problem), None)


def _epochs_problem(record: dict[str, Any]) -> str | None:
    epochs = record["epochs"]
    for index, epoch in enumerate(epochs):
        if epoch["epoch"] != index + 1:
            return f"epochs[{index}].epoch: {epoch['epoch']} where {index + 1} is due (epochs are 1..N in order)"
    if len(epochs) != record["config"]["epochs"]:
        return (f"epochs: {len(epochs)} epochs where config.epochs is {record['config']['epochs']} "
                "(a record is of a finished run)")
    expected_first = 1
    for index, version in enumerate(record["provenance"].get("code_versions", [])):
        if version["first_epoch"] != expected_first or version["last_epoch"] < version["first_epoch"]:
            return (f"provenance.code_versions[{index}]: epochs {version['first_epoch']}..{version['last_epoch']} "
                    f"where the next epochs start at {expected_first} (the versions cover 1..N in order)")
        expected_first = version["last_epoch"] + 1
    if "code_versions" in record["provenance"] and expected_first != len(epochs) + 1:
        return f"provenance.code_versions: end at epoch {expected_first - 1}, not at the last epoch {len(epochs)}"
    return None


def record_problem(record: Any, path: Path) -> str | None:
    """What is wrong with ``record``, read from ``path`` ("field.path: problem"), or None: first
    SCHEMA, then what it cannot express: the key is config_key of the config and names the file,
    the epochs are 1..config.epochs, the summary agrees with the epochs (final = last, best = the
    first maximum and its epoch), the noise matrices are square with rows summing to 1, the
    confusion matrix is as large and its accuracy is the final one, code_versions cover 1..N."""
    problem = _schema_problem(record)
    if problem is not None:
        return problem
    key, expected = record["key"], config_key(record["config"])
    if key != expected:
        return f"key: {key!r} does not match its config (whose key is {expected!r})"
    if path.name != f"{key}.json":
        return f"file name {path.name!r} is not its key {key!r} (its file is {key}.json)"
    if (problem := _epochs_problem(record)) is not None:
        return problem
    # SCHEMA requires per_image of a segmentation record and refuses it in a classification one
    return _segmentation_problem(record) if "per_image" in record else _classification_problem(record)


def read_record(path: Path) -> dict[str, Any]:
    """The record in ``path``. DamagedRecordError naming the file and the field if it is not valid
    JSON or :func:`record_problem` finds a problem (checked once per process and version of the
    file). FileNotFoundError if there is none."""
    status = path.stat()
    identity = (str(path), status.st_ino, status.st_mtime_ns, status.st_size)
    try:
        record = json.loads(path.read_bytes())
    except ValueError as error:  # JSONDecodeError, or bytes that are not text
        raise DamagedRecordError(path, f"invalid JSON ({error})") from None
    if identity not in _SOUND:  # a page reads each record more than once: validate a file once
        problem = record_problem(record, path)
        if problem is not None:
            raise DamagedRecordError(path, problem)
        _SOUND.add(identity)
    return record


class ResultsStore:
    """Run records under ``root/runs/<key>.json`` (``root`` defaults to :func:`default_results_root`);
    the readers raise DamagedRecordError."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_results_root()
        self.runs = self.root / "runs"

    def path(self, key: str) -> Path:
        return self.runs / f"{key}.json"

    def paths(self) -> list[Path]:
        """The record files, sorted by name."""
        return sorted(self.runs.glob("*.json"))

    def require_runs(self) -> None:
        """ValueError unless the store has its runs/ folder (a mistyped path is not an empty store)."""
        if not self.runs.is_dir():
            raise ValueError(f"no runs/ folder in {self.root} (give a results folder that has one)")

    def check_writable(self) -> None:
        """ValueError unless a record can be written in runs/ (created if missing), tried by creating
        and removing a file there: called before training, not after the last epoch."""
        try:
            self.runs.mkdir(parents=True, exist_ok=True)
            handle, probe = tempfile.mkstemp(dir=self.runs, prefix=".write-check.", suffix=".tmp")
            os.close(handle)
            os.unlink(probe)
        except OSError as error:
            raise ValueError(f"cannot write records in {self.runs} ({error.strerror or error}); "
                             "give a writable results folder") from None

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
    store.require_runs()
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
