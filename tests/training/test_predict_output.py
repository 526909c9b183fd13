"""``opkit predict --out`` never destroys data: an existing output needs --overwrite, the input is never replaced."""

import hashlib

import h5py
import pytest

from opkit.cli import main
from opkit.errors import ConfigError
from opkit.training.inference import load_operator, predict_file
from opkit.training.run import run_experiment

from standins import write_smoothing_file  # noqa: E402  (tests/training is on sys.path)

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter", "ignore:.*does not have many workers")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("trained")
    data = write_smoothing_file(root / "smooth.h5", n_samples=16)
    config = {
        "model": {"model": "fno", "width": 4, "n_modes": 4, "n_layers": 1, "scheduler": "none"},
        "data": {"path": str(data), "n_train": 8, "n_val": 4, "n_test": 4, "batch_size": 8},
        "trainer": {"max_epochs": 1, "accelerator": "cpu", "enable_model_summary": False},
    }
    return data, run_experiment(config, run_dir=root / "run", seed=0, progress_bar=False)["checkpoint"]


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_predict_out_the_input_is_refused_even_with_overwrite(trained, tmp_path, capsys):
    data, checkpoint = trained
    before = _digest(data)
    link = tmp_path / "link.h5"
    link.symlink_to(data)
    for out in (data, link):
        for extra in ([], ["--overwrite"]):
            assert main(["predict", "--ckpt", checkpoint, "--data", str(data), "--out", str(out), *extra]) == 2
            error = capsys.readouterr().err
            assert error.count("\n") == 1 and f"{out}: is the input file {data}" in error
    assert _digest(data) == before
    with h5py.File(data) as handle:
        assert "t0_fields/initial" in handle  # the coefficient field is still there
    with pytest.raises(ConfigError, match="is the input file"):
        predict_file(load_operator(checkpoint), data, data, overwrite=True, progress=False)


def test_predict_existing_output_needs_overwrite(trained, tmp_path, capsys):
    data, checkpoint = trained
    out = tmp_path / "prediction.h5"
    out.write_text("an earlier prediction\n")
    assert main(["predict", "--ckpt", checkpoint, "--data", str(data), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"opkit predict: error: {out}: already exists; pass --overwrite to replace it\n"
    assert out.read_text() == "an earlier prediction\n"
    assert main(["predict", "--ckpt", checkpoint, "--data", str(data), "--out", str(out), "--overwrite"]) == 0
    with h5py.File(out) as handle:
        assert handle.attrs["kind"] == "prediction" and handle["t0_fields/prediction"].shape == (16, 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prediction.h5"]  # no temporary left behind


def test_predict_out_a_directory_is_one_line(trained, tmp_path, capsys):
    data, checkpoint = trained
    assert main(["predict", "--ckpt", checkpoint, "--data", str(data), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"opkit predict: error: {tmp_path}: is a directory; expected the path of "
                                       "an output file\n")
