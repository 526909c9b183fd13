"""Your own arrays -> opkit files: ``write_arrays`` and ``opkit convert --input/--target/--dims``."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from opkit.cli import main
from opkit.data import write_arrays
from opkit.data.dataset import PDEDataset
from opkit.data.formats import open_dataset_file
from opkit.errors import DataError


def _arrays(n=6, nx=8, ny=4, seed=0):
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((n, nx, ny))
    return inputs, 2.0 * inputs + 1.0


def test_write_arrays_round_trip_and_the_dataset_knows_inputs_from_targets(tmp_path):
    inputs, targets = _arrays()
    out = write_arrays(tmp_path / "mine.h5", inputs=inputs, targets=targets, dims=("x", "y"),
                       boundary_conditions="periodic", attrs={"note": "hand made"})
    with open_dataset_file(out) as datafile:
        assert datafile.n_samples == 6 and set(datafile.fields) == {"input", "target"}
        assert datafile.field("input").dims == ("x", "y")
        np.testing.assert_allclose(datafile.read("target", slice(None)), targets.astype(np.float32))
        assert datafile.attrs["note"] == "hand made" and datafile.attrs["input_fields"] == ["input"]
        assert datafile.boundary_conditions == {"x": "periodic", "y": "periodic"}
        np.testing.assert_allclose(datafile.coords["x"], np.arange(8) / 8)  # periodic: no end point
        stats = datafile.field("target").attrs
        assert stats["mean"] == pytest.approx(float(targets.astype(np.float32).mean()), rel=1e-5)
    dataset = PDEDataset(out)
    assert dataset.task == "static" and (dataset.in_channels, dataset.out_channels) == (1, 1)
    x, y = dataset[3]
    np.testing.assert_allclose(y.numpy()[0], 2.0 * x.numpy()[0] + 1.0, rtol=1e-5, atol=1e-5)


def test_channels_first_and_last_give_the_same_file(tmp_path):
    rng = np.random.default_rng(1)
    first = rng.standard_normal((5, 3, 8))  # (sample, channel, x)
    target = rng.standard_normal((5, 8))
    notes: list[str] = []
    a = write_arrays(tmp_path / "first.h5", inputs=first, targets=target, dims="x", notes=notes)
    assert any("channels-first" in note for note in notes)  # says which it assumed
    b = write_arrays(tmp_path / "last.h5", inputs=np.moveaxis(first, 1, -1), targets=target, dims="x",
                     channels="last")
    for path in (a, b):
        dataset = PDEDataset(path)
        assert dataset.in_channels == 3
        np.testing.assert_allclose(dataset[2][0].numpy(), first[2].astype(np.float32))


def test_one_channel_is_squeezed_and_dicts_name_fields(tmp_path):
    inputs, targets = _arrays(nx=4)
    out = write_arrays(tmp_path / "d.h5", inputs={"a": inputs[:, None], "b": inputs ** 2},
                       targets={"u": targets[:, None]}, dims=["x", "y"], pde="Navier-Stokes")
    with open_dataset_file(out) as datafile:
        assert set(datafile.fields) == {"a", "b", "u"} and datafile.field("a").dims == ("x", "y")
        assert datafile.attrs["pde"] == "navier_stokes"
    dataset = PDEDataset(out)
    assert dataset.input_fields == ["a", "b"] and dataset.in_channels == 2


def test_integer_and_bool_arrays_are_cast_with_a_note(tmp_path):
    notes: list[str] = []
    inputs = np.arange(12).reshape(3, 4)
    write_arrays(tmp_path / "i.h5", inputs=inputs, targets=inputs > 5, dims="x", notes=notes)
    assert len(notes) == 2 and "int64" in notes[0] and "bool" in notes[1]
    with open_dataset_file(tmp_path / "i.h5") as datafile:
        np.testing.assert_array_equal(datafile.read("target", slice(None)), (inputs > 5).astype(np.float32))


@pytest.mark.parametrize("inputs, targets, dims, expected", [
    (np.zeros((8, 8)), np.zeros((8, 8)), "x,y", "no sample axis"),
    (np.zeros((4, 8, 8, 2, 2)), np.zeros((4, 8, 8)), "x,y", "has 5 axes"),
    (np.zeros((4, 8)), np.zeros((5, 8)), "x", "5 samples"),
    (np.zeros((4, 8, 6, 2)), np.zeros((4, 8, 6)), "x,y", "channels 'last'"),
    (np.zeros((4, 8), complex), np.zeros((4, 8)), "x", "complex"),
    (np.zeros((4, 8)), np.full((4, 8), np.nan), "x", "non-finite"),
    (np.zeros((4, 3, 8)), np.zeros((4, 3, 8)), "x,t", "time axis 't' first"),
])
def test_ambiguous_or_inconsistent_arrays_are_refused_in_one_line(tmp_path, inputs, targets, dims, expected):
    out = tmp_path / "bad.h5"
    with pytest.raises(DataError, match=expected) as error:
        write_arrays(out, inputs=inputs, targets=targets, dims=dims)
    assert "\n" not in str(error.value)
    assert not out.exists() and not list(tmp_path.glob(".bad.h5*"))  # nothing half-written


def _sources(tmp_path, inputs, targets):
    np.savez(tmp_path / "d.npz", a=inputs, u=targets)
    torch.save({"x": torch.from_numpy(inputs), "y": torch.from_numpy(targets)}, tmp_path / "d.pt")
    np.save(tmp_path / "a.npy", inputs)
    np.save(tmp_path / "u.npy", targets)
    with h5py.File(tmp_path / "plain.h5", "w") as handle:
        handle["inputs/field"] = inputs
        handle["outputs"] = targets
    return {"npz": ["d.npz", "--input", "a", "--target", "u"],
            "pt": ["d.pt", "--input", "x", "--target", "y"],
            "npy": ["a.npy", "--target", str(tmp_path / "u.npy")],
            "hdf5": ["plain.h5", "--input", "inputs/field", "--target", "outputs"]}


@pytest.mark.parametrize("kind", ["npz", "pt", "npy", "hdf5"])
def test_convert_reads_every_source_kind(tmp_path, kind, monkeypatch):
    inputs, targets = _arrays(nx=8, ny=8)
    commands = _sources(tmp_path, inputs.astype(np.float32), targets.astype(np.float32))
    monkeypatch.chdir(tmp_path)
    source, *mapping = commands[kind]
    out = tmp_path / f"{kind}.h5"
    assert main(["convert", source, str(out), *mapping, "--dims", "x,y", "--pde", "darcy", "--bc", "dirichlet",
                 "--coords", "x=0:2"]) == 0
    with open_dataset_file(out) as datafile:
        input_name, = datafile.attrs["input_fields"]
        target_name, = datafile.attrs["target_fields"]
        np.testing.assert_allclose(datafile.read(input_name, slice(None)), inputs.astype(np.float32))
        np.testing.assert_allclose(datafile.read(target_name, slice(None)), targets.astype(np.float32))
        np.testing.assert_allclose(datafile.coords["x"], np.linspace(0, 2, 8))  # Dirichlet: both ends
        assert datafile.attrs["pde"] == "darcy" and datafile.attrs["source_file"] == source
        assert datafile.boundary_conditions == {"x": "dirichlet", "y": "dirichlet"}


def test_convert_refuses_existing_output_and_explains_mistakes(tmp_path, capsys):
    inputs, targets = _arrays()
    _sources(tmp_path, inputs, targets)
    out = tmp_path / "out.h5"
    source = str(tmp_path / "d.npz")
    assert main(["convert", source, str(out), "--input", "a", "--target", "u", "--dims", "x,y"]) == 0
    capsys.readouterr()
    assert main(["convert", source, str(out), "--input", "a", "--target", "u", "--dims", "x,y"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["convert", source, str(out), "--input", "a", "--target", "u", "--dims", "x,y",
                 "--overwrite"]) == 0
    cases = {("--input", "a", "--target", "missing", "--dims", "x,y"): "no array 'missing' for --target",
             ("--input", "a", "--target", "u"): "--dims is missing",
             ("--input", "a", "--target", "u", "--dims", "x,y,z"): "no sample axis for dims ['x', 'y', 'z']"}
    for arguments, expected in cases.items():
        capsys.readouterr()
        assert main(["convert", source, str(tmp_path / "new.h5"), *arguments]) == 2
        error = capsys.readouterr().err
        assert expected in error and error.count("\n") == 1, error
    torch.save([1, 2], tmp_path / "list.pt")
    assert main(["convert", str(tmp_path / "list.pt"), str(tmp_path / "new.h5"), "--input", "a", "--target",
                 "b", "--dims", "x"]) == 2
    assert "expected a dict of tensors" in capsys.readouterr().err
    assert not (tmp_path / "new.h5").exists()


def test_pickled_code_in_a_pt_file_is_not_run(tmp_path, capsys):
    class Payload:
        def __reduce__(self):
            return (print, ("pickled code ran",))

    torch.save({"x": Payload()}, tmp_path / "evil.pt")
    assert main(["convert", str(tmp_path / "evil.pt"), str(tmp_path / "o.h5"), "--input", "x", "--target", "x",
                 "--dims", "x"]) == 2
    captured = capsys.readouterr()
    assert "pickled code ran" not in captured.out and "weights_only=True" in captured.err


def test_datamodule_input_fields_and_target_field_choose_fields_by_name(tmp_path):
    from opkit.data.datamodule import PDEDataModule

    inputs, targets = _arrays(n=10, nx=8, ny=8)
    path = write_arrays(tmp_path / "d.h5", inputs={"a": inputs, "b": inputs ** 2}, targets={"u": targets},
                        dims="x,y")
    default = PDEDataModule(str(path), batch_size=2)
    assert default.in_channels == 2  # the file's own input_fields
    chosen = PDEDataModule(str(path), input_fields=["b"], target_field="a", batch_size=2, normalize=False)
    chosen.setup("fit")
    x, y = chosen.datasets["train"][0]
    np.testing.assert_allclose(x.numpy(), y.numpy() ** 2, rtol=1e-5)  # b = a^2
    assert (chosen.in_channels, chosen.out_channels) == (1, 1)
