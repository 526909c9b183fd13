"""The ``opkit`` command.

Each stage of the library that offers subcommands has a ``commands`` module with
``register(subparsers)``; this file only collects them. Handlers import torch and
friends lazily so that ``opkit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from opkit import __version__
from opkit.errors import OpkitError

# Stage modules that contribute subcommands, in the order of the data flow.
COMMAND_MODULES = [
    "opkit.data.commands",  # generate, convert, inspect
    "opkit.training.commands",  # predict, evaluate
    "opkit.spectral.commands",  # spectral, spectral-probe
    "opkit.ablation.commands",  # ablate, report
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opkit",
        description="opkit: neural operators, PDE datasets, spectral bias and activation ablations.",
    )
    parser.add_argument("--version", action="version", version=f"opkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:  # a real missing dependency, not a stage without commands
                raise
            continue
        module.register(subparsers)
    for subparser in subparsers.choices.values():
        if subparser.formatter_class is argparse.HelpFormatter:
            subparser.formatter_class = DefaultsHelpFormatter
    return parser


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help with each option's default (when it has a meaningful one); descriptions keep their lines."""

    def _get_help_string(self, action):
        if (action.default is None or action.default is False or action.default == [] or action.default
                == argparse.SUPPRESS or "%(default)" in (action.help or "")):
            return action.help
        return super()._get_help_string(action)

    def _fill_text(self, text, width, indent):
        return "".join(indent + line for line in text.splitlines(keepends=True))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # Commands that hand their arguments on (`opkit train` -> LightningCLI) get the ones argparse does not know.
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "pass_through", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    from opkit.quiet import quiet_commands

    quiet_commands()
    try:
        result = args.handler(args)
    except OpkitError as error:
        print(f"opkit {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"opkit {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
