"""The results directory of a sweep: one JSON record per run and one table of all runs.

Layout::

    RESULTS_DIR/
      sweep.yaml                the sweep file as run (the report reads baseline/metric from it)
      records/<run_id>.json     one record per run, written atomically when the run ends
      runs/<run_id>/            the run's own folder (checkpoints, spectral dynamics CSV, ...)
      runs.csv                  every record flattened to one row (runs.parquet with pyarrow)
      lr_selection.json         the learning rate chosen per grid cell (when lr_sweep is on)
      report/                   written by ``opkit report``

A record is written only when its run has ended, with one of three statuses:
``finished``, ``failed`` (with the error and traceback) or ``diverged`` (non-finite
loss, with the epoch). A sweep killed at any moment therefore loses no finished run:
on the next start, runs with a ``finished`` or ``diverged`` record of the same
fingerprint are skipped, ``failed`` ones are retried only with ``--retry-failed``.

A finished run's record also holds what the run left in files (:func:`collect_run_files`):
the best validation scores of its CSV log, the probes' JSON summaries and its spectral dynamics.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from opkit.errors import DataError
from opkit.io import atomic_path, write_text_atomic

FINISHED, FAILED, DIVERGED = "finished", "failed", "diverged"
STATUSES = (FINISHED, FAILED, DIVERGED)
LEADING_COLUMNS = ["run_id", "phase", "status", "seed", "learning_rate", "duration_s", "diverged_epoch", "error"]


def _json_safe(value):
    """Plain JSON: NaN/inf become strings, numpy scalars and arrays become Python values."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars, 0-d torch tensors
        return _json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _number(value):
    """Inverse of _json_safe for one scalar: 'nan'/'inf' strings back to floats."""
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    return value


class ResultStore:
    """Read and write the records of one results directory."""

    def __init__(self, root):
        self.root = Path(root)
        self.records_dir = self.root / "records"
        self.runs_dir = self.root / "runs"

    def create(self) -> "ResultStore":
        self.records_dir.mkdir(parents=True, exist_ok=True)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        return self

    def record_path(self, run_id: str) -> Path:
        return self.records_dir / f"{run_id}.json"

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def write_record(self, record: dict) -> Path:
        if record.get("status") not in STATUSES:
            raise ValueError(f"record status must be one of {STATUSES}, got {record.get('status')!r}")
        path = self.record_path(record["run_id"])
        write_text_atomic(path, json.dumps(_json_safe(record), indent=2, sort_keys=False) + "\n")
        return path

    def read_record(self, run_id: str) -> dict | None:
        path = self.record_path(run_id)
        if not path.exists():
            return None
        return self._load(path)

    def _load(self, path: Path) -> dict:
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise DataError(path, f"not a valid run record (JSON error: {error})") from None

    def records(self) -> list[dict]:
        """Every record in the directory, sorted by run id."""
        if not self.records_dir.is_dir():
            raise DataError(self.root, "not a results directory: no records/ folder (run `opkit ablate` first)")
        return [self._load(path) for path in sorted(self.records_dir.glob("*.json"))]

    def needs_run(self, run_id: str, fingerprint: str, retry_failed: bool) -> bool:
        """False when the run already ended (finished/diverged, or failed without retry) with this fingerprint."""
        record = self.read_record(run_id)
        if record is None or record.get("fingerprint") != fingerprint:
            return True
        return record["status"] == FAILED and retry_failed

    def write_json(self, name: str, data) -> None:
        write_text_atomic(self.root / name, json.dumps(_json_safe(data), indent=2) + "\n")

    def read_json(self, name: str, default=None):
        path = self.root / name
        return json.loads(path.read_text()) if path.exists() else default

    def write_table(self) -> Path:
        """Flatten every record to one row; write runs.csv (and runs.parquet when pyarrow is there)."""
        rows = [flatten_record(record) for record in self.records()]
        columns = list(LEADING_COLUMNS)
        for row in rows:
            columns += [key for key in row if key not in columns]
        path = self.root / "runs.csv"
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({key: row.get(key, "") for key in columns})
        try:
            import pyarrow
            import pyarrow.parquet
        except ImportError:
            return path
        table = pyarrow.Table.from_pylist([{key: _parquet_cell(row.get(key)) for key in columns} for row in rows])
        with atomic_path(self.root / "runs.parquet") as tmp:
            pyarrow.parquet.write_table(table, tmp)
        return path


def _parquet_cell(value):
    return None if value is None else str(value) if not isinstance(value, (int, float, bool)) else float(value)


def flatten_record(record: dict) -> dict:
    """One table row: identity columns, factors by axis name, then scalar metrics (nested keys joined by '.')."""
    row = {key: record.get(key) for key in LEADING_COLUMNS}
    if row["error"]:
        row["error"] = str(row["error"]).splitlines()[0][:200]
    for axis, label in (record.get("factors") or {}).items():
        row[axis] = label

    def add(prefix: str, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                add(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, (bool, int, float)) or value is None:
            row[prefix] = value
        elif isinstance(value, str) and value in ("nan", "inf", "-inf"):
            row[prefix] = float(value)

    add("", record.get("metrics") or {})
    return row


def metric_value(record: dict, key: str) -> float:
    """A scalar metric of a record by dotted key (``band_errors.high``); NaN when absent."""
    value = record.get("metrics") or {}
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return math.nan
        value = value[part]
    value = _number(value)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def collect_run_files(run_dir: Path, result: dict) -> dict:
    """Metrics that live in files of the run: best validation scores from the CSV log, the
    AblationProbe's spectral summary, the RolloutProbe's ``rollout`` entry, and the spectral
    dynamics (its CSV's location and its table)."""
    extra: dict = {}
    log_dir = result.get("log_dir")
    csv_path = Path(log_dir) / "metrics.csv" if log_dir else None
    if csv_path is not None and csv_path.exists():
        extra.update(best_validation(csv_path))
    spectral = run_dir / "spectral_test.json"
    if spectral.exists():
        extra.update(json.loads(spectral.read_text()))
    rollout = run_dir / "rollout_test.json"
    if rollout.exists():
        extra.update(json.loads(rollout.read_text()))
    dynamics = sorted(run_dir.rglob("spectral_dynamics.csv"))
    if dynamics:
        from opkit.spectral.dynamics import read_dynamics, table_to_record

        extra["dynamics_csv"] = str(dynamics[0].relative_to(run_dir.parent.parent))
        extra["dynamics"] = table_to_record(read_dynamics(dynamics[0]))  # the record alone can be shipped
    return extra


def best_validation(csv_path: Path) -> dict:
    """``val/...`` metrics at the epoch with the lowest ``val/relative_l2`` (the checkpointed one)."""
    with open(csv_path, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("val/relative_l2") not in (None, "")]
    if not rows:
        return {}
    best = min(rows, key=lambda row: float(row["val/relative_l2"]) if math.isfinite(float(row["val/relative_l2"]))
               else math.inf)
    return {key: float(value) for key, value in best.items() if key.startswith("val/") and value not in ("", None)}
