"""Run leaderboard jobs in parallel: a local process pool (default) or a Ray cluster, with a progress display.

Every job trains through ``train.run.main`` in a fresh process (``max_tasks_per_child=1`` locally,
``max_calls=1`` on Ray), so no torch or RNG state leaks from one run into the next. Local jobs are
forked from a fork server that has imported torch and SB3 once, so a job starts in well under a second.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from eval.runs import RunRecord, RunSpec, load_run


def run_job(argv: list[str], log_path: str) -> RunRecord:
    """Train one run with ``train.run.main(argv)`` (output to ``log_path``) and read its folder back."""
    import torch

    torch.set_num_threads(1)  # one core per job: the pool provides the parallelism
    from train.run import main as train_main

    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        summary = train_main(argv)
    return load_run(summary["run_dir"])


def _format_seconds(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


@dataclass
class Progress:
    """Prints one line per finished job: done / running / failed counts, elapsed time and an ETA.

    The ETA assumes the remaining jobs take as long on average as the finished ones.
    """

    total: int
    workers: int
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    done: int = 0
    failed: int = 0
    start: float = field(default_factory=time.monotonic)

    @property
    def running(self) -> int:
        return min(self.workers, self.total - self.done - self.failed)

    def eta(self) -> float | None:
        finished = self.done + self.failed
        if not finished:
            return None
        return (time.monotonic() - self.start) / finished * (self.total - finished)

    def status(self) -> str:
        eta = self.eta()
        return (
            f"[{self.done}/{self.total} done | {self.running} running | {self.failed} failed | "
            f"{_format_seconds(time.monotonic() - self.start)} elapsed | ETA {_format_seconds(eta) if eta is not None else '?'}]"
        )

    def report(self, spec: RunSpec, record: RunRecord | None = None, error: str | None = None) -> None:
        if record is not None:
            self.done += 1
            outcome = f"return {record.eval_mean:.1f} ± {record.eval_std:.1f} ({record.train_seconds:.0f} s training)"
        else:
            self.failed += 1
            outcome = f"FAILED: {error}"
        print(f"{self.status()} {spec.label}: {outcome}", file=self.stream, flush=True)


@dataclass
class JobResults:
    records: list[RunRecord] = field(default_factory=list)
    failures: list[tuple[RunSpec, str]] = field(default_factory=list)


Job = tuple[RunSpec, list[str], str]  # spec, train/run.py argv, log file


def _collect(progress: Progress, results: JobResults, spec: RunSpec, get: Callable[[], RunRecord]) -> None:
    try:
        record = get()
    except Exception as error:  # a failed run is reported and the others go on
        message = "".join(traceback.format_exception_only(type(error), error)).strip()
        results.failures.append((spec, message))
        progress.report(spec, error=message)
    else:
        results.records.append(record)
        progress.report(spec, record)


def run_local(jobs: Sequence[Job], workers: int, stream: TextIO | None = None) -> JobResults:
    """Run ``jobs`` on ``workers`` local processes (spawned fresh for every job)."""
    results, progress = JobResults(), Progress(len(jobs), workers, stream or sys.stderr)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["train.run"])
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context, max_tasks_per_child=1) as pool:
        futures = {pool.submit(run_job, argv, log): spec for spec, argv, log in jobs}
        for future in cf.as_completed(futures):
            _collect(progress, results, futures[future], future.result)
    return results


def _init_ray(address: str, workers: int) -> Any:
    try:
        import ray
    except ImportError as error:
        raise ImportError("--ray needs Ray: pip install -e '.[eval-ray]' (or pip install ray)") from error
    if address == "local":  # a fresh single-machine instance (what the tests use)
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)
    return ray


def run_ray(jobs: Sequence[Job], address: str, workers: int, stream: TextIO | None = None) -> JobResults:
    """Run ``jobs`` as Ray tasks (one CPU each) on the cluster at ``address`` (``auto``, ``host:port``, ``local``).

    Every node needs this project installed; the log folder should be on storage the nodes share if
    ``--reuse`` is to find the runs later (the records themselves come back to the driver).
    """
    ray = _init_ray(address, workers)
    try:
        cpus = int(ray.cluster_resources().get("CPU", workers))
        results, progress = JobResults(), Progress(len(jobs), cpus, stream or sys.stderr)
        remote_job = ray.remote(num_cpus=1, max_calls=1)(run_job)
        pending = {remote_job.remote(argv, log): spec for spec, argv, log in jobs}
        while pending:
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            _collect(progress, results, pending.pop(ready), lambda ref=ready: ray.get(ref))
    finally:
        ray.shutdown()
    return results
