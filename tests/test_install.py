"""scripts/install.py, make install's Python part, simulated without network through its dry run: the
lock's exact path adds PyTorch's CPU index only when pip's settings hold no torch +cpu wheel of the
lock, and a Python or platform the lock does not cover takes the best-effort path of the ranges."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

REPOSITORY = Path(__file__).resolve().parents[1]
SCRIPT = REPOSITORY / "scripts" / "install.py"
LOCK = REPOSITORY / "requirements.lock"
EXTRAS = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["optional-dependencies"]
CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"
TORCH = re.search(r"^torch==(\S+)", LOCK.read_text(), re.MULTILINE).group(1)
TARGET = re.search(r"^# resolved for: python (\S+), platform (\S+)$", LOCK.read_text(), re.MULTILINE).groups()
WHEEL = f"torch-{TORCH}-cp{TARGET[0].replace('.', '')}-cp{TARGET[0].replace('.', '')}-manylinux_2_28_x86_64.whl"


def dry_run(pip_settings: dict[str, str], *arguments: str) -> list[str]:
    """The script's dry-run output lines, with this machine's pip settings replaced by ``pip_settings``
    (PIP_* variables; PIP_CONFIG_FILE=/dev/null unless given: no pip.conf file is read)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env |= {"PIP_CONFIG_FILE": os.devnull, **pip_settings}
    done = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", *arguments], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def exact(pip_settings: dict[str, str]) -> list[str]:
    """Dry run on the lock's own Python and platform."""
    return dry_run(pip_settings, "--python-version", TARGET[0], "--platform", TARGET[1])


def lock_install(lines: list[str]) -> str:
    [line] = [line for line in lines if "--require-hashes" in line]
    return line


def test_without_pip_settings_the_lock_is_installed_through_pytorchs_cpu_index():
    lines = exact({})
    assert lock_install(lines).endswith(CPU_INDEX)
    assert "adding PyTorch's CPU index" in lines[0]
    assert [line for line in lines if CPU_INDEX in line] == [lock_install(lines)]


def test_a_find_links_folder_holding_the_locked_wheel_needs_no_index(tmp_path):
    (tmp_path / WHEEL).touch()
    lines = exact({"PIP_FIND_LINKS": str(tmp_path)})
    assert "--extra-index-url" not in lock_install(lines)
    assert not any("CPU index" in line for line in lines)


def test_a_pip_conf_with_find_links_counts_like_the_variable(tmp_path):
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / WHEEL).touch()
    (tmp_path / "pip.conf").write_text(f"[global]\nfind-links = {tmp_path / 'wheels'}\n")
    assert "--extra-index-url" not in lock_install(exact({"PIP_CONFIG_FILE": str(tmp_path / "pip.conf")}))


def test_a_local_simple_index_listing_the_wheel_counts(tmp_path):
    (tmp_path / "torch").mkdir()
    link = WHEEL.replace("+", "%2B")
    (tmp_path / "torch" / "index.html").write_text(f'<a href="../../files/{link}#sha256=00">{WHEEL}</a>\n')
    lines = exact({"PIP_EXTRA_INDEX_URL": f"file://{tmp_path}"})
    assert "--extra-index-url" not in lock_install(lines)


def test_another_torch_build_in_the_find_links_does_not_count(tmp_path):
    (tmp_path / WHEEL.replace(TORCH, "2.0.0+cpu")).touch()
    (tmp_path / WHEEL.replace("+cpu", "+cu128")).touch()
    assert lock_install(exact({"PIP_FIND_LINKS": str(tmp_path)})).endswith(CPU_INDEX)


def test_this_machines_settings_decide_like_their_find_links():
    """Here, with the pip settings left as they are: the CPU index exactly when none of the find-links
    folders named by ``pip config list`` holds the locked wheel."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    folders = [Path(value) for key, _, values in (line.partition("=") for line in listed.splitlines())
               if key.endswith(".find-links") for value in values.strip("'\"").split()]
    holds = any((folder / WHEEL).exists() for folder in folders)
    command = [sys.executable, str(SCRIPT), "--dry-run", "--python-version", TARGET[0], "--platform", TARGET[1]]
    lines = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout.splitlines()
    assert lock_install(lines).endswith(CPU_INDEX) != holds


@pytest.mark.parametrize(("python", "platform"), [("3.12", TARGET[1]), ("3.13", TARGET[1]),
                                                  (TARGET[0], "arm64-macos"), (TARGET[0], "aarch64-manylinux_2_28"),
                                                  (TARGET[0], "x86_64-manylinux_2_17"), ("PyPy 3.11", TARGET[1])])
def test_a_python_or_platform_the_lock_does_not_cover_installs_the_ranges(python, platform):
    lines = dry_run({}, "--python-version", python, "--platform", platform)
    assert lines[0].startswith(f"{LOCK.name} is resolved for CPython {TARGET[0]} on {TARGET[1]}")
    assert f"{python} on {platform}" in lines[0] and "best-effort" in lines[0]
    assert not any("--require-hashes" in line or LOCK.name in line for line in lines[1:])
    [install] = [line for line in lines if "-e '.[" in line]
    assert f"-e '.[{','.join(sorted(EXTRAS))}]'" in install
    assert install.endswith(CPU_INDEX) == platform.split("-", 1)[1].startswith("manylinux")


def test_a_newer_glibc_is_covered():
    lines = dry_run({}, "--python-version", TARGET[0], "--platform", "x86_64-manylinux_2_39")
    assert "best-effort" not in "\n".join(lines) and lock_install(lines)


def test_the_core_modules_import_without_any_extra():
    """`pip install anl` without extras: the losses, noise models, records and the CLI import; the job
    arrays say which extra they need."""
    blocked = ["submitit", "cleanlab", "matplotlib", "seaborn", "papermill", "jupytext", "jupyter_book"]
    code = (f"import sys; sys.modules.update(dict.fromkeys({blocked!r}))\n"
            "import anl.losses, anl.noise, anl.results, anl.data, anl.cli\n"
            "try:\n    import anl.cluster\nexcept ModuleNotFoundError as error:\n    print(error)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "anl.cluster needs submitit, the extra 'cluster'" in done.stdout
