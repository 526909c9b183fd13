"""``PDEDataset``: ``(input, target)`` channels-first tensors from any supported data file.

Tasks
-----
``static``   one map per sample. Darcy: ``coefficient (x, y) -> solution (x, y)``;
             Burgers: ``initial (x) -> solution`` at ``time_index`` (the last frame by default).
``step``     time stepping over every trajectory: frames ``[s, s + history)`` of the fields
             -> frame ``s + history`` (with ``future = k``: frames ``[s + history, s + history + k)``,
             the targets of pushforward training), for every start ``s``; item ``i`` is
             trajectory ``indices[i // windows]``, start ``i % windows``.
``rollout``  one item per trajectory: the first ``history`` frames -> every later frame.
``auto``     ``static`` when the file names its ``input_fields`` and ``target_fields``
             (files written by ``write_arrays``), or has ``coefficient`` or ``initial``
             beside a ``solution``; ``step`` when it has fields with a time axis.

Channels are ordered field by field, then frame by frame, then vector component; optional
coordinate channels (one per spatial axis, from the file's coordinate arrays) come last.

The h5py handle is opened lazily in the process that reads (each DataLoader worker opens
its own), never shared across a fork.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from opkit.data.formats import DataFile, FieldInfo, open_dataset_file
from opkit.data.schema import COMPONENT_AXIS, TIME_AXIS
from opkit.errors import ConfigError, DataError

TASKS = ("auto", "static", "step", "rollout")


def subsampling_strides(path, spatial_dims: Sequence[str], shape: Sequence[int],
                        resolution=None, stride=None) -> tuple[int, ...]:
    """Stride per spatial axis that takes a grid of ``shape`` to ``resolution`` (or ``stride``).

    A target resolution ``r`` of an axis with ``n`` points is reached by every ``n / r``-th
    point (periodic grids: ``n`` divisible by ``r``) or every ``(n - 1) / (r - 1)``-th point
    (grids that include both ends, such as FNO's 421-point Darcy: 421 -> 211, 141, 106, 85, ...).
    """
    if resolution is not None and stride is not None:
        raise ConfigError("give either resolution or stride, not both")
    n_dims = len(shape)

    def per_axis(value, name):
        values = (value,) * n_dims if isinstance(value, (int, np.integer)) else tuple(value)
        if len(values) != n_dims or not all(isinstance(v, (int, np.integer)) and v > 0 for v in values):
            raise ConfigError(f"{name}={value!r}; expected a positive integer or {n_dims} of them "
                              f"(spatial axes {tuple(spatial_dims)})")
        return tuple(int(v) for v in values)

    if stride is not None:
        return per_axis(stride, "stride")
    if resolution is None:
        return (1,) * n_dims
    strides = []
    for dim, n, r in zip(spatial_dims, shape, per_axis(resolution, "resolution")):
        if r > n:
            raise DataError(path, f"resolution {r} on axis {dim!r} is finer than the file's {n} points; "
                                  "expected at most the stored resolution")
        if n % r == 0:
            strides.append(n // r)
        elif r > 1 and (n - 1) % (r - 1) == 0:
            strides.append((n - 1) // (r - 1))
        else:
            raise DataError(path, f"resolution {r} on axis {dim!r} does not subsample {n} points evenly; "
                                  f"expected a divisor of {n} or one more than a divisor of {n - 1}")
    return tuple(strides)


def _name_list(value) -> list[str]:
    """A file attribute holding field names (one string or a list) as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


class PDEDataset(Dataset):
    """``(input (C_in, *spatial), target (C_out, *spatial))`` float32 pairs from one data file.

    Args:
        path: an opkit, PDEBench, FNO ``.mat`` or The Well file.
        task: ``"auto"``, ``"static"``, ``"step"`` or ``"rollout"`` (see the module docstring).
        input_fields: field names stacked as input channels (default from the task).
        target_field: field name(s) of the target (default from the task).
        time_index: static task: the target frame when the target has a time axis.
        history: step/rollout tasks: number of input frames.
        future: step task: number of target frames (default 1; ``out_channels`` stays one frame's,
            the model's output, and a longer target is unrolled: ``OperatorModule``'s pushforward).
        indices: trajectories (samples) to use, e.g. one split; default all.
        resolution / stride: spatial subsampling, per axis or one for all.
        coordinates: append one coordinate channel per spatial axis to the input.
        cache: keep every trajectory read in memory (per process).
    """

    def __init__(self, path, task: str = "auto", input_fields: Sequence[str] | None = None,
                 target_field: str | Sequence[str] | None = None, time_index: int = -1, history: int = 1,
                 indices: Sequence[int] | None = None, resolution=None, stride=None, coordinates: bool = False,
                 cache: bool = False, future: int = 1):
        if task not in TASKS:
            raise ConfigError(f"task {task!r}; expected one of {list(TASKS)}")
        if not isinstance(history, int) or history < 1:
            raise ConfigError(f"history={history!r}; expected a positive integer")
        if not isinstance(future, int) or future < 1:
            raise ConfigError(f"future={future!r}; expected a positive integer")
        self.path = Path(path)
        with open_dataset_file(self.path) as datafile:
            self.format = datafile.format
            self.n_samples = datafile.n_samples
            self.task, self.input_fields, self.target_fields = self._resolve_task(
                datafile, task, input_fields, target_field)
            fields = {name: datafile.field(name) for name in {*self.input_fields, *self.target_fields}}
            self._check_fields(fields, history)
            reference = fields[self.target_fields[0]]
            self.spatial_dims = reference.spatial_dims
            self.native_shape = tuple(n for d, n in zip(reference.dims, reference.shape) if d in self.spatial_dims)
            self.strides = subsampling_strides(self.path, self.spatial_dims, self.native_shape, resolution, stride)
            self.spatial_shape = tuple(len(range(0, n, s)) for n, s in zip(self.native_shape, self.strides))
            self._components = {name: (info.shape[-1] if info.is_vector else 1) for name, info in fields.items()}
            self._vector = {name: info.is_vector for name, info in fields.items()}
            self._field_has_time = {name: info.has_time for name, info in fields.items()}
            self.n_times = next((info.shape[info.dims.index(TIME_AXIS)] for info in fields.values()
                                 if info.has_time), 1)
            self._grid = self._coordinate_grid(datafile) if coordinates else None
        self.history = history
        self.future = future if self.task == "step" else 1
        if future > 1 and self.task != "step":
            raise ConfigError(f"future={future} needs the step task; {self.path} is read as task {self.task!r}")
        if future > 1 and sum(self._components[n] for n in self.target_fields) > 1:
            raise ConfigError(f"future={future} needs one scalar target field (frames are unrolled one at a "
                              f"time); {self.path} targets {self.target_fields}")
        self.coordinates = coordinates
        self.cache = cache
        self.indices = self._check_indices(indices)
        if self.task == "static":
            if not -self.n_times <= time_index < self.n_times:
                raise ConfigError(f"time_index={time_index}; expected in [{-self.n_times}, {self.n_times})")
            self.time_index = time_index % self.n_times
        else:
            if self.n_times < history + self.future:
                raise DataError(self.path, f"{self.n_times} frames; expected at least history + future = "
                                           f"{history + self.future}", field=self.target_fields[0])
            self.time_index = None
        self.windows = self.n_times - history - self.future + 1 if self.task == "step" else 1
        self._file: DataFile | None = None
        self._pid: int | None = None
        self._memory: dict[int, dict[str, np.ndarray]] = {}

    # ------------------------------------------------------------------ set-up helpers

    def _resolve_task(self, datafile: DataFile, task, input_fields, target_field):
        names = datafile.fields
        targets = [target_field] if isinstance(target_field, str) else list(target_field or [])
        inputs = list(input_fields or [])
        declared_inputs, declared_targets = (_name_list(datafile.attrs.get(key))
                                             for key in ("input_fields", "target_fields"))
        if declared_inputs and declared_targets and task in ("auto", "static"):
            # Written by write_arrays / `opkit convert --input --target`: the file says which is which.
            task = "static"
            inputs = inputs or declared_inputs
            targets = targets or declared_targets
        if task == "auto":
            if "solution" in names and ("coefficient" in names or "initial" in names):
                task = "static"
            elif any(info.has_time for info in names.values()):
                task = "step"
            else:
                raise DataError(datafile.path, f"cannot infer the task from fields {sorted(names)}; expected "
                                               "'coefficient' or 'initial' beside 'solution', or a field with "
                                               "a time axis (or pass task= and input_fields=)")
        if task == "static":
            if not inputs:
                inputs = ["coefficient"] if "coefficient" in names else ["initial"]
            targets = targets or ["solution"]
        else:
            timed = sorted(name for name, info in names.items() if info.has_time)  # same order for every format
            if not inputs:
                inputs = ["vorticity"] if "vorticity" in names else timed
            targets = targets or list(inputs)
            for name in {*inputs, *targets}:
                if not datafile.field(name).has_time:
                    raise DataError(datafile.path, f"has no time axis (dims {datafile.field(name).dims}); "
                                                   f"expected dims with 't' for the {task} task", field=name)
            if set(inputs) != set(targets):
                raise ConfigError(f"{task} task: input fields {inputs} and target fields {targets}; expected "
                                  "the same fields (the target is their next frame)")
        for name in {*inputs, *targets}:
            datafile.field(name)  # DataError naming the missing field
        return task, inputs, targets

    def _check_fields(self, fields: dict[str, FieldInfo], history: int) -> None:
        shapes = {name: tuple(n for d, n in zip(info.dims, info.shape) if d in info.spatial_dims)
                  for name, info in fields.items()}
        dims = {name: info.spatial_dims for name, info in fields.items()}
        first = self.target_fields[0]
        for name in fields:
            if dims[name] != dims[first] or shapes[name] != shapes[first]:
                raise DataError(self.path, f"spatial axes {dims[name]} of shape {shapes[name]}; expected "
                                           f"{dims[first]} of shape {shapes[first]} like {first!r}", field=name)
        for name, info in fields.items():
            if info.has_time and info.dims[0] != TIME_AXIS:
                raise DataError(self.path, f"dims {info.dims}; expected the time axis 't' first", field=name)
        times = {info.shape[info.dims.index(TIME_AXIS)] for info in fields.values() if info.has_time}
        if len(times) > 1:
            raise DataError(self.path, f"fields have different numbers of frames {sorted(times)}; expected one")

    def _check_indices(self, indices) -> np.ndarray:
        if indices is None:
            return np.arange(self.n_samples)
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if indices.size and (indices.min() < 0 or indices.max() >= self.n_samples):
            raise ConfigError(f"{self.path}: sample indices must lie in [0, {self.n_samples}); got "
                              f"[{indices.min()}, {indices.max()}]")
        return indices

    def _coordinate_grid(self, datafile: DataFile) -> np.ndarray:
        """``(spatial_dims, *spatial_shape)`` coordinate channels on the subsampled grid."""
        axes = []
        for dim, n, step in zip(self.spatial_dims, self.native_shape, self.strides):
            values = np.asarray(datafile.coords.get(dim, ()), dtype=np.float64).reshape(-1)
            if values.shape[0] != n:
                values = np.linspace(0.0, 1.0, n)
            axes.append(values[::step])
        return np.stack(np.meshgrid(*axes, indexing="ij")).astype(np.float32)

    # ------------------------------------------------------------------ reading

    def _datafile(self) -> DataFile:
        if self._file is None or self._pid != os.getpid():
            self._file = open_dataset_file(self.path)  # a handle per process: never shared across fork
            self._pid = os.getpid()
        return self._file

    def close(self) -> None:
        """Close this process's file handle (it reopens on the next read)."""
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_file"] = None
        state["_pid"] = None
        return state

    def _spatial_slices(self) -> dict[str, slice]:
        # Axes read whole are left out: h5py reads a plain index faster than a ``::1`` hyperslab.
        return {dim: slice(None, None, step) for dim, step in zip(self.spatial_dims, self.strides) if step > 1}

    def _read(self, name: str, sample: int, frames: slice | None) -> np.ndarray:
        """One field of one sample, subsampled, as ``(frames?, *spatial, components?)``."""
        if self.cache:
            stored = self._memory.setdefault(sample, {})
            if name not in stored:
                stored[name] = self._datafile().read(name, sample, self._spatial_slices())
            data = stored[name]
            return data[frames] if frames is not None and self._field_has_time[name] else data
        slices = self._spatial_slices()
        if frames is not None and self._field_has_time[name]:
            slices[TIME_AXIS] = frames
        return self._datafile().read(name, sample, slices)

    def _channels(self, name: str, data: np.ndarray, has_frames: bool) -> np.ndarray:
        """``(frames?, *spatial, components?)`` -> ``(channels, *spatial)``."""
        if self._vector[name]:
            data = np.moveaxis(data, -1, 1 if has_frames else 0)
        return data.reshape(-1, *self.spatial_shape)

    def __len__(self) -> int:
        return len(self.indices) * self.windows

    def __getitem__(self, item: int):
        if not -len(self) <= item < len(self):
            raise IndexError(f"item {item} out of range for {len(self)} items")
        item %= len(self)
        sample = int(self.indices[item // self.windows])
        if self.task == "static":
            time = slice(self.time_index, self.time_index + 1)
            inputs = [self._channels(n, self._read(n, sample, slice(0, 1)), self._field_has_time[n])
                      for n in self.input_fields]
            targets = [self._channels(n, self._read(n, sample, time), self._field_has_time[n])
                       for n in self.target_fields]
        else:
            start = item % self.windows
            stop = start + self.history
            target_frames = slice(stop, stop + self.future) if self.task == "step" else slice(stop, None)
            inputs = [self._channels(n, self._read(n, sample, slice(start, stop)), True) for n in self.input_fields]
            targets = [self._channels(n, self._read(n, sample, target_frames), True) for n in self.target_fields]
        if self._grid is not None:
            inputs.append(self._grid)
        return (torch.from_numpy(np.ascontiguousarray(np.concatenate(inputs), dtype=np.float32)),
                torch.from_numpy(np.ascontiguousarray(np.concatenate(targets), dtype=np.float32)))

    # ------------------------------------------------------------------ shape facts

    def _frames_per_item(self, target: bool) -> int:
        if self.task == "static":
            return 1
        if not target:
            return self.history
        return 1 if self.task == "step" else self.n_times - self.history

    @property
    def in_channels(self) -> int:
        frames = self._frames_per_item(target=False)
        grid = len(self.spatial_dims) if self._grid is not None else 0
        return sum(frames * self._components[n] for n in self.input_fields) + grid

    @property
    def out_channels(self) -> int:
        """Channels the model predicts: one frame for the step task (``future`` frames are unrolled)."""
        frames = self._frames_per_item(target=True)
        return sum(frames * self._components[n] for n in self.target_fields)

    def __repr__(self) -> str:
        return (f"PDEDataset({str(self.path)!r}, task={self.task!r}, items={len(self)}, "
                f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"spatial_shape={self.spatial_shape})")
