"""Sweep files: parse and validate the YAML into a :class:`~opkit.ablation.spec.Sweep`.

A sweep file names a base training config (the same YAML ``train.py`` reads), the
overrides every run shares (equal budgets), the seed set and the axes of the grid::

    name: activations_burgers_fno
    base_config: ../burgers/fno.yaml        # relative to this file
    overrides: {trainer.max_epochs: 20}     # dotted keys into the training config
    seeds: [0, 1, 2, 3, 4, 5]
    baseline: gelu                          # the activation label others are compared to
    axes:
      task: [{label: burgers_small, overrides: {data.preset: small}}]
      activation:
        - linear                            # controls (opkit/ablation/controls.py): linear,
        - lstsq                             # relu_nobias, affine and the closed-form lstsq
        - relu_nobias                       # imply biases, coordinates, normalisation
        - gelu
      activation_fraction: [1.0]            # partial linearisation (opkit/activations/partial.py)
      model.width: [32, 64]                 # any dotted key is an axis too
    lr_sweep:                               # optional; selects on validation, never test
      values: [1.0e-3, 3.0e-3]
      overrides: {trainer.max_epochs: 3}

Each axis value is a scalar (its label is its text) or a mapping with ``label``, an
optional ``value``, optional extra ``overrides`` and an optional ``only: {axis: [labels]}``
that combines this point with those labels of another axis alone (a subset of activations
for an expensive operator, say). An activation value naming a control
(``opkit.ablation.controls``) adds the overrides the control implies for the run's
operator; the entry's own ``overrides`` come after them. The grid is the product of all
axes and the seeds; every activation gets the same seeds, so runs are paired.

Run ids are stable and readable: the axis labels in axis order plus the seed, e.g.
``burgers_small__fno__gelu__seed3``; the same sweep file always gives the same ids,
which is what makes a sweep resumable (:mod:`opkit.ablation.spec` expands the grid).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from opkit.ablation.controls import CONTROLS
from opkit.ablation.spec import DEFAULT_ENTRY, DEFAULT_SELECT_ON, AxisValue, LrSweep, Sweep, slug, split_entry
from opkit.errors import ConfigError

DEFAULT_METRIC = "test/relative_l2"
DEFAULT_DYNAMICS = {"every_n_epochs": 1, "n_samples": 16}
DEFAULT_BASELINE = "gelu"
TOP_LEVEL_KEYS = {
    "name", "description", "base_config", "overrides", "seeds", "baseline", "metric",
    "axes", "lr_sweep", "entry", "probes", "slurm",
}


def _parse_axis_value(where: str, raw) -> AxisValue:
    if isinstance(raw, dict):
        unknown = set(raw) - {"label", "value", "overrides", "only"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; expected label, value, overrides, only")
        if "label" not in raw and "value" not in raw:
            raise ConfigError(f"{where}: a mapping needs 'label' or 'value'")
        value = raw.get("value", raw.get("label"))
        overrides = raw.get("overrides") or {}
        if not isinstance(overrides, dict):
            raise ConfigError(f"{where}.overrides: expected a mapping of dotted keys, got {type(overrides).__name__}")
        only = raw.get("only") or {}
        if not isinstance(only, dict) or not all(isinstance(v, list) and v for v in only.values()):
            raise ConfigError(f"{where}.only: expected a mapping of axis name -> non-empty list of labels, got {only!r}")
        return AxisValue(str(raw.get("label", value)), value, dict(overrides),
                         {str(axis): [str(label) for label in labels] for axis, labels in only.items()})
    if isinstance(raw, (list, tuple)):
        raise ConfigError(f"{where}: expected a scalar or a mapping with label/value/overrides, got a list")
    return AxisValue(str(raw), raw)


def parse_sweep(data: dict, path: Path | None = None) -> Sweep:
    """Validate a sweep mapping (as loaded from YAML) and return a :class:`Sweep`."""
    where = str(path) if path else "sweep"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level, got {type(data).__name__}")
    unknown = set(data) - TOP_LEVEL_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; valid keys: {sorted(TOP_LEVEL_KEYS)}")

    name = data.get("name") or (path.stem if path else None)
    if not name:
        raise ConfigError(f"{where}: 'name' is required")

    seeds = data.get("seeds", [0, 1, 2, 3, 4, 5])
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = list(range(seeds))
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ConfigError(f"{where}: 'seeds' must be a count or a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where}: 'seeds' has duplicates: {seeds}")

    overrides = data.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise ConfigError(f"{where}: 'overrides' must be a mapping of dotted keys, got {type(overrides).__name__}")

    raw_axes = data.get("axes")
    if not isinstance(raw_axes, dict) or not raw_axes:
        raise ConfigError(f"{where}: 'axes' must be a non-empty mapping of axis name -> list of values")
    axes: dict[str, list[AxisValue]] = {}
    for axis, values in raw_axes.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: axes.{axis}: expected a non-empty list, got {values!r}")
        parsed = [_parse_axis_value(f"{where}: axes.{axis}[{i}]", v) for i, v in enumerate(values)]
        labels = [v.label for v in parsed]
        if len(set(labels)) != len(labels):
            raise ConfigError(f"{where}: axes.{axis}: labels must be unique, got {labels}")
        axes[str(axis)] = parsed
    for axis, points in axes.items():  # labels name the run ids (and their files): one label, one id
        seen: dict[str, str] = {}
        for point in points:
            part = slug(point.label).lower()  # lower: a case-insensitive file system would merge them too
            if part in seen:
                raise ConfigError(f"{where}: axes.{axis}: labels {seen[part]!r} and {point.label!r} give the same run "
                                  f"id part {slug(point.label)!r}; rename one")
            seen[part] = point.label
    for axis, points in axes.items():  # `only` restricts a point to some labels of another axis
        for point in points:
            for other, labels in point.only.items():
                if other == axis or other not in axes:
                    raise ConfigError(f"{where}: axes.{axis}: {point.label!r}: only.{other}: expected another axis "
                                      f"of this sweep ({', '.join(a for a in axes if a != axis)})")
                missing = [label for label in labels if label not in [v.label for v in axes[other]]]
                if missing:
                    raise ConfigError(f"{where}: axes.{axis}: {point.label!r}: only.{other}: {missing} are not "
                                      f"labels of axis {other}: {[v.label for v in axes[other]]}")
    for value in axes.get("activation", []):
        if value.label in CONTROLS and value.value != value.label:
            raise ConfigError(
                f"{where}: axes.activation: label {value.label!r} names a control but its value is {value.value!r}; "
                f"write '- {value.label}' (the control implies biases, coordinates and normalisation) or choose "
                f"another label")
    for value in axes.get("activation_fraction", []):
        if not isinstance(value.value, (int, float)) or not 0.0 <= float(value.value) <= 1.0:
            raise ConfigError(f"{where}: axes.activation_fraction: expected numbers in [0, 1], got {value.value!r}")

    baseline = str(data.get("baseline", DEFAULT_BASELINE))
    if "activation" in axes and baseline not in [v.label for v in axes["activation"]]:
        raise ConfigError(
            f"{where}: baseline {baseline!r} is not an activation label; "
            f"labels: {[v.label for v in axes['activation']]}"
        )

    lr_sweep = None
    if data.get("lr_sweep") is not None:
        raw = data["lr_sweep"]
        if not isinstance(raw, dict) or not isinstance(raw.get("values"), list) or not raw["values"]:
            raise ConfigError(f"{where}: lr_sweep: expected a mapping with a non-empty 'values' list")
        try:
            values = tuple(float(v) for v in raw["values"])
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: lr_sweep.values: expected numbers, got {raw['values']!r}") from None
        if any(v <= 0 for v in values):
            raise ConfigError(f"{where}: lr_sweep.values: learning rates must be positive, got {list(values)}")
        if len({f"{v:g}" for v in values}) != len(values):
            raise ConfigError(f"{where}: lr_sweep.values: {list(values)} has values that print alike ({{:g}}) and "
                              "would share a run id; give distinct learning rates")
        select_on = str(raw.get("select_on", DEFAULT_SELECT_ON))
        if select_on.startswith("test"):
            raise ConfigError(f"{where}: lr_sweep.select_on: must be a validation metric, never test, got {select_on!r}")
        lr_sweep = LrSweep(values, dict(raw.get("overrides") or {}), select_on)

    entry = str(data.get("entry", DEFAULT_ENTRY))
    target, function = split_entry(entry, f"{where}: entry")
    if target.endswith(".py"):  # a file path: relative to the sweep file, else to the working directory
        candidates = [Path(target)] if Path(target).is_absolute() else (
            ([path.parent / target] if path is not None else []) + [Path.cwd() / target])
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise ConfigError(f"{where}: entry: file {target!r} not found")
        entry = f"{found.resolve()}:{function}"

    probes = data.get("probes", {})
    if probes is False or probes is None:
        probes = None
    elif not isinstance(probes, dict) or set(probes) - {"init_hints", "dynamics"}:
        raise ConfigError(f"{where}: probes: expected false or a mapping with init_hints (bool) and dynamics "
                          f"(false or SpectralDynamics arguments), got {probes!r}")
    else:
        dynamics = probes.get("dynamics", DEFAULT_DYNAMICS)
        if dynamics is True:
            dynamics = DEFAULT_DYNAMICS
        if dynamics not in (False, None) and not isinstance(dynamics, dict):
            raise ConfigError(f"{where}: probes.dynamics: expected false or a mapping, got {dynamics!r}")
        probes = {"init_hints": bool(probes.get("init_hints", True)), "dynamics": dynamics or None}
    if not entry.startswith("opkit.") and data.get("probes") is None:
        probes = None  # a custom training function has no Lightning trainer to attach probes to

    base_config = data.get("base_config")
    if base_config is not None:
        base_path = Path(base_config)
        if not base_path.is_absolute() and path is not None:
            candidate = (path.parent / base_path).resolve()
            base_path = candidate if candidate.exists() else base_path
        if not base_path.exists():
            raise ConfigError(f"{where}: base_config: file {base_config!r} not found")
        base_config = str(base_path)

    slurm = data.get("slurm") or {}
    if not isinstance(slurm, dict) or not all(isinstance(key, str) for key in slurm):
        raise ConfigError(f"{where}: slurm: expected a mapping of submitit parameters (slurm_partition, "
                          f"timeout_min, gpus_per_node, ...), got {slurm!r}")

    return Sweep(
        name=str(name), path=path, base_config=base_config, overrides=dict(overrides), slurm=dict(slurm),
        seeds=tuple(seeds), axes=axes, baseline=baseline,
        metric=str(data.get("metric", DEFAULT_METRIC)), entry=entry, lr_sweep=lr_sweep, probes=probes,
        description=str(data.get("description", "")),
    )


def load_sweep(path) -> Sweep:
    """Read and validate a sweep YAML file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: sweep file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    return parse_sweep(data, path)
