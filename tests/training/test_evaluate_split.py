"""``evaluate`` scores the checkpoint's stored test split of its training file, never its training samples by default."""

import shutil

import h5py
import numpy as np
import pytest
import torch

from opkit.cli import main as opkit_main
from opkit.data.datamodule import split_indices
from opkit.errors import ConfigError, DataError
from opkit.training.inference import evaluate, load_operator
from opkit.training.run import run_experiment

from standins import write_smoothing_file  # noqa: E402  (tests/training is on sys.path)

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter", "ignore:.*does not have many workers")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("split")
    data = write_smoothing_file(root / "smooth.h5")  # 32 samples
    config = {
        "model": {"model": "fno", "width": 8, "n_modes": 6, "n_layers": 2, "lr": 1e-2, "scheduler": "none"},
        "data": {"path": str(data), "n_train": 20, "n_val": 5, "n_test": 7, "batch_size": 8, "split_seed": 3},
        "trainer": {"max_epochs": 2, "accelerator": "cpu", "enable_model_summary": False},
    }
    results = run_experiment(config, run_dir=root / "run", seed=0, progress_bar=False)
    return data, load_operator(results["checkpoint"]), results["checkpoint"]


def _relative_l2(operator, data, indices) -> float:
    """Mean relative L2 over ``indices``, computed from the raw file (independent of evaluate's reader)."""
    with h5py.File(data) as handle:
        inputs = torch.from_numpy(handle["t0_fields/initial"][:][indices]).unsqueeze(1)
        target = torch.from_numpy(handle["t0_fields/solution"][:, -1][indices]).unsqueeze(1)
    prediction = operator.predict(inputs)
    errors = torch.linalg.vector_norm((prediction - target).flatten(1), dim=1) / torch.linalg.vector_norm(
        target.flatten(1), dim=1)
    return errors.mean().item()


def test_training_file_is_scored_on_its_test_split(trained, tmp_path):
    data, operator, _ = trained
    expected = split_indices(32, n_train=20, n_val=5, n_test=7, seed=3)
    assert operator.data_description["split"] == expected
    metrics = evaluate(operator, data)
    assert metrics["split"] == "test" and metrics["samples"] == 7
    assert metrics["relative_l2"] == pytest.approx(_relative_l2(operator, data, expected["test"]), rel=1e-5)
    for split, count in (("val", 5), ("train", 20), ("all", 32)):
        chosen = evaluate(operator, data, split=split)
        assert chosen["split"] == split and chosen["samples"] == count
    assert evaluate(operator, data, split="train")["relative_l2"] == pytest.approx(
        _relative_l2(operator, data, expected["train"]), rel=1e-5)
    # the same data under another name is still the training file
    copy = tmp_path / "renamed.h5"
    shutil.copy(data, copy)
    assert evaluate(operator, copy)["samples"] == 7


def test_other_files_are_scored_whole_and_refuse_a_split(trained, tmp_path):
    data, operator, _ = trained
    fresh = write_smoothing_file(tmp_path / "fresh.h5", n_samples=8, seed=1)
    metrics = evaluate(operator, fresh)
    assert metrics["split"] == "all" and metrics["samples"] == 8
    assert "not the checkpoint's training file" in metrics["split_description"]
    with pytest.raises(DataError, match=r"fresh\.h5: split 'test': not the checkpoint's training file .*smooth\.h5"):
        evaluate(operator, fresh, split="test")
    with pytest.raises(ConfigError, match=r"split='testing'; expected one of test, val, train, all"):
        evaluate(operator, data, split="testing")


def test_evaluate_command_says_which_split_it_scored(trained, capsys):
    data, _, checkpoint = trained
    assert opkit_main(["evaluate", "--ckpt", checkpoint, "--data", str(data)]) == 0
    printed = capsys.readouterr().out
    assert "split: test, 7 samples (the checkpoint's test split of its training file)" in printed
    assert opkit_main(["evaluate", "--ckpt", checkpoint, "--data", str(data), "--split", "all"]) == 0
    assert "split: all, 32 samples (every sample, including the ones the checkpoint was trained on)" in \
        capsys.readouterr().out


@pytest.mark.parametrize("command", ["evaluate", "predict"])
@pytest.mark.parametrize("size", ["0", "-1"])
def test_batch_size_must_be_positive(trained, tmp_path, capsys, command, size):
    data, _, checkpoint = trained
    extra = ["--out", str(tmp_path / "out.h5")] if command == "predict" else []
    with pytest.raises(SystemExit) as exit_info:
        opkit_main([command, "--ckpt", checkpoint, "--data", str(data), "--batch-size", size, *extra])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == f"opkit {command}: error: argument --batch-size: expected a positive integer, got '{size}'"
    assert not (tmp_path / "out.h5").exists()


def test_batch_size_in_the_api(trained):
    data, operator, _ = trained
    with pytest.raises(ConfigError, match=r"batch_size=0; expected a positive integer"):
        evaluate(operator, data, batch_size=0)


def test_file_without_samples(trained, tmp_path, capsys):
    _, _, checkpoint = trained
    empty = tmp_path / "1D_Burgers_empty.hdf5"  # PDEBench layout, zero samples
    with h5py.File(empty, "w") as handle:
        handle["tensor"] = np.zeros((0, 2, 32), np.float32)
        handle["x-coordinate"] = (np.arange(32) / 32).astype(np.float32)
        handle["t-coordinate"] = np.array([0.0, 1.0, 2.0], np.float32)
    assert opkit_main(["evaluate", "--ckpt", checkpoint, "--data", str(empty)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"opkit evaluate: error: {empty}: no samples; expected at least one"


def test_shipped_checkpoint_scores_its_test_split_of_a_regenerated_training_file(tmp_path):
    """The README's `evaluate --ckpt fno-burgers --data datasets/burgers_small.h5` scored mostly training samples.

    The shipped checkpoints were trained on samples 0..599 of the small preset with base seed
    0 (split seed 0: 500/50/50); sample i depends only on (seed, i), so a 27-sample file holds
    the first of them, of which only sample 26 is in the test split.
    """
    from opkit.data.generate import generate_preset

    data = generate_preset("burgers", "small", 27, tmp_path / "burgers_small.h5", base_seed=0, progress=False)
    operator = load_operator("fno-burgers")
    recorded = operator.data_description["split"]
    assert recorded == split_indices(600, n_train=500, n_val=50, n_test=50, seed=0)
    assert [i for i in recorded["test"] if i < 27] == [26]
    metrics = evaluate(operator, data)
    assert (metrics["split"], metrics["samples"]) == ("test", 1)
    assert "1 of its 50 test samples are in this file" in metrics["split_description"]
    assert evaluate(operator, data, split="all")["samples"] == 27
    assert evaluate(operator, data, split="train")["samples"] == len([i for i in recorded["train"] if i < 27])


def test_checkpoint_without_file_identity_matches_its_training_path_only(trained, tmp_path):
    """Checkpoints from before the identity was recorded: the recorded path decides, a copy is scored whole."""
    data, _, checkpoint = trained
    contents = torch.load(checkpoint, map_location="cpu", weights_only=False)
    del contents["opkit"]["data"]["source"]
    older = tmp_path / "older.ckpt"
    torch.save(contents, older)
    operator = load_operator(older)
    assert evaluate(operator, data)["samples"] == 7
    copy = tmp_path / "copy.h5"
    shutil.copy(data, copy)
    assert evaluate(operator, copy)["split"] == "all"
