"""Internal: hyperparameter search for a loss on a validation split held out of the training set (Optuna).

A TPE sampler draws the loss's tunable hyperparameters from their log-uniform ranges
(anl.losses.search_space). Each trial is a run of anl.train with the split (RunConfig's
``validation_fraction``, ``validation``, ``validation_seed``): its own key and record in the
results store, checkpointed and resumable like any run. A trial's value is its last epoch's
validation accuracy ``val_acc``; a median pruner stops a trial in the second half of its epochs
(not at its last) when its ``val_acc`` falls below the median of the earlier trials at that epoch
(from the sixth trial on).

The study is an SQLite file, ``<results>/tuning/<name>.db``, named by the runs' shared config and
the search space (:func:`study_name`), so the same options resume it and a shared results folder
shares it; ``<name>.json`` beside it lists the trials and the best setting, rewritten after each
trial. ``trials`` counts the study's finished trials (completed, pruned or diverged): a rerun with
the same count trains nothing, and a trial interrupted before its record was written is tried
again first, with the same hyperparameters, so its run resumes from its checkpoint. Needs the
extra 'tune' (optuna).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anl import losses
from anl.atomic import atomic_write_bytes
from anl.data import ImageDataset, load_dataset
from anl.engine import NonFiniteObjectiveError, checkpoint_path
from anl.results import ResultsStore, config_key
from anl.train import RunConfig, train_run

TUNING_FOLDER = "tuning"  # the studies' folder inside a results store
STARTUP_TRIALS = 5  # the pruner stops no trial before this many have finished


def import_optuna() -> Any:
    """The optuna module; ModuleNotFoundError naming the extra where it is not installed."""
    try:
        import optuna
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(f"tuning needs optuna, the extra 'tune': pip install '.[tune]' ({error})",
                                  name="optuna") from error
    return optuna


@dataclass(frozen=True)
class TuningResult:
    """Where a study stands: its file, finished trials, the trials trained by this call, and the
    best setting with its validation accuracy and run key (None before any trial completed)."""

    study: Path
    finished: int
    trained: int
    best_params: dict[str, float] | None
    best_val_acc: float | None
    best_key: str | None


def search_space(base: RunConfig) -> dict[str, tuple[float, float]]:
    """The log-uniform ranges of the base run's loss on its data set and noise type."""
    return losses.search_space(base.loss, base.dataset, losses.noise_type_of(base.noise))


def check_base(base: RunConfig, trials: int) -> tuple[dict[str, Any], dict[str, tuple[float, float]]]:
    """The base run resolved and its search space; ValueError for a bad config, a loss without
    tunable hyperparameters, a base run without a validation split, trials < 1, or a fixed
    override of a tuned hyperparameter."""
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"invalid trials={trials!r}: must be an integer >= 1")
    if base.validation_fraction is None:
        raise ValueError("tuning needs a validation split: give validation_fraction in (0, 1) and validation "
                         "clean or noisy")
    resolved = base.resolved()
    space = search_space(base)
    fixed = sorted(set(losses.hparam_names(base.loss_overrides)) & set(space))
    if fixed:
        raise ValueError(f"{', '.join(fixed)} {'is' if len(fixed) == 1 else 'are'} tuned; overrides may fix only "
                         f"the other hyperparameters of {losses.display_name(base.loss)}")
    return resolved, space


def study_name(resolved: dict[str, Any], space: dict[str, tuple[float, float]]) -> str:
    """"<dataset>-<loss>-<noise>-<validation>-<hash>", the hash of the runs' resolved config (the
    tuned hyperparameters at their presets) and the search space."""
    digest = config_key({"runs": resolved, "search_space": {name: list(bounds) for name, bounds in space.items()}})
    noise = resolved["noise"].replace(":", "")
    return f"{resolved['dataset']}-{resolved['loss']}-{noise}-{resolved['validation']}-{digest}"


def summary_path(base: RunConfig, store: ResultsStore) -> Path:
    """Where the study of ``base`` in ``store`` writes its summary (:func:`write_summary`)."""
    return store.root / TUNING_FOLDER / f"{study_name(base.resolved(), search_space(base))}.json"


def read_summary(base: RunConfig, store: ResultsStore) -> dict[str, Any] | None:
    """The summary of the study of ``base`` in ``store`` (its config, search space, trials and best
    setting), or None before its first call has finished."""
    path = summary_path(base, store)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def tune(base: RunConfig, store: ResultsStore, trials: int, *, dataset: ImageDataset | None = None,
         device: str | None = None, progress: bool = True,
         log: Callable[[str], None] = print) -> TuningResult:
    """Run the study of ``base`` (a RunConfig with a validation split; its loss's tunable
    hyperparameters are searched) until it has ``trials`` finished trials; ``log`` gets one line
    per trial. ValueError for bad input (:func:`check_base`) before anything is trained."""
    resolved, space = check_base(base, trials)
    optuna = import_optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder = store.root / TUNING_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = study_name(resolved, space)
    path = folder / f"{name}.db"
    study = optuna.create_study(
        study_name=name, storage=f"sqlite:///{path}", direction="maximize", load_if_exists=True,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=STARTUP_TRIALS, n_warmup_steps=resolved["epochs"] // 2 + 1))
    # seeded by the run seed and the trials so far: a resumed study does not draw its first trials again
    study.sampler = optuna.samplers.TPESampler(seed=resolved["seed"] + len(study.trials))
    retry_interrupted(study, optuna)
    distributions = {hparam: optuna.distributions.FloatDistribution(low, high, log=True)
                     for hparam, (low, high) in space.items()}
    dataset = dataset if dataset is not None else load_dataset(resolved["dataset"])
    trained = 0
    while (done := len(finished_trials(study, optuna))) < trials:
        trial = study.ask(distributions)
        config = dataclasses.replace(base, loss_overrides={**base.loss_overrides, **trial.params})
        trial.set_user_attr("key", config.key)
        trained += not store.has(config.key)
        setting = ", ".join(f"{hparam} {value:.4g}" for hparam, value in trial.params.items())
        try:
            value = run_trial(trial, config, store, dataset, device, progress, optuna)
        except optuna.TrialPruned as pruned:
            checkpoint_path(store, config.key).unlink(missing_ok=True)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            write_summary(study, summarise(study, path, trained, optuna), resolved, space, optuna)
            log(f"trial {done + 1}/{trials}: {setting}: pruned at {pruned} (run {config.key})")
            continue
        except NonFiniteObjectiveError as error:
            trial.set_user_attr("diverged", str(error))
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            write_summary(study, summarise(study, path, trained, optuna), resolved, space, optuna)
            log(f"trial {done + 1}/{trials}: {setting}: diverged ({error})")
            continue
        except BaseException:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)  # tried again by the next call
            raise
        study.tell(trial, value)
        write_summary(study, summarise(study, path, trained, optuna), resolved, space, optuna)
        log(f"trial {done + 1}/{trials}: {setting}: val_acc {value:.4f} (run {config.key})")
    result = summarise(study, path, trained, optuna)
    write_summary(study, result, resolved, space, optuna)
    return result


def run_trial(trial: Any, config: RunConfig, store: ResultsStore, dataset: ImageDataset, device: str | None,
              progress: bool, optuna: Any) -> float:
    """Train (or read) the trial's run, reporting each epoch's val_acc to the pruner; raises
    optuna.TrialPruned (its text: "epoch N") when the pruner stops it before the last epoch (a
    finished run is recorded). Returns the last val_acc."""
    reported = set()
    epochs = config.resolved()["epochs"]

    def report(epoch: int, metrics: dict[str, Any]) -> None:
        trial.report(metrics["val_acc"], epoch)
        reported.add(epoch)
        if epoch < epochs and trial.should_prune():
            raise optuna.TrialPruned(f"epoch {epoch}")

    record = train_run(config, store, dataset=dataset, device=device, progress=progress, on_epoch_end=report)
    for epoch in record["epochs"]:  # epochs trained before a resume, or by another worker
        if epoch["epoch"] not in reported:
            trial.report(epoch["val_acc"], epoch["epoch"])
    return record["epochs"][-1]["val_acc"]


def finished_trials(study: Any, optuna: Any) -> list[Any]:
    """Completed and pruned trials, and those stopped by a non-finite objective."""
    state = optuna.trial.TrialState
    return [trial for trial in study.get_trials(deepcopy=False)
            if trial.state in (state.COMPLETE, state.PRUNED)
            or (trial.state == state.FAIL and "diverged" in trial.user_attrs)]


def retry_interrupted(study: Any, optuna: Any) -> None:
    """Enqueue again the hyperparameters of each interrupted trial (failed, not diverged) whose run
    no other trial has taken up, so that its run resumes from its checkpoint."""
    state = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    taken = {trial.user_attrs.get("key") for trial in trials if trial.state != state.FAIL}
    for trial in trials:
        key = trial.user_attrs.get("key")
        if trial.state == state.FAIL and "diverged" not in trial.user_attrs and key not in taken:
            study.enqueue_trial(trial.params, user_attrs={"key": key})
            taken.add(key)


def summarise(study: Any, path: Path, trained: int, optuna: Any) -> TuningResult:
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    best = max(completed, key=lambda trial: (trial.value, -trial.number)) if completed else None
    return TuningResult(study=path, finished=len(finished_trials(study, optuna)), trained=trained,
                        best_params=None if best is None else dict(best.params),
                        best_val_acc=None if best is None else best.value,
                        best_key=None if best is None else best.user_attrs["key"])


def write_summary(study: Any, result: TuningResult, resolved: dict[str, Any],
                  space: dict[str, tuple[float, float]], optuna: Any) -> None:
    """``<study>.json`` beside the study: the runs' config, the space, every trial and the best."""
    trials = [{"number": trial.number, "state": trial.state.name, "params": trial.params, "val_acc": trial.value,
               "key": trial.user_attrs.get("key"), "epochs_reported": len(trial.intermediate_values)}
              for trial in study.get_trials(deepcopy=False) if trial.state != optuna.trial.TrialState.WAITING]
    summary = {"study": study.study_name, "config": resolved,
               "search_space": {name: {"low": low, "high": high, "log": True} for name, (low, high) in space.items()},
               "best": {"params": result.best_params, "val_acc": result.best_val_acc, "key": result.best_key},
               "finished": result.finished, "trials": trials}
    atomic_write_bytes(result.study.with_suffix(".json"), (json.dumps(summary, indent=1) + "\n").encode())
