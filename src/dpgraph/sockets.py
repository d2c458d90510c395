"""Where the service's processes listen on Unix sockets (the core for the front, the Cypher
view's process for the core).

In the data directory when its path is short enough: a process killed with SIGKILL cannot
clean up, and a socket left there is replaced by the next start (which holds the
directory's lock), where a temporary directory per start piled up in /tmp. The data
directory's permissions keep other users out, as a 0700 temporary directory does.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# A Unix socket's path holds at most 107 bytes (sun_path).
MAX_SOCKET_PATH = 100


def socket_path(data_dir: Path, name: str) -> tuple[Path, Path | None]:
    """The socket ``name`` for the service on ``data_dir``, and the directory made for it
    (to remove on stop) when the data directory's path is too long, else None. A socket
    left in the data directory by a killed service is removed: the caller holds the lock."""
    in_data_dir = data_dir.resolve() / name
    if len(os.fsencode(in_data_dir)) <= MAX_SOCKET_PATH:
        in_data_dir.unlink(missing_ok=True)
        return in_data_dir, None
    made = Path(tempfile.mkdtemp(prefix=f"dpgraph-{Path(name).stem}-"))
    return made / name, made


def remove_socket(socket: Path, made: Path | None) -> None:
    """Remove what :func:`socket_path` gave: the socket, or the directory made for it."""
    if made is None:
        socket.unlink(missing_ok=True)
    else:
        shutil.rmtree(made, ignore_errors=True)
