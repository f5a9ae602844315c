"""Keep freed memory in the process between passes over large arrays.

glibc gives large freed blocks back to the kernel at once; on a virtual machine that
reports free pages to its host, touching them again costs a page fault each, which can
dominate a pass over millions of rows. Raising glibc's mmap and trim thresholds keeps
them for the next allocation. Called by the long-running batch commands only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory() -> bool:
    """True when glibc accepted the thresholds (elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, 1 << 30)) and bool(mallopt(M_TRIM_THRESHOLD, 1 << 30))
