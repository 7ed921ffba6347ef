"""The torchvision import guard: needed on CPU torch (the wheel is a CUDA build), harmless elsewhere."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from anl._torchvision import import_torchvision


def fresh_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(torch.version.cuda is not None, reason="the compiled ops load on CUDA torch")
def test_plain_import_fails_on_cpu_torch_and_the_guard_fixes_it() -> None:
    plain = fresh_python("import torchvision")
    assert plain.returncode != 0 and "torchvision::nms" in plain.stderr
    guarded = fresh_python("from anl._torchvision import import_torchvision as t; tv = t(); "
                           "import torchvision.models, torchvision.transforms; print(tv.__version__)")
    assert guarded.returncode == 0, guarded.stderr
    assert guarded.stdout.startswith("0.28.0")


def test_guarded_torchvision_pure_python_parts_work() -> None:
    tv = import_torchvision()
    assert import_torchvision() is tv
    crop = tv.transforms.RandomCrop(32, padding=4)
    assert crop(torch.zeros(3, 32, 32)).shape == (3, 32, 32)
    assert sum(p.numel() for p in tv.models.resnet18(num_classes=10).parameters()) == 11_181_642
