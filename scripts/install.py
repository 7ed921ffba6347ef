"""make install's Python part: the project's environment in .venv, exact from requirements.lock where
the lock covers this Python and platform, else best-effort from the package's own version ranges.

Exact path (the Python and platform the lock records, e.g. CPython 3.11 on x86_64-manylinux_2_28):
pip installs the lock hash-checked (--require-hashes), then the package editable without resolving
again. The lock pins torch as its CPU build (a ``+cpu`` local version), which PyPI does not host:
when no find-links folder or index of this machine's pip settings (PIP_* variables, pip.conf files,
as ``pip config list`` reports them) holds that wheel, PyTorch's CPU index is added as an extra
index; the lock's hashes still decide what is installed.

Best-effort path (any other Python or platform): one line says so, then pip installs the package
editable with all its extras, resolved from pyproject.toml's version ranges; on Linux with PyTorch's
CPU index as an extra index, so that no CUDA build of torch is pulled in.

``--dry-run`` prints the commands instead of running them; ``--python-version`` and ``--platform``
stand in for the detected ones (to see the path another machine takes).
"""

from __future__ import annotations

import argparse
import platform
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from lock import recorded_target  # scripts/lock.py, beside this script

REPOSITORY = Path(__file__).resolve().parents[1]
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
SYSTEMS = {"darwin": "macos", "win32": "windows"}  # sys.platform -> uv's name


@dataclass(frozen=True)
class LockTarget:
    """What a lock is resolved for: a CPython version ('3.11') and a uv platform ('x86_64-manylinux_2_28')."""

    python: str
    platform: str

    def covers(self, python: str, machine_platform: str) -> bool:
        """True when this lock installs on CPython ``python`` on ``machine_platform`` (same form as
        self.platform): same minor version, same machine, and for manylinux a glibc at least as new."""
        if python != self.python:
            return False
        machine, _, system = self.platform.partition("-")
        other_machine, _, other_system = machine_platform.partition("-")
        if machine != other_machine:
            return False
        if system.startswith("manylinux_") and other_system.startswith("manylinux_"):
            return glibc_version(other_system) >= glibc_version(system)
        return system == other_system


def glibc_version(manylinux: str) -> tuple[int, int]:
    """(2, 28) for 'manylinux_2_28'."""
    major, minor = manylinux.removeprefix("manylinux_").split("_")
    return int(major), int(minor)


def lock_target(lock: Path) -> LockTarget:
    """The Python and platform ``lock`` records being resolved for (scripts/lock.py stamp writes them)."""
    target = recorded_target(lock)
    if target is None:
        raise SystemExit(f"{lock} records no Python and platform it is resolved for: regenerate it with `make lock`")
    return LockTarget(*target)


def detected_python() -> str:
    """This interpreter as '3.11', or 'PyPy 3.10' for an implementation other than CPython."""
    version = "{}.{}".format(*sys.version_info[:2])
    implementation = platform.python_implementation()
    return version if implementation == "CPython" else f"{implementation} {version}"


def detected_platform() -> str:
    """This machine in uv's platform form: 'x86_64-manylinux_2_36', 'arm64-macos', 'AMD64-windows'."""
    machine = platform.machine()
    if sys.platform == "linux":
        libc, version = platform.libc_ver()
        if libc == "glibc":
            return f"{machine}-manylinux_{version.replace('.', '_')}"
        return f"{machine}-linux-{libc or 'unknown-libc'}"
    return f"{machine}-{SYSTEMS.get(sys.platform, sys.platform)}"


def locked_torch(lock: Path) -> str:
    """The torch version the lock pins, e.g. '2.13.0+cpu'."""
    match = re.search(r"^torch==(\S+)", lock.read_text(), re.MULTILINE)
    if not match:
        raise SystemExit(f"{lock} pins no torch: regenerate it with `make lock`")
    return match.group(1)


def pip_locations(python: str) -> list[str]:
    """Every find-links, index-url and extra-index-url entry of pip's settings here, as ``pip config
    list`` reports them (PIP_* variables and the pip.conf files; PIP_CONFIG_FILE=/dev/null reads none)."""
    done = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True)
    locations = []
    for line in done.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.rsplit(".", 1)[-1] in ("find-links", "index-url", "extra-index-url"):
            locations += value.strip().strip("'\"").split()
    return locations


def holds_wheel(location: str, wheel_prefix: str | None) -> bool:
    """True when ``location`` is PyTorch's CPU index, or a find-links folder, find-links page or simple
    index on this machine that lists a wheel whose name starts with ``wheel_prefix``
    ('torch-2.13.0+cpu-cp311-'; None: no wheel counts). A remote location other than that index
    cannot be checked without the network: False."""
    if location.rstrip("/").startswith(TORCH_CPU_INDEX):
        return True
    parsed = urlparse(location)
    if wheel_prefix is None or parsed.scheme not in ("", "file"):
        return False
    path = Path(unquote(parsed.path) if parsed.scheme == "file" else location)
    if path.is_dir():
        if any(path.glob(f"{glob_escape(wheel_prefix)}*.whl")):
            return True
        pages = [path / "torch" / "index.html", path / "index.html"]
    else:
        pages = [path]
    escaped = wheel_prefix.replace("+", "%2B")
    return any(page.is_file() and (wheel_prefix in (text := page.read_text(errors="replace")) or escaped in text)
               for page in pages)


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def index_arguments(python: str, wheel_prefix: str | None) -> list[str]:
    """['--extra-index-url', TORCH_CPU_INDEX] unless pip's settings here already provide the torch
    wheel (``wheel_prefix``; None: any torch, i.e. only PyTorch's CPU index itself counts)."""
    locations = pip_locations(python)
    if any(holds_wheel(location, wheel_prefix) for location in locations):
        return []
    return ["--extra-index-url", TORCH_CPU_INDEX]


def extras(pyproject: Path) -> list[str]:
    """Every optional-dependencies extra of ``pyproject``, sorted."""
    try:
        import tomllib
    except ModuleNotFoundError:
        raise SystemExit(f"anl needs Python 3.11 or newer (pyproject.toml's requires-python), this is "
                         f"{detected_python()}: run make install PYTHON=python3.11") from None
    return sorted(tomllib.loads(pyproject.read_text())["project"].get("optional-dependencies", {}))


def plan(venv: Path, lock: Path, python_version: str, machine_platform: str) -> tuple[list[str], list[list[str]]]:
    """(messages, commands) that make the environment in ``venv`` on ``python_version`` and ``machine_platform``."""
    venv_python = str(venv / "bin" / "python")
    target = lock_target(lock)
    commands = [[sys.executable, "-m", "venv", str(venv)],
                [venv_python, "-m", "pip", "install", "-q", "--upgrade", "pip"]]
    if target.covers(python_version, machine_platform):
        torch = locked_torch(lock)
        wheel_prefix = f"torch-{torch}-cp{target.python.replace('.', '')}-"
        index = index_arguments(sys.executable, wheel_prefix) if "+" in torch else []
        messages = [f"torch {torch} is in none of pip's find-links or indexes here: adding PyTorch's CPU index "
                    f"{TORCH_CPU_INDEX}"] if index else []
        commands += [[venv_python, "-m", "pip", "install", "-q", "--require-hashes", "-r", str(lock), *index],
                     [venv_python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", "."]]
        return messages, commands
    messages = [f"{lock.name} is resolved for CPython {target.python} on {target.platform}, this is "
                f"{'CPython ' if python_version[0].isdigit() else ''}{python_version} on {machine_platform}: "
                f"installing best-effort from pyproject.toml's version ranges instead of the exact versions"]
    index = index_arguments(sys.executable, None) if machine_platform.split("-", 1)[-1].startswith(
        ("manylinux", "linux")) else []
    package = f".[{','.join(extras(lock.parent / 'pyproject.toml'))}]"
    commands.append([venv_python, "-m", "pip", "install", "-q", "-e", package, *index])
    return messages, commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=Path(".venv"), help="the environment to make (default .venv)")
    parser.add_argument("--lock", type=Path, default=REPOSITORY / "requirements.lock")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--python-version", default=detected_python(),
                        help="stand-in for this Python, e.g. 3.12 (default: detected, %(default)s)")
    parser.add_argument("--platform", default=detected_platform(),
                        help="stand-in for this platform, e.g. arm64-macos (default: detected, %(default)s)")
    args = parser.parse_args(argv)
    messages, commands = plan(args.venv, args.lock, args.python_version, args.platform)
    for message in messages:
        print(message, flush=True)
    for command in commands:
        if args.dry_run:
            print(shlex.join(command))
        else:
            subprocess.run(command, check=True, cwd=REPOSITORY)
    return 0


if __name__ == "__main__":
    sys.exit(main())
