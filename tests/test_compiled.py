"""The compiled training step (anl.compiled) against the eager one (anl.train.train_epoch): the same
epoch on the same data and draws gives the same objective, weights, BatchNorm statistics and
momentum buffers; the step is chosen by $ANL_STEP with one-line errors; the schema names its modes."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import torch

from anl import compiled, losses, train
from anl.models import build_model

BATCH, FULL_BATCHES, LAST_BATCH = 32, 19, 16  # 20 steps, the last one partial: two graphs


def synthetic_mnist(count: int) -> types.SimpleNamespace:
    """MNIST-shaped uint8 images and random labels, with MNIST's normalisation."""
    generator = torch.Generator().manual_seed(0)
    return types.SimpleNamespace(
        images=torch.randint(0, 256, (count, 1, 28, 28), dtype=torch.uint8, generator=generator),
        labels=torch.randint(0, 10, (count,), generator=generator),
        mean=torch.tensor([0.1307]).view(1, 1, 1, 1), std=torch.tensor([0.3081]).view(1, 1, 1, 1))


def cnn4_and_sgd(weight_decay: float) -> tuple[torch.nn.Module, torch.optim.SGD]:
    torch.manual_seed(1)
    model = build_model("cnn4", 10, 1).to(memory_format=torch.channels_last)
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=weight_decay)


def test_the_compiled_step_trains_20_steps_as_the_eager_step_does() -> None:
    # aot_eager: torch.compile captures the same forward, backward and update graphs as with
    # inductor (graph breaks, functionalisation, the hand-written clipping and SGD are all
    # exercised), without generating C++: inductor took 200 s of this loaded CPU for the two graphs.
    # Tolerance: one step agrees to float32 rounding (~1e-7 relative); 20 steps of SGD on random
    # labels amplify it; measured max differences 2e-8 (weights), 5e-7 (BN statistics), 2e-6
    # (momentum buffers, the L1 term's delta * sign(theta) flipping on biases at zero) on an AVX-512
    # CPU, but up to 8e-5 in single buffer elements on an AVX2 one (other kernels, other rounding),
    # so rtol 1e-4 with atol 1e-6 for weights and statistics, and each momentum buffer within 3e-3
    # of the eager one in relative norm (measured 1e-3 on AVX2), plus 1e-5 for the bias buffers of
    # ~1e-6 (the L1 term alone). Weight decay 1e-3 (a 1e-4-sized term in every buffer, ~1e-2 of its
    # norm) and the L1 term (delta * sum |theta| ~ 5e-3 in the objective) are both on, so
    # either one missing fails.
    data = synthetic_mnist(FULL_BATCHES * BATCH + LAST_BATCH)
    config = {"batch_size": BATCH, "grad_clip": 5.0, "augment": "crop_flip"}
    objective = losses.build("anl_ce", dataset="mnist")
    eager_model, eager_sgd = cnn4_and_sgd(1e-3)
    eager_generator = torch.Generator().manual_seed(3)
    eager = train.train_epoch(eager_model, objective, eager_sgd, data, config, eager_generator, False)

    model, sgd = cnn4_and_sgd(1e-3)
    step = compiled.CompiledStep(model, objective, sgd, data, train.apply_augmentation, config["grad_clip"], False,
                                 "compiled", backend="aot_eager")
    generator = torch.Generator().manual_seed(3)
    mean = compiled.train_shuffled_epoch(step, len(data.labels), BATCH, generator, lambda count: train.draw_augmentation(
        count, config["augment"], generator, torch.device("cpu")))

    assert mean == pytest.approx(eager, rel=1e-5)
    torch.testing.assert_close(model.state_dict(), eager_model.state_dict(), rtol=1e-4, atol=1e-6)
    for parameter, eager_parameter in zip(model.parameters(), eager_model.parameters()):
        buffer, eager_buffer = sgd.state[parameter]["momentum_buffer"], eager_sgd.state[eager_parameter]["momentum_buffer"]
        assert torch.linalg.vector_norm(buffer - eager_buffer) <= 3e-3 * torch.linalg.vector_norm(eager_buffer) + 1e-5
    assert torch.equal(generator.get_state(), eager_generator.get_state())  # the same draws, in the same order


@pytest.mark.parametrize("value, device, message", [
    ("jit", "cpu", "unknown ANL_STEP='jit'; choose one of eager, compiled, graphed"),
    ("graphed", "cpu", "ANL_STEP=graphed captures CUDA graphs; on cpu choose eager or compiled"),
])
def test_a_bad_step_mode_is_one_line_naming_the_choices(monkeypatch, value, device, message) -> None:
    monkeypatch.setenv(compiled.STEP_VARIABLE, value)
    with pytest.raises(ValueError) as error:
        compiled.step_mode(torch.device(device))
    assert str(error.value) == message


def test_the_step_defaults_to_eager_and_only_a_compiled_step_is_named_in_the_provenance(monkeypatch) -> None:
    monkeypatch.delenv(compiled.STEP_VARIABLE, raising=False)
    assert compiled.step_mode(torch.device("cpu")) == "eager" and compiled.step_provenance("eager") == {}
    monkeypatch.setenv(compiled.STEP_VARIABLE, "compiled")
    assert compiled.step_provenance(compiled.step_mode(torch.device("cpu"))) == {"step": "compiled"}
    schema = json.loads((Path(compiled.__file__).parent / "record.schema.json").read_text())
    assert schema["$defs"]["provenance"]["properties"]["step"] == {"enum": list(compiled.STEPS[1:])}


def test_the_compiled_step_refuses_an_optimiser_it_does_not_reproduce() -> None:
    data = synthetic_mnist(4)
    model, _ = cnn4_and_sgd(0.0)
    nesterov = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    with pytest.raises(ValueError, match="got dampening=0, nesterov=True, maximize=False"):
        compiled.CompiledStep(model, losses.build("ce"), nesterov, data, train.apply_augmentation, 5.0, False,
                              "compiled")
    with pytest.raises(ValueError, match="got Adam with 1 groups"):
        compiled.CompiledStep(model, losses.build("ce"), torch.optim.Adam(model.parameters()), data,
                              train.apply_augmentation, 5.0, False, "compiled")


@pytest.mark.parametrize("argv, message", [
    (["bench", "--steps", "eager,jit", "--no-epoch"], "unknown step path 'jit'; choose from eager, compiled, graphed"),
    (["bench", "--steps", "graphed", "--device", "cpu", "--no-epoch"],
     "the graphed step captures CUDA graphs; on cpu choose eager or compiled"),
    (["bench", "--processes", "0", "--no-epoch"], "processes must be >= 1, got 0"),
])
def test_bench_rejects_bad_step_options_in_one_line(argv, message, capsys) -> None:
    from anl.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.slow
def test_train_run_takes_the_step_anl_step_names_and_records_it(real_dataset, tmp_path, monkeypatch) -> None:
    """The trainer's wiring of the compiled step, with torch.compile left out (its graphs are
    tested above): $ANL_STEP=compiled trains the run the eager trainer trains, with the same
    augmentation draws in the same order, and the record names the step."""
    from anl.results import ResultsStore
    from anl.train import RunConfig, train_run

    mnist = real_dataset("mnist")
    monkeypatch.delenv("ANL_CHECKPOINTS", raising=False)
    monkeypatch.setattr(torch, "compile", lambda function, **options: function)
    config = RunConfig("mnist", "anl_ce", noise="sym:0.4", seed=2, epochs=2, train_subset=600, train_eval_size=200,
                       augment="crop_flip")
    eager = train_run(config, ResultsStore(tmp_path / "eager"), dataset=mnist, device="cpu", progress=False)
    monkeypatch.setenv(compiled.STEP_VARIABLE, "compiled")
    stepped = train_run(config, ResultsStore(tmp_path / "compiled"), dataset=mnist, device="cpu", progress=False)
    assert "step" not in eager["provenance"] and stepped["provenance"]["step"] == "compiled"
    for before, after in zip(eager["epochs"], stepped["epochs"]):
        assert after["train_objective"] == pytest.approx(before["train_objective"], rel=1e-4)
        assert after["test_acc"] == pytest.approx(before["test_acc"], abs=0.01)
