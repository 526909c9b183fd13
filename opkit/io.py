"""Atomic file output: write to a temporary file beside the target, then rename.

A reader never sees a half-written file: either the old file (or none) or the
complete new one. ``exclusive_lock`` lets one process at a time produce a file that
several may ask for at once (parallel sweep workers generating the same dataset).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from opkit.errors import DataError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600 files; give outputs the usual permissions (umask applied).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def create_parent_directory(path: str | os.PathLike) -> Path:
    """Create the folders above ``path`` (like ``mkdir -p``); one ``DataError`` line when that is impossible."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), path.parent)
        raise DataError(path, f"cannot create its folder: {blocker} is a file; expected a folder") from None
    except OSError as error:
        raise DataError(path, f"cannot create its folder {path.parent} ({error.strerror}); expected a writable "
                              "location") from None
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, waiting_message: str | None = None) -> Iterator[None]:
    """Hold an inter-process lock on ``<path>.lock`` (POSIX ``flock``) for the ``with`` block.

    A second process asking for the same lock waits until the first leaves the block
    (printing ``waiting_message`` once to stderr), so it finds the first one's result.
    The lock dies with its process, so a killed holder never leaves it stuck. Where
    ``fcntl`` is missing (Windows) the block runs unlocked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting_message:
                print(waiting_message, file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_output_path(out: str | os.PathLike, inputs=(), overwrite: bool = False) -> Path:
    """``out`` as a Path, after refusing what would destroy data (one ``ConfigError`` line).

    Refused: an existing directory; a path that is one of ``inputs`` (compared as resolved
    paths and by inode, so links and ``./`` spellings are caught too), even with
    ``overwrite``; and an existing file unless ``overwrite``.
    """
    from opkit.errors import ConfigError

    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"{out}: is a directory; expected the path of an output file")
    for source in inputs:
        source = Path(source)
        same = out.resolve() == source.resolve()
        if not same and out.exists() and source.exists():
            same = os.path.samefile(out, source)
        if same:
            raise ConfigError(f"{out}: is the input file {source}; choose another output path (the input is "
                              "never overwritten, not even with --overwrite)")
    if out.exists() and not overwrite:
        raise ConfigError(f"{out}: already exists; pass --overwrite to replace it")
    return out
