"""The training stage's subcommands: argument types."""

import argparse

import pytest

from opkit.training.commands import positive_int


def test_positive_int_accepts_counts_and_refuses_the_rest_in_one_line():
    assert positive_int("1") == 1 and positive_int("64") == 64
    for text in ("0", "-1", "2.5", "many"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"expected a positive integer, got '{text}'"):
            positive_int(text)
