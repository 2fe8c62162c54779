"""Reading files that someone else may control (configs, output folders, git trees).

One rule for every read: the path must be a regular file, checked on the open descriptor (so
`/dev/zero`, a FIFO or a file swapped in after a check is never read), and its size is bounded
on that same descriptor.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class NotRegularFile(OSError):
    """The path is a FIFO, a device, a socket or a folder: nothing is read from it."""


class TooLarge(OSError):
    """The file is larger than the caller's limit."""


def read_regular(path: Path, *, limit: int, follow: bool = False) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes (and not
    a link unless `follow`). O_NONBLOCK: opening a FIFO must not wait for a writer."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(errno.EINVAL, f"it is {describe_mode(info.st_mode)}")
        if info.st_size > limit:
            raise TooLarge(errno.EFBIG, f"larger than {limit} bytes")
        content = handle.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(errno.EFBIG, f"larger than {limit} bytes")
    return content


def describe_mode(mode: int) -> str:
    """What a non-regular file is, in words."""
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((word for test, word in kinds if test(mode)), "not a regular file")
