"""The record, in requirements.lock, of the pyproject.toml inputs the lock was resolved from.

``python scripts/lock.py stamp LOCK`` (run by ``make lock`` after uv writes LOCK) adds the line
``# pyproject inputs sha256: <digest>``; ``python scripts/lock.py check LOCK`` exits 1, saying to
run ``make lock``, when the dependency lists of the pyproject.toml beside LOCK, or the pins of the
lock-constraints.txt beside it, no longer give that digest. The digest covers what the resolution
reads: requires-python, the dependencies, every optional-dependencies extra and the constraint
lines (parsed, so formatting and comments do not count). ``stamp`` also records the Python and the
platform the lock is resolved for (``--python``, ``--platform``: uv's forms), the line
``# resolved for: python 3.11, platform x86_64-manylinux_2_28`` that scripts/install.py reads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

PREFIX = "# pyproject inputs sha256: "
TARGET_PREFIX = "# resolved for: "
CONSTRAINTS = "lock-constraints.txt"


def inputs_digest(pyproject: Path) -> str:
    """sha256 of pyproject's requires-python, dependencies and optional-dependencies, and of the
    requirement lines of the lock-constraints.txt beside it, as canonical JSON."""
    project = tomllib.loads(pyproject.read_text())["project"]
    inputs = {key: project.get(key) for key in ("requires-python", "dependencies", "optional-dependencies")}
    lines = (line.split("#")[0].strip() for line in (pyproject.parent / CONSTRAINTS).read_text().splitlines())
    inputs["constraints"] = [line for line in lines if line]
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def recorded_digest(lock: Path) -> str | None:
    """The digest stamped in ``lock``, or None when it has none."""
    lines = lock.read_text().splitlines()
    return next((line.removeprefix(PREFIX) for line in lines if line.startswith(PREFIX)), None)


def recorded_target(lock: Path) -> tuple[str, str] | None:
    """(python, platform) the lock records being resolved for, e.g. ('3.11', 'x86_64-manylinux_2_28'),
    or None when it records none."""
    for line in lock.read_text().splitlines():
        match = re.fullmatch(re.escape(TARGET_PREFIX) + r"python (\S+), platform (\S+)", line)
        if match:
            return match.group(1), match.group(2)
    return None


def stamp(lock: Path, pyproject: Path, python: str, platform: str) -> None:
    """Record inputs_digest(pyproject) and the target (``python``, ``platform``) in ``lock``, after its
    header comments (replacing older records)."""
    lines = [line for line in lock.read_text().splitlines() if not line.startswith((PREFIX, TARGET_PREFIX))]
    header = next((index for index, line in enumerate(lines) if not line.startswith("#")), len(lines))
    lines[header:header] = [PREFIX + inputs_digest(pyproject), f"{TARGET_PREFIX}python {python}, platform {platform}"]
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
    parser.add_argument("--python", help="stamp: the Python version the lock is resolved for, e.g. 3.11")
    parser.add_argument("--platform", help="stamp: the uv platform it is resolved for, e.g. x86_64-manylinux_2_28")
    args = parser.parse_args(argv)
    pyproject = args.lock.parent / "pyproject.toml"
    if args.action == "stamp":
        if not (args.python and args.platform):
            parser.error("stamp needs --python and --platform (what the lock is resolved for)")
        stamp(args.lock, pyproject, args.python, args.platform)
        return 0
    problem = check(args.lock, pyproject)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
