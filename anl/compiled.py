"""Internal: the training step of one classification run in a form torch.compile captures whole, opt in by
$ANL_STEP: "compiled" (torch.compile, default mode) or "graphed" (mode "reduce-overhead": CUDA
graphs, one launch a step instead of hundreds). "eager", the default, is anl.engine.train_step.

One step is two compiled functions with static shapes and no host sync: (1) the batch gathered
from the uint8 training images on the device, augmented with draws made beforehand, normalised,
the forward under bf16 autocast if asked and the float32 objective, whose backward AOTAutograd
compiles with it; (2) gradient-norm clipping and the SGD update (momentum, L2 weight decay) with
the learning rate held in a device tensor, so a new epoch's rate changes no graph. The last,
partial batch of an epoch is a second graph of its own shape.

It computes what the eager step computes, in the same order of random draws (the epoch's
permutation, then each batch's augmentation from the run's generator, drawn outside the graphs
because a compiled graph cannot take a torch.Generator), so the two differ by floating-point
rounding only; its state is the eager optimiser's (the momentum buffers live in
``optimizer.state``), so a checkpoint of either resumes in the other.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from anl import losses
from anl.engine import normalise

#: The code paths of a training step, named in a record's provenance.step (absent: "eager").
STEPS = ("eager", "compiled", "graphed")
STEP_VARIABLE = "ANL_STEP"


def step_mode(device: torch.device) -> str:
    """The training step $ANL_STEP asks for on ``device``: one of :data:`STEPS`, "eager" when unset;
    "graphed" needs CUDA."""
    mode = os.environ.get(STEP_VARIABLE) or "eager"
    if mode not in STEPS:
        raise ValueError(f"unknown {STEP_VARIABLE}={mode!r}; choose one of {', '.join(STEPS)}")
    if mode == "graphed" and device.type != "cuda":
        raise ValueError(f"{STEP_VARIABLE}=graphed captures CUDA graphs; on {device.type} choose eager or compiled")
    return mode


def step_provenance(mode: str) -> dict[str, str]:
    """The provenance field naming a compiled step's code path; none for the eager step (every
    record made before the compiled step existed is eager)."""
    return {} if mode == "eager" else {"step": mode}


class StepData(Protocol):
    """A run's training tensors on the device (anl.train.TrainData has them)."""

    images: Tensor  # uint8 (N, C, H, W)
    labels: Tensor  # the given labels (N,)
    mean: Tensor  # (1, C, 1, 1)
    std: Tensor


class CompiledStep:
    """One run's training step, compiled: ``step(index, draws)`` trains on the samples ``index``
    (a batch of the epoch's permutation) with augmentation ``augment(images, draws)`` of their
    uint8 images and returns the detached objective, as anl.engine.train_step does on the batch
    that anl.train.train_epoch makes.

    The optimiser must be torch.optim.SGD with one parameter group, no dampening, no Nesterov;
    the step updates its parameters and momentum buffers in place. ``backend`` is torch.compile's
    ("inductor"; "aot_eager" traces the same graphs without generating code)."""

    def __init__(self, model: nn.Module, objective: losses.Objective, optimizer: torch.optim.Optimizer,
                 data: StepData, augment: Callable[[Tensor, Any], Tensor], grad_clip: float, amp: bool,
                 mode: str, backend: str = "inductor") -> None:
        if mode not in STEPS[1:]:
            raise ValueError(f"unknown compiled step mode {mode!r}; choose one of {', '.join(STEPS[1:])}")
        if not isinstance(optimizer, torch.optim.SGD) or len(optimizer.param_groups) != 1:
            raise ValueError("the compiled step updates like torch.optim.SGD with one parameter group; "
                             f"got {type(optimizer).__name__} with {len(optimizer.param_groups)} groups")
        group = optimizer.param_groups[0]
        if group["dampening"] or group["nesterov"] or group["maximize"]:
            raise ValueError("the compiled step's SGD has no dampening, Nesterov momentum or maximize; "
                             f"got dampening={group['dampening']}, nesterov={group['nesterov']}, "
                             f"maximize={group['maximize']}")
        self.model, self.objective, self.optimizer, self.data = model, objective, optimizer, data
        self.augment, self.grad_clip, self.amp, self.mode = augment, float(grad_clip), amp, mode
        self.momentum, self.weight_decay = float(group["momentum"]), float(group["weight_decay"])
        self.parameters: list[Tensor] = list(group["params"])
        self.lr = torch.tensor(float(group["lr"]), device=data.images.device)
        compile_mode = "reduce-overhead" if mode == "graphed" else "default"
        self.forward = torch.compile(self.objective_of, mode=compile_mode, backend=backend, dynamic=False)
        self.update = torch.compile(self.clip_and_descend, mode=compile_mode, backend=backend, dynamic=False)

    def objective_of(self, index: Tensor, draws: Any) -> Tensor:
        """The objective of the batch ``index``: gathered, augmented, normalised, channels_last."""
        images = self.augment(self.data.images[index], draws)
        x = normalise(images, self.data.mean, self.data.std).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=self.amp):
            logits = self.model(x)
        return self.objective(logits, self.data.labels[index], self.parameters)

    @torch.no_grad()
    def clip_and_descend(self, parameters: list[Tensor], grads: list[Tensor], buffers: list[Tensor],
                         lr: Tensor) -> None:
        """g <- g * min(1, clip / (||g||_2 + 1e-6)) over all gradients at once (``clip_grad_norm_``);
        then SGD: d = g + wd * p, b <- momentum * b + d, p <- p - lr * b (a zero buffer makes the
        first step's b = d, as SGD's)."""
        total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(grad) for grad in grads]))
        scale = torch.clamp(self.grad_clip / (total + 1e-6), max=1.0)
        for parameter, grad, buffer in zip(parameters, grads, buffers):
            direction = grad * scale
            if self.weight_decay:
                direction = direction.add(parameter, alpha=self.weight_decay)
            buffer.mul_(self.momentum).add_(direction)
            parameter.sub_(buffer * lr)

    def start_epoch(self) -> None:
        """Train mode, the optimiser's current learning rate into the step, and a momentum buffer
        (zero) for every parameter that has none yet (a checkpoint loaded since brings its own)."""
        self.model.train()
        self.lr.fill_(self.optimizer.param_groups[0]["lr"])
        for parameter in self.parameters:
            state = self.optimizer.state[parameter]
            if state.get("momentum_buffer") is None:
                state["momentum_buffer"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)

    def __call__(self, index: Tensor, draws: Any) -> Tensor:
        if self.mode == "graphed":  # the previous step's graph outputs may be overwritten from here on
            torch.compiler.cudagraph_mark_step_begin()
        loss = self.forward(index, draws)
        for parameter in self.parameters:
            parameter.grad = None
        loss.backward()
        buffers = [self.optimizer.state[parameter]["momentum_buffer"] for parameter in self.parameters]
        self.update(self.parameters, [parameter.grad for parameter in self.parameters], buffers, self.lr)
        return loss.detach()


def train_shuffled_epoch(step: CompiledStep, count: int, batch_size: int, generator: torch.Generator,
                         draw: Callable[[int], Any]) -> float:
    """anl.engine.train_shuffled_epoch with ``step``: the ``count`` training samples in the order
    of torch.randperm with ``generator``, batches of ``batch_size``, each batch's augmentation
    drawn by ``draw(size)`` (from ``generator``) before its step, as the eager epoch draws them.
    Returns the mean objective (the epoch's one host sync)."""
    step.start_epoch()
    device = step.data.images.device
    total = torch.zeros((), device=device)
    order = torch.randperm(count, device=device, generator=generator)
    for start in range(0, count, batch_size):
        index = order[start:start + batch_size]
        total += step(index, draw(len(index))) * len(index)
    return total.item() / count
