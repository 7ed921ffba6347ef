"""Decoded data sets cached on disk: the cache folder, the fingerprint of a data file or folder,
and tensors saved once and read back."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from anl.atomic import atomic_write_bytes


CACHE_FORMAT = 1  # bump when the cached tensors change meaning


def cache_dir() -> Path:
    """Folder for decoded caches: ``$ANL_CACHE``, else ``~/.cache/anl``."""
    if os.environ.get("ANL_CACHE"):
        return Path(os.environ["ANL_CACHE"]).expanduser()
    return Path.home() / ".cache" / "anl"


def fingerprint(path: Path) -> str:
    """Short hash of the resolved path and the size + mtime of the archive, or of every file in the folder."""
    path = path.resolve()
    files = sorted(file for file in path.rglob("*") if file.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256(f"format {CACHE_FORMAT}\n{path}\n".encode())
    for file in files:
        stat = file.stat()
        digest.update(f"{file.relative_to(path)}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def cached_tensors(cache: Path, build: Callable[[], dict[str, torch.Tensor]], what: str) -> dict[str, torch.Tensor]:
    """The tensors saved at ``cache``; if absent or unreadable (a damaged cache is decoded again,
    with a warning naming it), ``build()`` them and save them atomically (a failed save only warns)."""
    if cache.is_file():
        try:
            return torch.load(cache, weights_only=True)
        except Exception as error:  # torch.load of damaged bytes: EOFError, KeyError, UnpicklingError, RuntimeError...
            warnings.warn(f"the decoded {what} cached at {cache} cannot be read ({type(error).__name__}: "
                          f"{str(error).splitlines()[0] if str(error) else 'no detail'}); decoding it again",
                          stacklevel=4)
    tensors = build()
    try:
        buffer = io.BytesIO()
        torch.save(tensors, buffer)
        atomic_write_bytes(cache, buffer.getvalue())
    except OSError as error:
        warnings.warn(f"could not cache decoded {what} at {cache}: {error}", stacklevel=4)
    return tensors
