"""What a child process of the service does first: die with its parent."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Be killed when the parent dies, however it dies (Linux; elsewhere the inherited lock
    still keeps a second service from starting beside an orphaned child). The signal comes
    when the parent's *thread* that started this process ends: start children from a thread
    that lives as long as they should."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the request above
        os._exit(1)
