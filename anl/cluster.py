"""Internal: sweeps as job arrays through submitit: SLURM on a cluster, or submitit's local executor on this
machine (the same path, which the tests take).

The runs of a grid that are not yet recorded are cut into jobs of ``runs_per_job`` runs, submitted
as one array; every job trains its runs through the same sweep as ``python -m anl sweep``
(anl.engine.sweep: claims, per-epoch checkpoints, records written atomically into the shared
results folder), so a job submitted twice, or a worker started by hand beside the array, never
trains a run twice. A job stopped by preemption or its time limit releases its claims and is
requeued by submitit; the requeued job resumes each run from its last epoch checkpoint.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

try:
    import submitit
except ModuleNotFoundError as error:
    raise ModuleNotFoundError(f"anl.cluster needs submitit, the extra 'cluster': pip install '.[cluster]' "
                              f"({error})", name="submitit") from error

from anl import run_claims
from anl.results import ResultsStore

SweepFunction = Callable[..., list[dict[str, Any]]]


class JobFailedError(RuntimeError):
    """A job of a sweep's array that failed: one line naming the job, its error and its log."""


def wait_for(jobs: Sequence[submitit.Job]) -> None:
    """Wait for every job; JobFailedError for the first that failed, with the last line of its
    error (its exception) and the path of its log."""
    for job in jobs:
        try:
            job.result()
        except submitit.core.utils.UncompletedJobError as error:
            # the message holds the job's whole traceback; its exception is the last "Name: text" line
            exceptions = re.findall(r"^[A-Za-z_][\w.]*(?::\s.*)?$", str(error), flags=re.M)
            cause = exceptions[-1] if exceptions else str(error).splitlines()[0]
            raise JobFailedError(f"job {job.job_id} failed: {cause}; its log: {job.paths.stderr} (the runs recorded "
                                 "stay recorded; a rerun trains the rest)") from None


class SweepJob(submitit.helpers.Checkpointable):
    """One job of the array: ``train(configs, ResultsStore(results), device=device, progress=False)``
    with ``threads`` torch threads; returns the keys recorded. On a stop signal (preemption or the
    time limit) submitit calls :meth:`checkpoint`, which releases this job's claims and requeues it."""

    def __call__(self, train: SweepFunction, configs: Sequence[Any], results: str, device: str,
                 threads: int) -> list[str]:
        import torch

        torch.set_num_threads(threads)
        records = train(list(configs), ResultsStore(results), device=device, progress=False)
        return [record["key"] for record in records]

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        """Release this job's claims, then requeue the same job (submitit calls this on a stop signal)."""
        run_claims.release_all()
        return super().checkpoint(*args, **kwargs)


def chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` in consecutive pieces of ``size`` (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"runs per job must be >= 1, got {size}")
    return [list(items[start:start + size]) for start in range(0, len(items), size)]


def make_executor(kind: str, folder: Path, *, timeout_min: int, cpus_per_job: int, gpus_per_job: int,
                  partition: str | None) -> submitit.Executor:
    """A submitit executor of ``kind`` ('local' or 'slurm') writing its logs and pickles under ``folder``."""
    if kind not in ("local", "slurm"):
        raise ValueError(f"unknown executor {kind!r}; choose one of local, slurm")
    if timeout_min < 1 or cpus_per_job < 1 or gpus_per_job < 0:
        raise ValueError(f"invalid job resources: --timeout-min {timeout_min} (>= 1), --cpus-per-job {cpus_per_job} "
                         f"(>= 1), --gpus-per-job {gpus_per_job} (>= 0)")
    executor = submitit.AutoExecutor(folder=folder, cluster=kind)
    executor.update_parameters(name="anl-sweep", timeout_min=timeout_min, cpus_per_task=cpus_per_job,
                               gpus_per_node=gpus_per_job)
    if kind == "slurm":
        executor.update_parameters(slurm_additional_parameters={"requeue": True},
                                   **({"slurm_partition": partition} if partition else {}))
    return executor


def submit_sweep(train: SweepFunction, configs: Sequence[Any], store: ResultsStore, *, executor: str,
                 runs_per_job: int = 1, folder: str | os.PathLike | None = None, timeout_min: int = 240,
                 cpus_per_job: int = 1, gpus_per_job: int = 0, partition: str | None = None,
                 device: str = "auto") -> list[submitit.Job]:
    """Submit the runs of ``configs`` not yet in ``store`` as one job array of ``runs_per_job`` runs
    a job, its logs and job files in ``folder`` (default: ``jobs/`` beside the store's folder);
    returns the jobs (none when every run is recorded)."""
    pending = [config for config in configs if not store.has(config.key)]
    pieces = chunks(pending, runs_per_job)
    folder = Path(folder) if folder is not None else store.root.parent / "jobs"
    submitter = make_executor(executor, folder, timeout_min=timeout_min, cpus_per_job=cpus_per_job,
                              gpus_per_job=gpus_per_job, partition=partition)
    if not pieces:
        return []
    count = len(pieces)
    return submitter.map_array(SweepJob(), [train] * count, pieces, [str(store.root)] * count, [device] * count,
                               [cpus_per_job] * count)
