"""requirements.lock, which make install installs: up to date with pyproject.toml, CPU torch, no CUDA packages."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPOSITORY = Path(__file__).resolve().parents[1]
LOCK = REPOSITORY / "requirements.lock"
SCRIPT = REPOSITORY / "scripts" / "lock.py"


def lock_script(action: str, lock: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), action, str(lock), *options], capture_output=True,
                          text=True, timeout=60)


def locked_versions() -> dict[str, str]:
    """Package name -> pinned version, from the ``name==version`` lines of the lock."""
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", LOCK.read_text(), re.MULTILINE)
    return {name.lower(): version for name, version in pins}


def test_lock_is_up_to_date_with_pyproject():
    done = lock_script("check", LOCK)
    assert done.returncode == 0, done.stderr


def test_check_fails_when_a_dependency_changes_until_restamped(tmp_path):
    shutil.copy(LOCK, tmp_path / LOCK.name)
    shutil.copy(REPOSITORY / "lock-constraints.txt", tmp_path)
    pyproject = tmp_path / "pyproject.toml"
    text = (REPOSITORY / "pyproject.toml").read_text()
    pyproject.write_text(text.replace('"pytest>=8"', '"pytest>=8", "hypothesis"'))
    done = lock_script("check", tmp_path / LOCK.name)
    assert done.returncode == 1 and "out of date" in done.stderr and "make lock" in done.stderr
    pyproject.write_text(text.replace("    ", "  ") + "\n# formatting and comments do not count\n")
    assert lock_script("check", tmp_path / LOCK.name).returncode == 0
    constraints = tmp_path / "lock-constraints.txt"
    constraints.write_text(constraints.read_text().replace("torchvision==0.28.0", "torchvision==0.29.0"))
    assert lock_script("check", tmp_path / LOCK.name).returncode == 1
    shutil.copy(REPOSITORY / "lock-constraints.txt", tmp_path)
    pyproject.write_text(text.replace('"numpy>=1.26', '"numpy>=2'))
    assert lock_script("check", tmp_path / LOCK.name).returncode == 1
    assert lock_script("stamp", tmp_path / LOCK.name).returncode == 2  # the target is required
    assert lock_script("stamp", tmp_path / LOCK.name, "--python", "3.12", "--platform", "arm64-macos").returncode == 0
    assert lock_script("check", tmp_path / LOCK.name).returncode == 0
    stamped = (tmp_path / LOCK.name).read_text()
    assert stamped.count("# pyproject inputs sha256: ") == 1
    assert [line for line in stamped.splitlines() if line.startswith("# resolved for")] == [
        "# resolved for: python 3.12, platform arm64-macos"]


def test_lock_pins_cpu_torch_and_no_cuda_packages():
    versions = locked_versions()
    assert versions["torch"] == "2.13.0+cpu" and versions["torchvision"] == "0.28.0"
    cuda = [name for name in versions if name.startswith(("nvidia-", "triton", "cuda"))]
    assert cuda == []


def test_every_locked_requirement_of_the_package_lies_in_its_range():
    """The lock is one point inside the package's stated ranges, not another set of requirements."""
    versions = locked_versions()
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    assert len(requirements) >= 15
    for requirement in map(Requirement, requirements):
        assert requirement.specifier.contains(versions[requirement.name.lower()], prereleases=True), requirement


def test_locked_setuptools_can_build_the_package():
    """make install builds the editable package without build isolation, with the lock's setuptools."""
    versions = locked_versions()
    build_requires = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["build-system"]["requires"]
    for requirement in map(Requirement, build_requires):
        assert versions[requirement.name.lower()] in requirement.specifier, requirement
