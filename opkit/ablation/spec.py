"""Sweep files: parse and validate the YAML, expand the grid into run specs.

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
      activation_fraction: [1.0]            # partial linearisation (see partial.py)
      model.init_args.width: [32, 64]       # any dotted key is an axis too
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
which is what makes a sweep resumable.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from opkit.ablation.controls import CONTROLS, control
from opkit.errors import ConfigError

DEFAULT_ENTRY = "opkit.training.run:run_experiment"
DEFAULT_METRIC = "test/relative_l2"
DEFAULT_SELECT_ON = "val/relative_l2"
DEFAULT_DYNAMICS = {"every_n_epochs": 1, "n_samples": 16}
DEFAULT_BASELINE = "gelu"

# Axes with a meaning beyond "set this config key"; everything else is a dotted key.
# Where the named axes land in the training config (``model.init_args.activation`` etc.)
# is decided by the per-run entry point, see runner.axis_overrides.
NAMED_AXES = ("task", "operator", "activation", "activation_fraction")
TOP_LEVEL_KEYS = {
    "name", "description", "base_config", "overrides", "seeds", "baseline", "metric",
    "axes", "lr_sweep", "entry", "probes", "slurm",
}


@dataclass(frozen=True)
class AxisValue:
    """One point on one axis: a label for tables, a value, and extra config overrides."""

    label: str
    value: object
    overrides: dict = field(default_factory=dict)
    only: dict = field(default_factory=dict)  # other axis -> the labels this point is combined with


@dataclass(frozen=True)
class LrSweep:
    values: tuple[float, ...]
    overrides: dict
    select_on: str = DEFAULT_SELECT_ON


@dataclass
class Sweep:
    name: str
    path: Path | None
    base_config: str | None
    overrides: dict
    seeds: tuple[int, ...]
    axes: dict[str, list[AxisValue]]
    baseline: str
    metric: str
    entry: str
    lr_sweep: LrSweep | None
    probes: dict | None = None
    description: str = ""
    slurm: dict = field(default_factory=dict)  # submitit parameters, used by `opkit ablate --slurm`


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs; JSON-serialisable so that workers and SLURM jobs get it as is."""

    run_id: str
    sweep: str
    phase: str  # "main" or "lr_sweep"
    factors: dict  # axis -> label, in axis order
    values: dict  # axis -> value
    seed: int
    base_config: str | None
    overrides: dict  # dotted key -> value (shared + per-axis-value), without the named axes
    entry: str
    learning_rate: float | None = None
    probes: dict | None = None  # {"init_hints": bool, "dynamics": SpectralDynamics arguments or None}

    @property
    def activation(self):
        return self.values.get("activation")

    @property
    def activation_fraction(self) -> float:
        return float(self.values.get("activation_fraction", 1.0))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunSpec":
        return cls(**data)

    def fingerprint(self) -> str:
        """Hash of what determines the run's result (not its id): a changed sweep file is noticed."""
        content = {key: value for key, value in self.to_dict().items() if key not in ("run_id",)}
        return hashlib.sha1(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", str(text)).strip("-") or "x"


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
            slug = _slug(point.label).lower()  # lower: a case-insensitive file system would merge them too
            if slug in seen:
                raise ConfigError(f"{where}: axes.{axis}: labels {seen[slug]!r} and {point.label!r} give the same run "
                                  f"id part {_slug(point.label)!r}; rename one")
            seen[slug] = point.label
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
    target, _, function = entry.rpartition(":")
    if not target or not function:
        raise ConfigError(f"{where}: entry: expected 'module.path:function' or 'file.py:function', got {entry!r}")
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


def _combine(sweep: Sweep, combination: tuple[tuple[str, AxisValue], ...]) -> tuple[dict, dict, dict]:
    factors, values, overrides = {}, {}, copy.deepcopy(sweep.overrides)
    chosen = None
    for axis, point in combination:
        factors[axis] = point.label
        values[axis] = point.value
        if axis not in NAMED_AXES:
            overrides[axis] = point.value
        if axis == "activation" and control(point.value) is not None:
            chosen = point  # applied last: the operator may come from a later axis
            continue
        overrides.update(copy.deepcopy(point.overrides))  # each run its own: no dict shared between runs
    if chosen is not None:
        implied = control(chosen.value)
        operator = values.get("operator") or overrides.get("model.model") or _base_operator(sweep.base_config)
        overrides.update(implied.overrides(operator))
        overrides.update(chosen.overrides)
        values["activation"] = implied.activation
        if implied.model is not None and "operator" in values:
            values["operator"] = implied.model  # the runner sets model.model from the operator value
    return factors, values, overrides


def _base_operator(base_config) -> str:
    """``model.model`` of the base config (``fno``, OperatorModule's default, when it names none)."""
    if not base_config:
        return "fno"
    data = yaml.safe_load(Path(base_config).read_text()) or {}
    model = data.get("model") if isinstance(data, dict) else None
    return str(model.get("model") or "fno") if isinstance(model, dict) else "fno"


def expand(sweep: Sweep) -> list[RunSpec]:
    """The main grid: every combination of axis values times every seed, in a stable order."""
    axis_points = [[(axis, point) for point in points] for axis, points in sweep.axes.items()]
    runs = []
    for combination in itertools.product(*axis_points):
        labels = {axis: point.label for axis, point in combination}
        if any(labels[other] not in allowed for _, point in combination for other, allowed in point.only.items()):
            continue  # a point restricted (`only`) to other labels of that axis
        factors, values, overrides = _combine(sweep, combination)
        for seed in sweep.seeds:
            run_id = "__".join(_slug(label) for label in factors.values()) + f"__seed{seed}"
            runs.append(RunSpec(run_id, sweep.name, "main", factors, values, seed,
                                sweep.base_config, overrides, sweep.entry, probes=sweep.probes))
    return runs


def lr_sweep_runs(sweep: Sweep) -> list[RunSpec]:
    """Short runs per grid cell (first seed only) at each learning rate of ``lr_sweep``."""
    if sweep.lr_sweep is None:
        return []
    runs = []
    for spec in expand(sweep):
        if spec.seed != sweep.seeds[0]:
            continue
        for lr in sweep.lr_sweep.values:
            cell = spec.run_id.rsplit("__seed", 1)[0]
            runs.append(RunSpec(
                f"lrsweep__{cell}__lr{lr:g}", sweep.name, "lr_sweep", spec.factors, spec.values, spec.seed,
                spec.base_config, {**spec.overrides, **sweep.lr_sweep.overrides}, spec.entry, lr, spec.probes,
            ))
    return runs


def check_runs(specs: list[RunSpec]) -> None:
    """Check every run's training config before the first run starts: one ``ConfigError`` naming the
    first key or value the training CLI rejects (unknown key, wrong type, unknown activation...).

    Only runs of the default entry (``run_experiment``) are checked; each distinct set of
    overrides is parsed once (the seeds share it). Reads no data and writes nothing.
    """
    from opkit.ablation.runner import run_overrides
    from opkit.training.run import check_experiment

    checked = set()
    for spec in specs:
        if spec.entry != DEFAULT_ENTRY:
            continue
        overrides = run_overrides(spec)
        key = json.dumps([spec.base_config, overrides], sort_keys=True, default=str)
        if key in checked:
            continue
        try:
            check_experiment(spec.base_config or {}, overrides)
        except ConfigError as error:
            raise ConfigError(f"run {spec.run_id}: {error}") from None
        checked.add(key)


def cell_key(factors: dict) -> str:
    """The grid cell of a run (its factors without the seed), as used to share a selected lr."""
    return "__".join(_slug(label) for label in factors.values())
