"""opkit/quiet.py: Lightning's tips and known third-party warnings hidden in opkit's commands, never on import."""

import logging
import subprocess
import sys
import warnings

from opkit.quiet import RANK_ZERO_LOGGERS


def test_quiet_in_commands_only():
    code = ("import logging, opkit, opkit.training.run, opkit.training.lightning_cli\n"
            f"print(sum(len(logging.getLogger(n).filters) for n in {RANK_ZERO_LOGGERS!r}))")
    library = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert library.stdout.strip() == "0"  # importing opkit changes nothing for library users
    from opkit.quiet import quiet_commands

    quiet_commands()
    logger = logging.getLogger(RANK_ZERO_LOGGERS[0])
    tip = logger.makeRecord(logger.name, logging.INFO, "f", 1, "\N{ELECTRIC LIGHT BULB} Tip: install x", None, None)
    other = logger.makeRecord(logger.name, logging.INFO, "f", 1, "GPU available: False", None, None)
    assert not logger.filter(tip) and logger.filter(other)
    with warnings.catch_warnings(record=True) as caught:
        quiet_commands()
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning)
        warnings.warn("our own warning", UserWarning)
    assert [str(w.message) for w in caught] == ["our own warning"]
