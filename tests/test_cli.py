"""The `opkit` command collects every stage's subcommands and turns library errors into one line."""

import argparse

import pytest

from opkit import __version__
from opkit.cli import build_parser, main


def test_every_stage_contributes_its_subcommands():
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command in ("generate", "convert", "inspect", "predict", "evaluate", "spectral", "ablate", "report"):
        assert command in subparsers.choices


def test_version_and_help_without_a_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"opkit {__version__}"
    assert main([]) == 0
    assert "COMMAND" in capsys.readouterr().out


def test_library_error_is_one_line_with_the_command_name(capsys, tmp_path):
    missing = tmp_path / "missing.h5"
    assert main(["inspect", str(missing)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"opkit inspect: error: {missing}: file not found") and error.count("\n") == 1


def test_unknown_arguments_are_refused():
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", "a.h5", "--no-such-option"])
    assert exit_info.value.code == 2
