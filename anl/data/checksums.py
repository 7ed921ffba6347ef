"""Checksums of the canonical data files: a file read with the size of a known canonical file must
have its checksum, else DataChecksumError; a file of another size is other data and is read
unchecked. A pass is remembered in the cache by path, size and mtime."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

from anl.data.cache import cache_dir, fingerprint


class DataChecksumError(ValueError):
    """A data file has the size of a canonical file but not its checksum; the message names the file,
    the expected and the actual checksum, and how to get the right file."""


@dataclass(frozen=True)
class Canonical:
    """A canonical data file: ``size`` bytes whose ``algorithm`` digest is ``digest``."""

    size: int
    digest: str
    algorithm: str  # a hashlib name
    how_to_get: str  # for the mismatch message


def canonical_files(algorithm: str, how_to_get: str, files: dict[str, tuple[int, str]]) -> dict[str, Canonical]:
    """{name: (size, digest)} as Canonical entries sharing ``algorithm`` and ``how_to_get``."""
    return {name: Canonical(size, digest, algorithm, how_to_get) for name, (size, digest) in files.items()}


def _digest(path: Path, algorithm: str, content: bytes | None = None) -> str:
    """Hex digest of ``content`` if given, else of the file at ``path``."""
    if content is not None:
        return hashlib.new(algorithm, content).hexdigest()
    with path.open("rb") as file:
        return hashlib.file_digest(file, algorithm).hexdigest()


def verify(path: Path, canonical: Canonical | None, content: bytes | None = None) -> None:
    """Raise DataChecksumError if the bytes of ``path`` (``content`` where given: an IDX file's
    decompressed bytes) have ``canonical``'s size but not its digest.

    A pass is recorded in cache_dir()/verified, keyed by path, size and mtime, and not hashed again.
    Nothing is checked without ``canonical`` or when the size differs (other data, not a copy of it).
    """
    if canonical is None or (path.stat().st_size if content is None else len(content)) != canonical.size:
        return
    marker = cache_dir() / "verified" / f"{path.name}-{fingerprint(path)}-{canonical.digest[:16]}"
    if marker.is_file():
        return
    actual = _digest(path, canonical.algorithm, content)
    if actual != canonical.digest:
        what = f"{path} (decompressed)" if content is not None and path.suffix == ".gz" else str(path)
        raise DataChecksumError(f"checksum mismatch for {what}: expected {canonical.algorithm} {canonical.digest}, "
                                f"got {actual}. The file is corrupt or altered; replace it: {canonical.how_to_get}.")
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError as error:
        warnings.warn(f"could not record the verified checksum of {path} at {marker}: {error}", stacklevel=2)
