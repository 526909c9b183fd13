"""A report shipped with its records re-analyses without the run folders (opkit/ablation/report/records.py)."""

import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from opkit.ablation.report import write_report
from opkit.ablation.report.records import dynamics_table, self_contained
from opkit.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from test_write import make_results  # noqa: E402

EPOCHS, SHELLS = [0, 1, 2, 3], 6


def dynamics_errors(seed: int, activation: str) -> np.ndarray:
    """Epoch x shell relative errors, NaN at k = 0 (a zero-mean target): (E, K)."""
    errors = np.outer(1.0 / (1 + np.arange(len(EPOCHS))), 1 + np.arange(SHELLS)) * (1 + 0.1 * seed + len(activation))
    errors[:, 0] = np.nan
    return errors


def add_run_files(store):
    """Give every finished run a dynamics CSV in its run folder (old records: only its location), except
    tanh whose records carry the table themselves; identity's records carry learned shapes."""
    for path in sorted(store.records_dir.glob("*.json")):
        record = json.loads(path.read_text())
        if record["status"] != "finished":
            continue
        activation, seed = record["factors"]["activation"], record["seed"]
        errors = dynamics_errors(seed, activation)
        metrics = record["metrics"]
        metrics["mode_cutoff"] = 3
        metrics["aliasing_mean"] = 0.01 * (1 + seed)
        if activation == "tanh":
            metrics["dynamics"] = {"epoch": EPOCHS, "wavenumber": list(range(SHELLS)),
                                   "error": [[None if np.isnan(v) else v for v in row] for row in errors.tolist()],
                                   "target_energy": [0.0] + [1.0 / k ** 2 for k in range(1, SHELLS)]}
        else:
            run_dir = store.run_dir(record["run_id"])
            run_dir.mkdir(parents=True)
            with open(run_dir / "spectral_dynamics.csv", "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["epoch", "step", "wavenumber", "error", "target_energy"])
                for i, epoch in enumerate(EPOCHS):
                    for k in range(SHELLS):
                        writer.writerow([epoch, 10 * epoch, k, errors[i, k], 0.0 if k == 0 else 1.0 / k ** 2])
            metrics["dynamics_csv"] = str((run_dir / "spectral_dynamics.csv").relative_to(store.root))
        if activation == "identity":
            x = np.linspace(-3, 3, 7)
            metrics["learned_activation"] = {"x": x.tolist(), "initial": x.tolist(), "layers": [
                {"name": "activation", "mean": (x * 1.1).tolist(), "min": x.tolist(), "max": (x * 1.2).tolist()}]}
        store.write_record(record)


def figure_names(report: Path) -> list[str]:
    return sorted(p.name for p in (report.parent / "figures").glob("*.png"))


def test_shipped_report_reanalyses_without_run_folders(tmp_path):
    store = make_results(tmp_path / "results")
    add_run_files(store)
    (store.root / "sweep.yaml").write_text("name: demo\n")
    shipped = tmp_path / "docs" / "demo"
    first = write_report(store.root, out_dir=shipped)
    reference = write_report(store.root, baseline="relu", out_dir=tmp_path / "relu_reference")

    assert sorted(p.name for p in (shipped / "records").iterdir()) == sorted(
        p.name for p in store.records_dir.iterdir())
    assert (shipped / "sweep.yaml").read_text() == "name: demo\n" and (shipped / "sweep.json").is_file()
    assert not (shipped / "runs").exists() and not list(shipped.glob(".records*"))
    shutil.rmtree(store.root)

    again = write_report(shipped, baseline="relu")
    assert again == shipped / "report" / "report.md"
    assert figure_names(again) == figure_names(first) == figure_names(reference)
    assert any(name.startswith("dynamics_") for name in figure_names(again))
    assert any(name.startswith("shapes_") for name in figure_names(again))
    assert json.loads((again.parent / "summary.json").read_text()) == json.loads(
        (reference.parent / "summary.json").read_text())
    text = again.read_text()
    assert text == reference.read_text().replace("relu_reference", "report")
    assert "`aliasing_mean`" in text and "Learning dynamics" in text and "Learned activations" in text

    # the shipped records carry the dynamics their CSVs held
    shipped_record = json.loads((shipped / "records" / "burgers__gelu__seed2.json").read_text())
    table = dynamics_table(shipped_record, shipped)
    np.testing.assert_allclose(table.errors, dynamics_errors(2, "gelu"), rtol=1e-4)
    np.testing.assert_array_equal(table.epochs, EPOCHS)


def test_shipping_again_replaces_the_records(tmp_path):
    store = make_results(tmp_path / "results", activations=("gelu", "relu"))
    shipped = tmp_path / "shipped"
    write_report(store.root, out_dir=shipped)
    (store.records_dir / "burgers__relu__seed99.json").unlink()
    write_report(store.root, out_dir=shipped)
    assert sorted(p.name for p in (shipped / "records").iterdir()) == sorted(
        p.name for p in store.records_dir.iterdir())


def test_self_contained_leaves_records_without_run_files_unchanged(tmp_path):
    record = {"run_id": "a", "status": "finished", "metrics": {"checkpoint": "runs/a/missing.ckpt",
                                                                "dynamics_csv": "runs/a/missing.csv"},
              "spec": {"values": {"activation": "rational"}}}
    assert self_contained(record, tmp_path) == record


def test_report_command_ships_records(tmp_path):
    store = make_results(tmp_path / "results", activations=("gelu", "relu"))
    out = tmp_path / "out"
    assert main(["report", str(store.root), "--out", str(out)]) == 0
    assert len(list((out / "records").glob("*.json"))) == len(list(store.records_dir.glob("*.json")))
    assert main(["report", str(out), "--baseline", "relu"]) == 0
    summary = json.loads((out / "report" / "summary.json").read_text())
    assert summary["baseline"] == "relu" and summary["settings"]["task=burgers"]["gelu"]["ratio"] < 1
