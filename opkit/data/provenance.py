"""Is this the file a model was trained on? A small identity of a data file, and the test of it.

A checkpoint records the identity of its training file and its train/val/test index lists,
so that ``opkit evaluate`` can score only the samples the model never saw when it is given
that file again (under any name or path).

An opkit file made by ``opkit generate`` is identified by what determines its contents:
PDE, preset, generator parameters and base seed. Sample ``i`` depends only on
``(base seed, i)``, so a file generated with more or fewer samples holds the same samples
at the same indices, and is the same data. Any other file (converted, PDEBench, FNO
``.mat``, The Well) is identified by its format, file name and sample count.
"""

from __future__ import annotations

import json
from typing import Any

# Root attributes of a generated opkit file that fix its samples, besides the parameters.
GENERATED_KEYS = ("pde", "preset", "base_seed")


def file_identity(datafile) -> dict[str, Any]:
    """The identity of an open ``DataFile``, as plain data (stored in checkpoints)."""
    attrs = datafile.attrs
    base_seed = attrs.get("base_seed")
    if datafile.format == "opkit" and isinstance(base_seed, int) and base_seed >= 0 and "source_file" not in attrs:
        identity: dict[str, Any] = {key: attrs.get(key) for key in GENERATED_KEYS}
        identity["format"] = "opkit-generated"
        identity["params"] = json.loads(attrs.get("params_json") or "{}")
    else:
        identity = {"format": str(datafile.format), "name": datafile.path.name,
                    "source_file": attrs.get("source_file")}
    identity["n_samples"] = int(datafile.n_samples)
    return identity


def same_data(recorded: dict[str, Any], datafile) -> bool:
    """Whether ``datafile`` holds the samples of the file whose identity is ``recorded``.

    Generated files match whatever their sample counts (index ``i`` is the same sample in
    both) when PDE, preset, seed and every parameter both files name agree (a parameter
    added to opkit later is absent from older files). Other files must agree in every entry.
    """
    found = file_identity(datafile)
    if found["format"] != recorded.get("format"):
        return False
    if found["format"] != "opkit-generated":
        return all(found.get(key) == recorded.get(key) for key in set(found) | set(recorded))
    params, recorded_params = found["params"], recorded.get("params") or {}
    return (all(found[key] == recorded.get(key) for key in GENERATED_KEYS)
            and all(params[name] == recorded_params[name] for name in set(params) & set(recorded_params)))
