"""``opkit train`` and ``python train.py``: one function, :func:`main`, behind both.

    opkit train --config darcy/fno                      # a config shipped with the package, by name
    opkit train --config configs/darcy/fno.yaml         # or any path
    opkit train --config darcy/tiny --data.path my.h5   # seconds: a tiny FNO on your own file
    opkit train test --config darcy/fno --ckpt_path runs/darcy/fno/checkpoints/last.ckpt
    opkit train                                         # the default Burgers run (as `python train.py`)

Everything after ``train`` goes to LightningCLI (``OperatorCLI``); ``fit`` is implied when no
subcommand is given. Shipped configs live in ``opkit/configs/<pde>/<name>.yaml`` (the repo's
``configs/``); a name may spell the PDE ``navier-stokes`` or ``navier_stokes``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from opkit.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
SUBCOMMANDS = ("fit", "validate", "test", "predict")
# Folders of configs/ that hold sweep files, not training configs.
NOT_TRAINING_CONFIGS = ("ablation",)


def list_configs() -> dict[str, str]:
    """Shipped training configs, ``"darcy/fno"`` -> one line: its title, model, data and epochs."""
    import yaml

    configs = {}
    for path in sorted(CONFIG_DIR.glob("*/*.yaml")):
        if path.parent.name in NOT_TRAINING_CONFIGS:
            continue
        text = path.read_text()
        first = next((line for line in text.splitlines() if line.startswith("#")), "#").lstrip("# ")
        title = re.split(r" \(|:", first, maxsplit=1)[0].rstrip(" .")
        config = yaml.safe_load(text) or {}
        model, data, trainer = (config.get(key) or {} for key in ("model", "data", "trainer"))
        details = [f"width {model['width']}" if "width" in model else "",
                   f"{data.get('pde')}/{data.get('preset')} data" if data.get("preset") else "",
                   f"{trainer['max_epochs']} epochs" if "max_epochs" in trainer else ""]
        configs[f"{path.parent.name}/{path.stem}"] = f"{title} ({', '.join(d for d in details if d)})"
    return configs


def resolve_config(value: str) -> str:
    """An existing path as given, else the shipped config called ``value`` (``darcy/fno``, ``darcy/fno.yaml``)."""
    if Path(value).is_file():
        return value
    name = value[:-len(".yaml")] if value.endswith(".yaml") else value
    if name.startswith("configs/"):
        name = name[len("configs/"):]
    pde, _, stem = name.partition("/")
    candidate = CONFIG_DIR / pde.replace("-", "_").lower() / f"{stem}.yaml"
    if stem and candidate.is_file() and pde.replace("-", "_").lower() not in NOT_TRAINING_CONFIGS:
        return str(candidate)
    raise ConfigError(f"config {value!r} not found; expected a YAML path or a shipped name: "
                      f"{', '.join(list_configs())}")


def prepare_arguments(argv: list[str]) -> list[str]:
    """``argv`` with shipped config names resolved to paths and ``fit`` implied."""
    arguments = list(argv)
    for position, argument in enumerate(arguments):
        if argument == "--config" and position + 1 < len(arguments):
            arguments[position + 1] = resolve_config(arguments[position + 1])
        elif argument.startswith("--config="):
            arguments[position] = "--config=" + resolve_config(argument[len("--config="):])
    if arguments and arguments[0] not in (*SUBCOMMANDS, "-h", "--help"):
        arguments.insert(0, "fit")
    return arguments


def main(argv: list[str] | None = None, prog: str = "opkit train") -> int:
    """Train (or validate/test/predict) as ``python train.py`` does; no arguments: the default run.

    Returns the exit status: 0, or 2 after one ``<prog>: error: ...`` line for an opkit error.
    """
    from opkit.quiet import quiet_commands
    from opkit.training.run import train_main

    quiet_commands()
    return train_main(argv, prog=prog)
