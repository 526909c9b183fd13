"""``opkit inspect`` on checkpoints: shipped names and run outputs, loaded with weights_only=True."""

import re

import torch

from opkit.cli import main
from opkit.training.inference import pretrained_checkpoints, pretrained_errors


def test_inspect_a_shipped_checkpoint_by_name(capsys):
    assert main(["inspect", "fno-darcy"]) == 0
    text = capsys.readouterr().out
    recorded = pretrained_errors()["fno-darcy"]
    state = torch.load(pretrained_checkpoints()["fno-darcy"], weights_only=True)["state_dict"]
    assert f"parameters: {recorded['parameters']:,}" in text
    assert "model: fno  width=16  n_modes=8  n_layers=4" in text
    assert "training data: datasets/darcy_small.h5 (darcy/small)" in text and "resolution=64x64" in text
    mean = float(re.search(r"input normaliser: mean=\[([-0-9.e]+)\]", text).group(1))
    assert abs(mean - float(state["input_normalizer.mean"][0])) < 1e-3 * abs(mean)
    assert f"test relative_l2 = {recorded['test_relative_l2']:.4g}" in text


def test_inspect_refuses_a_file_that_is_not_a_checkpoint(tmp_path, capsys):
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "plain.ckpt")
    for name, expected in (("junk.ckpt", "weights_only=True"), ("plain.ckpt", "not an opkit checkpoint"),
                           ("missing.ckpt", "checkpoint not found")):
        assert main(["inspect", str(tmp_path / name)]) == 2
        error = capsys.readouterr().err
        assert expected in error and error.count("\n") == 1, error
