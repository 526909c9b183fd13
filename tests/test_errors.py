"""opkit/errors.py: one-line user errors that name the file, the field and what was expected."""

import pytest

from opkit.errors import ConfigError, DataError, OpkitError


def test_data_error_names_file_and_field():
    error = DataError("datasets/darcy.h5", "expected 3 dimensions (sample, x, y), got 2", field="t0_fields/solution")
    assert str(error) == ("datasets/darcy.h5: field 't0_fields/solution': expected 3 dimensions (sample, x, y), "
                          "got 2")
    assert (error.path, error.field, error.problem) == ("datasets/darcy.h5", "t0_fields/solution",
                                                        "expected 3 dimensions (sample, x, y), got 2")
    assert str(DataError("a.h5", "file not found")) == "a.h5: file not found"


def test_every_user_error_is_an_opkit_error():
    for error in (DataError("a.h5", "bad"), ConfigError("bad")):
        with pytest.raises(OpkitError):
            raise error
    assert not issubclass(OpkitError, (ValueError, KeyError))  # never confused with a programming error
