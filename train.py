"""Train a neural operator from a YAML config (LightningCLI over OperatorModule and PDEDataModule).

    python train.py                                   # the default: Burgers, FNO, a few minutes on CPU
    python train.py fit --config configs/darcy/fno.yaml --model.activation snake
    python train.py fit --config configs/darcy/fno.yaml --ckpt_path last     # resume after a crash
    python train.py test --config configs/darcy/fno.yaml --ckpt_path runs/darcy/fno/version_0/checkpoints/last.ckpt
    python train.py fit --config configs/burgers/fno.yaml --trainer.strategy ddp --trainer.devices 2

The installed command ``opkit train`` is the same (``opkit.training.train_command.main``), and
also takes the shipped configs by name (``--config darcy/fno``).

Every run gets its own directory ``<trainer.default_root_dir>/version_N/`` (``runs/darcy/fno/``
for that config) holding ``checkpoints/`` (best by validation relative L2, and last),
``metrics.csv`` (and TensorBoard events when installed) and ``config.yaml``. ``--ckpt_path last``
resumes the newest run of the same config in its own directory.
"""

import sys

from opkit.training.train_command import main

if __name__ == "__main__":
    sys.exit(main(prog="train.py"))
