"""Run specs: the grid a sweep expands to, and the training overrides of each run.

A :class:`Sweep` (read from a sweep file by :mod:`opkit.ablation.sweep_file`) expands to
one :class:`RunSpec` per grid cell and seed (:func:`expand`), plus the short learning-rate
runs of ``lr_sweep`` (:func:`lr_sweep_runs`). A run spec is JSON-able, so local workers
and SLURM jobs get it as is; its :meth:`~RunSpec.fingerprint` is what makes a sweep
resumable, so nothing here may change what a spec holds. :func:`run_overrides` turns a
spec into the dotted-key overrides of the training function the spec's ``entry`` names
(:func:`load_entry`).
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import importlib.util
import itertools
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from opkit.ablation.controls import control
from opkit.errors import ConfigError

DEFAULT_ENTRY = "opkit.training.run:run_experiment"
DEFAULT_SELECT_ON = "val/relative_l2"

# Axes with a meaning beyond "set this config key"; everything else is a dotted key.
# Where the named axes land in the training config is decided by run_overrides.
NAMED_AXES = ("task", "operator", "activation", "activation_fraction")
# Where the named axes go in the training config (dotted keys, as run_experiment's overrides).
ACTIVATION_KEY = "model.activation"
OPERATOR_KEY = "model.model"
LEARNING_RATE_KEY = "model.lr"
CALLBACKS_KEY = "trainer.callbacks"
PROBE_CLASS = "opkit.ablation.callbacks.AblationProbe"
DYNAMICS_CLASS = "opkit.spectral.dynamics.SpectralDynamics"
ROLLOUT_CLASS = "opkit.ablation.rollout.RolloutProbe"


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


def slug(text: str) -> str:
    """``text`` as a run id part: runs of characters outside ``[A-Za-z0-9._=+-]`` become one ``-``."""
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", str(text)).strip("-") or "x"


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


def _base_section(base_config, section: str) -> dict:
    """The ``section`` mapping (``model``, ``data``, ``trainer``) of the base config; empty when absent."""
    if not base_config:
        return {}
    data = yaml.safe_load(Path(base_config).read_text()) or {}
    value = data.get(section) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _base_operator(base_config) -> str:
    """``model.model`` of the base config (``fno``, OperatorModule's default, when it names none)."""
    return str(_base_section(base_config, "model").get("model") or "fno")


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
            run_id = "__".join(slug(label) for label in factors.values()) + f"__seed{seed}"
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
    return "__".join(slug(label) for label in factors.values())


def run_overrides(spec: RunSpec) -> dict:
    """The overrides passed to the training function: shared + per-axis + named axes + lr + probes.

    A fraction below 1 on the ``activation_fraction`` axis passes the partial activation's
    registry name (``partial_0.5_gelu``). ``spec.probes`` adds the AblationProbe and
    SpectralDynamics callbacks to those of the base config.
    """
    overrides = dict(spec.overrides)
    activation = spec.activation
    if activation is not None:
        fraction = spec.activation_fraction
        if fraction < 1.0:
            from opkit.activations import partial_activation_name  # torch: not before a worker sets its threads

            activation = partial_activation_name(activation, fraction)
        overrides[ACTIVATION_KEY] = activation
    if spec.values.get("operator") is not None:
        overrides[OPERATOR_KEY] = spec.values["operator"]
    if spec.learning_rate is not None:
        overrides[LEARNING_RATE_KEY] = spec.learning_rate
    overrides.setdefault("trainer.enable_progress_bar", False)  # the sweep has its own progress bar
    overrides.setdefault("trainer.enable_model_summary", False)
    if spec.probes:
        callbacks = list(overrides.get(CALLBACKS_KEY) or _base_callbacks(spec.base_config))
        callbacks.append({"class_path": PROBE_CLASS, "init_args": {"init_hints": bool(spec.probes.get("init_hints", True))}})
        dynamics = spec.probes.get("dynamics")
        if dynamics:
            callbacks.append({"class_path": DYNAMICS_CLASS, "init_args": dict(dynamics)})
        if _data_task(spec) == "step":  # tested by rollout as well: error per rollout step
            callbacks.append({"class_path": ROLLOUT_CLASS})
        overrides[CALLBACKS_KEY] = callbacks
    return overrides


def _base_callbacks(base_config) -> list:
    """``trainer.callbacks`` of the base config (kept: the probes are added, not substituted)."""
    callbacks = _base_section(base_config, "trainer").get("callbacks") or []
    return list(callbacks) if isinstance(callbacks, list) else [callbacks]


def _data_task(spec: RunSpec):
    """``data.task`` of a run: its overrides', else its base config's."""
    if "data.task" in spec.overrides:
        return spec.overrides["data.task"]
    return _base_section(spec.base_config, "data").get("task")


def split_entry(entry: str, where: str = "entry") -> tuple[str, str]:
    """``(target, function)`` of ``'package.module:function'`` or ``'path/to/file.py:function'``."""
    target, _, function = str(entry).rpartition(":")
    if not target or not function:
        raise ConfigError(f"{where}: expected 'module.path:function' or 'file.py:function', got {entry!r}")
    return target, function


def load_entry(entry: str):
    """The training function an entry string names (a file path is imported once per process)."""
    target, attribute = split_entry(entry)
    if target.endswith(".py"):
        path = Path(target)
        if not path.exists():
            raise ConfigError(f"entry: file {target!r} not found")
        name = f"_opkit_entry_{abs(hash(str(path.resolve())))}"
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as error:
            raise ConfigError(f"entry: cannot import module {target!r} ({error})") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ConfigError(f"entry: {target!r} has no function {attribute!r}")
    return function
