"""Internal: workers' claims on runs (locks, not the paper's claims that the book checks), so that workers
sharing one results folder never train the same run.

A worker claims a run before training it by creating ``<folder>/<key>.claim`` atomically
(``O_CREAT | O_EXCL``), holding its host, pid and a random token; while it holds the claim a
heartbeat thread touches the file every :data:`HEARTBEAT_S` seconds. A claim is stale when its
heartbeat is older than :func:`stale_after` seconds (``ANL_CLAIM_STALE_S``, default 300), or when
it names a process of this host that has exited; a stale claim may be taken over, by one worker
only (an ``O_EXCL`` takeover lock). A claim file that cannot be read (a worker killed between
creating it and writing its owner, a full disk) is judged by its age alone. A process that holds a
claim may claim the run again (a sweep's claim, then the trainer's): claims nest, and the file is
removed when the outermost is released, that is when the worker is done with the run.
Every claim and takeover of a run still to train is appended to ``<folder>/claims.log`` (one line
each: time, event, key, host:pid), the place to watch which worker trains what.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from anl.atomic import atomic_write_bytes

#: Seconds between two heartbeats of a held claim.
HEARTBEAT_S = 20.0
DEFAULT_STALE_S = 300.0
LOG_NAME = "claims.log"
_HELD: dict[Path, tuple[str, threading.Event]] = {}  # claims this process holds -> (token, heartbeat's stop)
_DEPTH: dict[Path, int] = {}  # how many times this process claimed each held claim


def stale_after() -> float:
    """Seconds without a heartbeat after which a claim is stale: ANL_CLAIM_STALE_S or 300."""
    text = os.environ.get("ANL_CLAIM_STALE_S", str(DEFAULT_STALE_S))
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise ValueError(f"ANL_CLAIM_STALE_S={text!r}: must be a number of seconds > 0")
    return seconds


def claim_path(folder: Path, key: str) -> Path:
    return Path(folder) / f"{key}.claim"


def _owner() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "token": secrets.token_hex(8),
            "claimed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _read(path: Path) -> dict[str, Any] | None:
    """The claim's owner, None if there is no claim; {} for one being written or unreadable."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def _process_exited(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def is_stale(path: Path, owner: dict[str, Any]) -> bool:
    """Whether the claim at ``path`` held by ``owner`` may be taken over (see the module docstring)."""
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return True
    if age > stale_after():
        return True
    return owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int) \
        and owner["pid"] != os.getpid() and _process_exited(owner["pid"])


def holder(folder: Path, key: str) -> dict[str, Any] | None:
    """The owner (host, pid, token, claimed) of the live claim on ``key``; None when nobody holds
    one or it is stale."""
    path = claim_path(Path(folder), key)
    owner = _read(path)
    return None if not owner or is_stale(path, owner) else owner


def _log(folder: Path, event: str, key: str) -> None:
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {event} {key} {socket.gethostname()}:{os.getpid()}\n"
    with open(Path(folder) / LOG_NAME, "a") as log:  # one short append: one line, whole
        log.write(line)


def _create(path: Path, owner: dict[str, Any]) -> bool:
    try:
        handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(handle, "w") as file:
        json.dump(owner, file)
    return True


def _take_over(path: Path, seen: dict[str, Any], owner: dict[str, Any]) -> bool:
    """Replace the stale claim ``seen`` by ``owner``'s, unless another worker is doing so or the
    claim changed since it was seen."""
    lock = path.with_name(path.name + ".takeover")
    try:
        handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        with contextlib.suppress(FileNotFoundError):
            if time.time() - lock.stat().st_mtime > stale_after():  # a taker that died mid-takeover
                lock.unlink()
        return False
    try:
        current = _read(path)
        if current is None:
            return _create(path, owner)
        if current != seen or not is_stale(path, current):
            return False
        atomic_write_bytes(path, json.dumps(owner).encode())
        return True
    finally:
        os.close(handle)
        lock.unlink(missing_ok=True)


def _heartbeat(path: Path, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        with contextlib.suppress(FileNotFoundError):
            os.utime(path)


def acquire(folder: Path, key: str, needed: Callable[[], bool] | None = None) -> bool:
    """Claim ``key`` for this process (taking over a stale claim); False if another worker holds it,
    or if ``needed()``, asked once the claim is held, says the run no longer needs training (then
    the claim is dropped unlogged: claims.log lists the runs that were trained)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = claim_path(folder, key)
    if path in _HELD and (_read(path) or {}).get("token") == _HELD[path][0]:
        _DEPTH[path] += 1
        return True
    owner = _owner()
    event = "claimed"
    if not _create(path, owner):
        seen = _read(path)
        if seen is None:
            if not _create(path, owner):
                return False
        elif not (is_stale(path, seen) and _take_over(path, seen, owner)):
            return False
        else:
            event = f"took-over-from {seen.get('host')}:{seen.get('pid')}"
    if needed is not None and not needed():
        path.unlink(missing_ok=True)
        return False
    stop = threading.Event()
    _HELD[path] = owner["token"], stop
    _DEPTH[path] = 1
    threading.Thread(target=_heartbeat, args=(path, stop), daemon=True, name=f"claim {key}").start()
    _log(folder, event, key)
    return True


def release(folder: Path, key: str) -> None:
    """Stop the heartbeat and remove this process's claim on ``key`` (if it still holds it)."""
    path = claim_path(Path(folder), key)
    if path not in _HELD:
        return
    _DEPTH[path] -= 1
    if _DEPTH[path] > 0:
        return
    del _DEPTH[path]
    token, stop = _HELD.pop(path)
    stop.set()
    if (_read(path) or {}).get("token") == token:  # not taken over meanwhile
        path.unlink(missing_ok=True)


def release_all() -> None:
    """Release every claim this process holds, however deeply nested (before it is stopped and requeued)."""
    for path in list(_HELD):
        _DEPTH[path] = 1
        release(path.parent, path.name.removesuffix(".claim"))


@contextlib.contextmanager
def claimed(folder: Path, key: str, needed: Callable[[], bool] | None = None) -> Iterator[bool]:
    """``with claimed(folder, key, needed) as mine:`` — ``mine`` is True when this process holds the
    claim (released on leaving the block, also on an exception); False when another worker does or
    the run is no longer ``needed()`` (see :func:`acquire`)."""
    mine = acquire(folder, key, needed)
    try:
        yield mine
    finally:
        if mine:
            release(folder, key)
