"""Where Dask work runs: a local cluster by default, or an existing scheduler.

``connect()`` is the one place livingcircle opens a :class:`distributed.Client`. Without a
scheduler address it starts a :class:`distributed.LocalCluster` of single-threaded worker
processes (the engine's searches hold the GIL, so processes, not threads, use the cores);
with ``scheduler="tcp://HOST:8786"`` or ``LC_DASK_SCHEDULER`` it joins a cluster that runs
elsewhere (Kubernetes, Slurm, a few machines started by hand). The dashboard link is printed
so a long run can be watched.

``check_storage()`` is the probe run before any work: every worker must read what this
process wrote under a run's output and write there itself, so a folder that only one
machine sees fails at once, naming the worker. Each worker has :data:`PROBE_TIMEOUT_S` to
answer: a hung worker (or a network mount that stalls) is named too, never waited for.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import fsspec
from distributed import Client, LocalCluster

from livingcircle.geo.errors import ClusterUnavailable, InvalidParameter, WorkerCannotReach

#: The environment variable naming an existing scheduler (same as ``--scheduler``).
SCHEDULER_ENV = "LC_DASK_SCHEDULER"
#: Seconds to wait for a named scheduler before giving up with :class:`ClusterUnavailable`.
CONNECT_TIMEOUT_S = 5.0
#: A worker's memory limit in a local cluster; the machine's memory is shared by the workers.
LOCAL_MEMORY_LIMIT = "auto"
#: Seconds each worker has to answer the storage probe before it is named as not answering.
PROBE_TIMEOUT_S = 60.0


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The scheduler to join: the argument, else ``LC_DASK_SCHEDULER``, else None (local)."""
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address is not None and "://" not in address:
        address = f"tcp://{address}"
    return address


def default_workers() -> int:
    """Workers of a local cluster when none is asked for: one per core, at least one."""
    return max(1, os.cpu_count() or 1)


@contextmanager
def connect(
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    stream: IO[str] | None = None,
) -> Iterator[Client]:
    """A Dask client for the length of the ``with`` block.

    Parameters
    ----------
    workers
        Worker processes of the local cluster (default: one per core). Ignored, with a
        message, when a scheduler is named: an existing cluster has its own workers.
    scheduler
        Address of an existing scheduler, ``tcp://HOST:8786``. Default: ``LC_DASK_SCHEDULER``,
        else a local cluster is started and stopped with the block.
    progress
        Print the dashboard link (and which cluster is used) to ``stream``.
    stream
        Where the messages go; default ``sys.stderr``.

    Yields
    ------
    distributed.Client
        The connected client; closed (and the local cluster stopped) when the block ends.

    Raises
    ------
    ClusterUnavailable
        The named scheduler does not answer within :data:`CONNECT_TIMEOUT_S` seconds, or a
        local cluster cannot start.
    InvalidParameter
        ``workers`` below 1.
    """
    if workers is not None and workers < 1:
        raise InvalidParameter(f"workers must be at least 1, got {workers}")
    out = stream or sys.stderr
    address = scheduler_address(scheduler)
    if address is None:
        with _local_client(workers or default_workers()) as client:
            _announce(client, progress, out, "local cluster, ")
            yield client
        return
    if workers is not None and progress:
        print(f"--workers {workers} ignored: the cluster at {address} has its own", file=out)
    with _remote_client(address) as client:
        _announce(client, progress, out, f"scheduler {address}, ")
        yield client


@contextmanager
def _local_client(workers: int) -> Iterator[Client]:
    try:
        cluster = LocalCluster(  # type: ignore[no-untyped-call]  # dask.distributed is unannotated
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: several runs on one machine do not clash
            memory_limit=LOCAL_MEMORY_LIMIT,
        )
    except (OSError, RuntimeError) as exc:
        raise ClusterUnavailable(None, _reason(exc)) from exc
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]  # dask.distributed is unannotated
        yield client


@contextmanager
def _remote_client(address: str) -> Iterator[Client]:
    try:
        client = Client(  # type: ignore[no-untyped-call]  # dask.distributed is unannotated
            address, timeout=CONNECT_TIMEOUT_S
        )
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterUnavailable(address, _reason(exc)) from exc
    with client:
        yield client


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _announce(client: Client, progress: bool, out: IO[str], what: str) -> None:
    if not progress:
        return
    # every worker (some scheduler_info() versions list 5); distributed is unannotated
    count = len(client.nthreads())  # type: ignore[no-untyped-call]
    print(f"Dask: {what}{count} worker(s) connected", file=out)
    print(f"Dask dashboard: {client.dashboard_link}", file=out)


# -- before any work: does every worker see the storage this process sees? ---------------


def check_storage(client: Client, url: str, what: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Every worker reads a file this process writes under ``url``, then writes one there.

    Parameters
    ----------
    client
        The connected client.
    url
        A folder or fsspec URL (created if missing).
    what
        How the folder is named in the error (``"the output folder URL"``).
    timeout_s
        Seconds each worker has to answer; one that does not (hung, or its storage stalls)
        is a worker that cannot reach ``url``.

    Raises
    ------
    WorkerCannotReach
        Naming the first worker that cannot read the file or write there, or that did not
        answer within ``timeout_s``, and why.
    """
    fs, root = fsspec.core.url_to_fs(url)
    fs.makedirs(root, exist_ok=True)
    mark, token = f".probe-{uuid.uuid4().hex}", uuid.uuid4().bytes
    with fs.open(f"{root.rstrip('/')}/{mark}", "wb") as f:
        f.write(token)
    try:
        answers = run_each(client, timeout_s, _storage_problem, url, mark, token)
    finally:
        fs.rm(f"{root.rstrip('/')}/{mark}")
    for worker, problem in sorted(answers.items()):
        if problem is not None:
            raise WorkerCannotReach(what, worker, problem)


def run_each(
    client: Client, timeout_s: float, function: Callable[..., str | None], *args: Any
) -> dict[str, str | None]:
    """``function(*args)`` on every worker (``client.run``), each given ``timeout_s`` seconds.

    ``client.run`` has no deadline of its own, so each worker is asked apart, on the
    client's event loop, and the questions still open after ``timeout_s`` are cancelled.

    Returns
    -------
    dict
        Each worker's answer by address; a worker that raised, or did not answer in time,
        answers what went wrong and what to do.
    """
    # all: scheduler_info() lists 5 in 2025.4-2026.6; distributed is unannotated
    workers = sorted(client.nthreads())  # type: ignore[no-untyped-call]

    async def ask() -> dict[str, str | None]:
        asked = {
            w: asyncio.ensure_future(
                client.run(function, *args, workers=[w], on_error="return", asynchronous=True)
            )
            for w in workers
        }
        if asked:
            await asyncio.wait(asked.values(), timeout=timeout_s)
        return {w: _answer(w, task, timeout_s) for w, task in asked.items()}

    answers: dict[str, str | None] = client.sync(ask)  # type: ignore[no-untyped-call]  # dask.distributed is unannotated
    return answers


def _answer(worker: str, task: asyncio.Future[Any], timeout_s: float) -> str | None:
    if not task.done():
        task.cancel()
        return (
            f"no answer within {timeout_s:g} s: the worker is hung or its storage stalls "
            "(a network mount that does not answer); check or restart that worker"
        )
    error = task.exception()
    if error is not None:
        return _problem(error)
    answer = task.result().get(worker)
    return _problem(answer) if isinstance(answer, BaseException) else answer


def _problem(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_reason(exc)}"


def probe_storage(url: str, mark: str | None = None, token: bytes = b"") -> None:
    """On a worker: read ``mark`` under ``url`` back as ``token`` (if named), then write there.

    Raises what fsspec raises (``OSError``, ``ValueError``, ``ImportError`` for a protocol
    whose package is missing), or ``OSError`` when the file holds other bytes.
    """
    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    if mark is not None:
        with fs.open(f"{root}/{mark}", "rb") as f:
            if f.read() != token:
                raise OSError(f"{mark} holds other bytes than were written: another folder")
    fs.makedirs(root, exist_ok=True)
    probe = f"{root}/.probe-{uuid.uuid4().hex}"
    with fs.open(probe, "wb") as f:
        f.write(b"livingcircle can write here")
    fs.rm(probe)


def _storage_problem(url: str, mark: str, token: bytes) -> str | None:
    try:
        probe_storage(url, mark, token)
    except (OSError, ImportError, ValueError) as exc:
        return _problem(exc)
    return None
