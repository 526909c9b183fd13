"""HDF5 schema, writer, readers, Dataset, DataModule, normalisers, `generate`/`convert`/`inspect`.

The names below are imported on first use, so that ``import opkit.data`` (and ``opkit --help``)
does not pull in Lightning.
"""

from importlib import import_module

_EXPORTS = {
    "open_dataset_file": "opkit.data.formats",
    "DataFile": "opkit.data.formats",
    "PDEDataset": "opkit.data.dataset",
    "PDEDataModule": "opkit.data.datamodule",
    "split_indices": "opkit.data.datamodule",
    "ChannelNormalizer": "opkit.data.normalize",
    "generate_dataset": "opkit.data.generate",
    "generate_preset": "opkit.data.generate",
    "convert_file": "opkit.data.writer",
    "write_arrays": "opkit.data.arrays",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'opkit.data' has no attribute {name!r}")
