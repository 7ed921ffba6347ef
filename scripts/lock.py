"""The record, in requirements.lock, of the pyproject.toml inputs the lock was resolved from.

``python scripts/lock.py stamp LOCK`` (run by ``make lock`` after uv writes LOCK) adds the line
``# pyproject inputs sha256: <digest>``; ``python scripts/lock.py check LOCK`` exits 1, saying to
run ``make lock``, when the dependency lists of the pyproject.toml beside LOCK no longer give that
digest. The digest covers what the resolution reads: requires-python, the dependencies and every
optional-dependencies extra (parsed, so formatting and comments do not count).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tomllib
from pathlib import Path

PREFIX = "# pyproject inputs sha256: "


def inputs_digest(pyproject: Path) -> str:
    """sha256 of pyproject's requires-python, dependencies and optional-dependencies, as canonical JSON."""
    project = tomllib.loads(pyproject.read_text())["project"]
    inputs = {key: project.get(key) for key in ("requires-python", "dependencies", "optional-dependencies")}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def recorded_digest(lock: Path) -> str | None:
    """The digest stamped in ``lock``, or None when it has none."""
    lines = lock.read_text().splitlines()
    return next((line.removeprefix(PREFIX) for line in lines if line.startswith(PREFIX)), None)


def stamp(lock: Path, pyproject: Path) -> None:
    """Record inputs_digest(pyproject) in ``lock``, after its header comments (replacing an older record)."""
    lines = [line for line in lock.read_text().splitlines() if not line.startswith(PREFIX)]
    header = next((index for index, line in enumerate(lines) if not line.startswith("#")), len(lines))
    lines.insert(header, PREFIX + inputs_digest(pyproject))
    lock.write_text("\n".join(lines) + "\n")


def check(lock: Path, pyproject: Path) -> str | None:
    """None when ``lock`` records the digest of ``pyproject``'s inputs, else what is wrong and what to do."""
    recorded, current = recorded_digest(lock), inputs_digest(pyproject)
    if recorded == current:
        return None
    return (f"{lock} is out of date with {pyproject}: it records inputs sha256 {recorded}, the dependency "
            f"lists now give {current}. Run `make lock` and commit {lock.name}.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("stamp", "check"))
    parser.add_argument("lock", type=Path, help="the lock file; pyproject.toml is the one beside it")
    args = parser.parse_args(argv)
    pyproject = args.lock.parent / "pyproject.toml"
    if args.action == "stamp":
        stamp(args.lock, pyproject)
        return 0
    problem = check(args.lock, pyproject)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
