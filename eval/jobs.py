"""Run leaderboard jobs in parallel: a local process pool (default) or a Ray cluster, with a progress display.

Every job trains through ``train.run.main`` in a fresh process (``max_tasks_per_child=1`` locally,
``max_calls=1`` on Ray), so no torch or RNG state leaks from one run into the next. Local jobs are
forked from a fork server that has imported torch and SB3 once, so a job starts in well under a second.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import importlib.util
import multiprocessing
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from eval.runs import RunRecord, RunSpec, load_run
from train.checks import UsageError


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


# How long --ray may take to find its cluster before the leaderboard gives up with a hint.
RAY_CONNECT_SECONDS = 30
RAY_HINT = "start a local cluster with `ray start --head` (then --ray auto), or use --ray local"
# A child process tries the address: ray.init retries an address that answers but is not Ray for minutes.
RAY_PROBE = "import sys, ray; ray.init(address=sys.argv[1], log_to_driver=False); ray.shutdown()"


def check_ray_address(address: str, timeout: float = RAY_CONNECT_SECONDS) -> None:
    """Raise :class:`UsageError` within about ``timeout`` seconds unless ``--ray address`` reaches a cluster.

    ``local`` (a fresh instance) always works; ``host:port`` must accept a TCP connection and ``auto`` or
    ``host:port`` must let a Ray driver connect.
    """
    if address == "local":
        return
    if importlib.util.find_spec("ray") is None:
        raise UsageError(f"--ray {address}: Ray is not installed; pip install -e '.[eval-ray]' (or pip install ray)")
    if address != "auto":
        host, _, port = address.removeprefix("ray://").rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--ray {address}: expected auto, local or HOST:PORT (e.g. 10.0.0.5:6379)")
        try:
            socket.create_connection((host, int(port)), timeout=min(10.0, timeout)).close()
        except OSError as error:
            raise UsageError(f"--ray {address}: nothing answers there ({error}); {RAY_HINT}") from error
    try:
        probe = subprocess.run([sys.executable, "-c", RAY_PROBE, address], capture_output=True, text=True,
                               timeout=timeout)  # fmt: skip
    except subprocess.TimeoutExpired as error:
        raise UsageError(f"--ray {address}: no Ray cluster answered within {timeout:.0f} s; {RAY_HINT}") from error
    if probe.returncode != 0:
        lines = [line for line in probe.stderr.splitlines() if line.strip()]
        cause = lines[-1] if lines else f"exit code {probe.returncode}"
        raise UsageError(f"--ray {address}: cannot connect ({cause}); {RAY_HINT}")


def _init_ray(address: str, workers: int) -> Any:
    check_ray_address(address)  # the leaderboard checked it at start; a direct caller gets the same bound
    import ray

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
