"""docs/own_data.md, run exactly as written: its Python block, then every `opkit` line of its bash blocks."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "own_data.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), flags=re.S)


@pytest.mark.slow
def test_the_page_goes_from_arrays_to_a_checkpoint_evaluated_at_another_resolution(tmp_path):
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    python, *_ = _blocks("python")
    subprocess.run([sys.executable, "-c", python], cwd=tmp_path, env=environment, check=True, timeout=120)
    commands = [shlex.split(line) for block in _blocks("bash") for line in block.splitlines()
                if line.startswith("opkit ")]
    assert len(commands) == 6  # the five commands and the .pt variant
    outputs = []
    for command in commands:
        completed = subprocess.run([sys.executable, "-m", "opkit.cli", *command[1:]], cwd=tmp_path, env=environment,
                                   capture_output=True, text=True, timeout=600)
        assert completed.returncode == 0, (command, completed.stderr[-2000:])
        outputs.append(completed.stdout)
    convert, inspect_data, train, evaluate, inspect_checkpoint, convert_torch = outputs
    assert "inputs (from t0_fields/inputs): (sample=96, x=32, y=32)" in inspect_data
    assert "resolution: 32x32 (trained at 16x16)" in evaluate
    error = float(re.search(r"relative L2: ([0-9.]+)", evaluate).group(1))
    assert error < 0.1, evaluate  # the page says about 0.04
    assert "model: fno" in inspect_checkpoint and "resolution=16x16" in inspect_checkpoint
    assert "best val/relative_l2" in inspect_checkpoint
    checkpoint = torch.load(tmp_path / "runs/mine/version_0/checkpoints/last.ckpt", weights_only=True)
    assert checkpoint["opkit"]["data"]["resolution"] == [16, 16]
    assert "Tip:" not in train  # quiet by default
    assert (tmp_path / "my_data_from_torch.h5").exists()
