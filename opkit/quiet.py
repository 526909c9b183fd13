"""Quiet output for opkit's own commands (``opkit ...``, ``train.py``), never for library users.

Lightning prints advertising tips ("Tip: ... try installing litlogger") and some dependencies
warn about their own deprecated internals on every run; neither is something an opkit user
can act on. ``quiet_commands()`` hides exactly those; everything else (errors, "GPU
available", our own warnings) still shows. ``OPKIT_VERBOSE=1`` keeps everything.
"""

from __future__ import annotations

import logging
import os
import warnings

# Log messages (from Lightning's rank-zero loggers) starting with these are dropped.
HIDDEN_MESSAGE_PREFIXES = ("\N{ELECTRIC LIGHT BULB} Tip:",)
RANK_ZERO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")
# (category, message regex, module regex) of warnings about other packages' internals.
KNOWN_WARNINGS = (
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated", ""),
    (DeprecationWarning, r"`torch.jit.script_method` is deprecated", ""),
    (DeprecationWarning, "", r"lightning(\..*)?$"),
    (DeprecationWarning, "", r"lightning_utilities(\..*)?$"),
    (DeprecationWarning, "", r"jsonargparse(\..*)?$"),
)


class _HideTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(HIDDEN_MESSAGE_PREFIXES)


_FILTER = _HideTips()


def quiet_commands() -> None:
    """Hide Lightning's tips and known third-party deprecation warnings in this process."""
    if os.environ.get("OPKIT_VERBOSE", "").strip() not in ("", "0"):
        return
    for name in RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for category, message, module in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
