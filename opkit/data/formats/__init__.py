"""Readers: one ``DataFile`` view over opkit, PDEBench, FNO ``.mat`` (v5 and v7.3) and The Well files.

Every reader maps its file onto the same picture: named fields whose per-sample axes are
named (``"t"``, ``"x"``, ``"y"``, ``"component"``), coordinate arrays, boundary conditions
and attributes. Field names are unified where the meaning is clear, so that the Dataset
infers the task the same way for every source:

=====================  ===============================================================
source                 fields (per-sample dims)
=====================  ===============================================================
opkit                  as written (Darcy ``coefficient``/``solution`` (x, y); Burgers
                       ``initial`` (x), ``solution`` (t, x); NS ``vorticity`` (t, x, y))
PDEBench 1D Burgers    ``tensor`` (N, T, X) -> ``solution`` (t, x); ``initial`` = solution
                       at t=0. ``t-coordinate`` holds T+1 values: the first T are kept.
                       Viscosity convention nu/pi (recorded in the attributes). The PDE
                       (burgers, advection, reaction_diffusion) comes from the file name.
PDEBench 2D Darcy      ``nu`` (N, X, Y) -> ``coefficient``; ``tensor`` (N, 1, X, Y) ->
                       ``solution`` (x, y)
PDEBench 2D incomp NS  ``velocity`` (N, T, X, Y, 2) -> ``velocity`` (t, x, y, component);
                       ``particles`` (N, T, X, Y, 1) -> ``particles`` (t, x, y);
                       ``force`` (N, X, Y, 2) -> ``force`` (x, y, component); ``t`` (N, T)
FNO Burgers (.mat)     ``a`` (N, X) -> ``initial``; ``u`` (N, X) -> ``solution`` (x)
FNO Darcy (.mat)       ``coeff`` (N, X, Y) -> ``coefficient``; ``sol`` -> ``solution``
FNO NS (.mat)          ``a`` (N, X, Y) -> ``initial``; ``u`` (N, X, Y, T) ->
                       ``vorticity`` (t, x, y); ``t`` (1, T)
The Well               ``t0_fields/*`` (N, T, *spatial); ``t1_fields/*`` with a trailing
                       component axis; ``dimensions/{time, x, ...}``
=====================  ===============================================================

MATLAB v7.3 files are HDF5 files written in column-major order, so h5py sees every array
with its axes reversed: ``u`` of MATLAB shape (N, X, Y, T) is stored as (T, Y, X, N).
Reads are lazy (h5py datasets are sliced per sample); MATLAB v5 files are loaded whole.
In a v7.3 file the sample axis varies fastest on disk, so reading one sample touches the
whole array: for training on a large one, convert it once (``opkit convert``).
"""

from __future__ import annotations

from pathlib import Path

import h5py

from opkit.data import schema
from opkit.data.formats.datafile import DataFile, FieldInfo
from opkit.data.formats.fno_mat import read_fno
from opkit.data.formats.opkit_format import read_opkit
from opkit.data.formats.pdebench import read_pdebench, read_pdebench_ns
from opkit.data.formats.the_well import read_the_well
from opkit.data.schema import decode
from opkit.errors import DataError

__all__ = ["DataFile", "FieldInfo", "open_dataset_file"]

MATLAB_V5_MAGIC = b"MATLAB 5.0 MAT-file"
# MATLAB v7.3 writes this text at the start of a 512-byte user block in front of the HDF5 data.
MATLAB_V73_MAGIC = b"MATLAB 7.3 MAT-file"
UNDERSTOOD_LAYOUTS = ("an opkit file (attribute format='opkit'), PDEBench ('tensor' or 'velocity'), FNO .mat "
                      "(MATLAB v5, or v7.3 with its MATLAB header: 'a'/'u' or 'coeff'/'sol') or The Well "
                      "('t0_fields', 'dimensions')")


def open_dataset_file(path, allow_incomplete: bool = False) -> DataFile:
    """Open ``path``, recognising its format from its content; ``DataError`` if it is none of ours.

    Formats: ``opkit``, ``pdebench`` (1D Burgers, 2D Darcy, 2D incompressible NS),
    ``fno-mat-v5`` and ``fno-mat-v7.3`` (Burgers, Darcy, NS), ``the-well``.
    ``allow_incomplete`` opens an unfinished opkit ``.partial`` file (for ``opkit inspect``).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found; expected an opkit, PDEBench, FNO .mat or The Well file "
                              "(generate one with `opkit generate`)")
    if path.is_dir():
        raise DataError(path, "is a directory; expected a data file")
    with open(path, "rb") as stream:
        head = stream.read(1024)
    if head.startswith(MATLAB_V5_MAGIC):
        return _open_matlab_v5(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        kind = "truncated or corrupt HDF5 file" if h5py.is_hdf5(path) else "not an HDF5 or MATLAB file"
        raise DataError(path, f"{kind} ({error.__class__.__name__}); expected an opkit, PDEBench, "
                              "FNO .mat or The Well file") from None
    try:
        return _open_hdf5(path, handle, allow_incomplete)
    except Exception:
        handle.close()
        raise


def _is_matlab_v73(path: Path, handle: h5py.File) -> bool:
    """MATLAB's own markers: the header text in the user block, or ``MATLAB_class`` attributes."""
    if handle.userblock_size >= len(MATLAB_V73_MAGIC):
        with open(path, "rb") as stream:
            if stream.read(len(MATLAB_V73_MAGIC)) == MATLAB_V73_MAGIC:
                return True
    return any("MATLAB_class" in item.attrs for item in handle.values())


def _open_hdf5(path: Path, handle: h5py.File, allow_incomplete: bool = False) -> DataFile:
    keys = set(handle.keys())
    if decode(handle.attrs.get("format", "")) == schema.FORMAT_NAME:
        return read_opkit(path, handle, allow_incomplete)
    if schema.SCALAR_GROUP in keys and schema.DIMENSIONS_GROUP in keys:
        return read_the_well(path, handle)
    if "tensor" in keys:
        return read_pdebench(path, handle)
    if "velocity" in keys and "t" in keys:
        return read_pdebench_ns(path, handle)
    if keys & {"a", "u", "coeff", "sol"}:
        # Without MATLAB's markers the arrays are not known to be column-major: reading them
        # reversed would silently swap samples and grid points.
        if not _is_matlab_v73(path, handle):
            raise DataError(path, f"HDF5 file with FNO names {sorted(keys & {'a', 'u', 'coeff', 'sol'})} but "
                                  "no MATLAB v7.3 header or MATLAB_class attributes, so its axis order is "
                                  f"unknown; expected {UNDERSTOOD_LAYOUTS}")
        return read_fno(path, handle, handle, matlab_reversed=True, format="fno-mat-v7.3")
    raise DataError(path, f"unknown format (top-level entries {sorted(keys)}); expected {UNDERSTOOD_LAYOUTS}")


def _open_matlab_v5(path: Path) -> DataFile:
    import scipy.io

    try:
        contents = scipy.io.loadmat(str(path))
    except Exception as error:  # scipy raises several types for a damaged file
        raise DataError(path, f"truncated or corrupt MATLAB v5 file ({error}); expected a readable .mat file") \
            from None
    arrays = {key: value for key, value in contents.items() if not key.startswith("__")}
    return read_fno(path, arrays, None, matlab_reversed=False, format="fno-mat-v5")
