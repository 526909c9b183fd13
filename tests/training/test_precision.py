"""Mixed-precision training through the Trainer: ``precision: bf16-mixed`` on CPU reaches the
float32 accuracy. (On CPU, Lightning turns ``16-mixed`` into ``bf16-mixed`` with a warning, so
fp16 autocast is covered at the model level, tests/models/test_mixed_precision.py.)"""

import pytest

from opkit.training.run import run_experiment

from standins import write_smoothing_file  # noqa: E402  (tests/training is on sys.path)

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def _config(data, precision):
    return {
        "model": {"model": "fno", "width": 16, "n_modes": 4, "n_layers": 2, "lr": 1e-2, "scheduler": "none",
                  "weight_decay": 0.0},
        "data": {"path": str(data), "n_train": 48, "n_val": 8, "n_test": 8, "batch_size": 8},
        "trainer": {"max_epochs": 4, "accelerator": "cpu", "devices": 1, "precision": precision,
                    "enable_model_summary": False, "logger": False},
    }


@pytest.mark.slow  # two short trainings, about 25 s
def test_bf16_mixed_training_reaches_float32_accuracy(tmp_path):
    data = write_smoothing_file(tmp_path / "smooth.h5", n_samples=64)
    results = {precision: run_experiment(_config(data, precision), run_dir=tmp_path / precision, seed=0,
                                         progress_bar=False)
               for precision in ("32-true", "bf16-mixed")}
    full, mixed = results["32-true"]["test/relative_l2"], results["bf16-mixed"]["test/relative_l2"]
    assert full < 0.1  # the heat-smoothing map is learnt in 4 epochs
    assert not results["bf16-mixed"]["diverged"]
    # bf16 rounds activations to 8 significant bits; the trained error stays within 25% of float32
    print(f"relative L2: float32 {full:.4f}, bf16-mixed {mixed:.4f}")
    assert mixed < 1.25 * full, (full, mixed)
