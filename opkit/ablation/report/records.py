"""What the report reads from a run beyond scalar metrics, and shipping records with a report.

A record carries the learning dynamics (``metrics["dynamics"]``) and the learned activation
shapes (``metrics["learned_activation"]``) itself; records written before the probe recorded
them point into the run's folder instead (``dynamics_csv``, ``checkpoint``), which the
report then reads. :func:`ship_records` copies a sweep's records next to its report and
fills both in from the run folders, so that the report folder alone can be re-analysed by
``opkit report`` without training and without the run folders::

    OUT/
      records/<run_id>.json   the runs' records, self-contained
      sweep.yaml, sweep.json  the sweep as run (name, baseline, metric, seeds, axes, description)
      report.md, ...          the report
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from opkit.ablation.store import FINISHED, ResultStore, _json_safe
from opkit.errors import ConfigError, DataError
from opkit.io import write_text_atomic

# Files of a results directory that describe the sweep and ship with its records.
SWEEP_FILES = ("sweep.yaml", "sweep.json", "lr_selection.json", "runs.csv")


def _run_file(record: dict, key: str, root: Path) -> Path | None:
    """The run-folder file a record's ``metrics[key]`` names (relative to the results directory), if it exists."""
    name = (record.get("metrics") or {}).get(key)
    if not isinstance(name, str) or not name:
        return None
    path = Path(name)
    path = path if path.is_absolute() else root / path
    return path if path.is_file() else None


def dynamics_table(record: dict, root: Path):
    """A finished run's epoch x wavenumber errors (a ``DynamicsTable``, or None): from the record, else
    from its run folder's CSV."""
    from opkit.spectral.dynamics import read_dynamics, table_from_record  # torch and Lightning: only when drawn

    if record.get("status") != FINISHED:
        return None
    data = (record.get("metrics") or {}).get("dynamics")
    if isinstance(data, dict):
        return table_from_record(data)
    path = _run_file(record, "dynamics_csv", root)
    return read_dynamics(path) if path is not None else None


def learned_activation(record: dict, root: Path) -> dict | None:
    """A finished run's learned activation shapes (``{"x", "initial", "layers"}``): from the record,
    else from its checkpoint (None for fixed activations and runs without either)."""
    if record.get("status") != FINISHED:
        return None
    data = (record.get("metrics") or {}).get("learned_activation")
    if isinstance(data, dict):
        return data
    name = ((record.get("spec") or {}).get("values") or {}).get("activation")
    checkpoint = _run_file(record, "checkpoint", root)
    if checkpoint is None or not isinstance(name, str) or not _learnable(name):
        return None
    from opkit.ablation.callbacks import learned_activation_shapes
    from opkit.training.inference import load_operator

    try:
        module = load_operator(checkpoint)
    except (ConfigError, DataError):  # an unreadable checkpoint leaves this panel out, not the report
        return None
    return learned_activation_shapes(module)


def _learnable(name: str) -> bool:
    from opkit.activations.registry import activation_info

    try:
        return activation_info(name).learnable
    except ConfigError:  # a control or model replacement, not a registry activation
        return False


def self_contained(record: dict, root: Path, shapes: bool = True) -> dict:
    """A copy of ``record`` that carries its dynamics and (with ``shapes``, which loads the
    checkpoint) learned activation shapes itself."""
    record = json.loads(json.dumps(record))
    metrics = record.get("metrics")
    if record.get("status") != FINISHED or not isinstance(metrics, dict):
        return record
    if "dynamics" not in metrics:
        from opkit.spectral.dynamics import table_to_record

        table = dynamics_table(record, root)
        if table is not None:
            metrics["dynamics"] = table_to_record(table)
    if shapes and "learned_activation" not in metrics:
        drawn = learned_activation(record, root)
        if drawn is not None:
            metrics["learned_activation"] = drawn
    return record


def ship_records(store: ResultStore, out: Path) -> Path:
    """Copy the records (self-contained) and the sweep files of ``store`` into ``out``; returns
    ``out/records``. The records folder is replaced as a whole: built beside it, then renamed."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / "records"
    staging = Path(tempfile.mkdtemp(prefix=".records-", dir=out))
    try:
        for record in store.records():
            record = self_contained(record, store.root)
            (staging / store.record_path(record["run_id"]).name).write_text(
                json.dumps(_json_safe(record), indent=2) + "\n")
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=".records-old-", dir=out))
            os.replace(target, old / "records")
        try:
            os.replace(staging, target)
        except OSError:
            if old is not None:  # put the previous records back rather than leave none
                os.replace(old / "records", target)
                shutil.rmtree(old)
            raise
        if old is not None:
            shutil.rmtree(old)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    for name in SWEEP_FILES:
        if (store.root / name).is_file():
            write_text_atomic(out / name, (store.root / name).read_text())
    return target
