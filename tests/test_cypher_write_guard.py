"""A process that dies inside a write to the embedded engine, on the real engine and files.

Kùzu 0.11.3 crashed the process (a segfault) in a ``COPY``, on every start, once its primary
key index had gone wrong; Python cannot catch that. Here a child process writes to the view
and kills itself with SIGKILL in the middle of the engine write: once leaves the database as
it was; twice in a row writing the same page of the log has the next start discard it, and
the view is rebuilt from the log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from test_cypher_view_memory import wide_event

from dpgraph.cypher.embedded import ENGINE_MODULE, EmbeddedCypher
from dpgraph.cypher.projection import CypherView
from dpgraph.log.sqlite_log import SqliteLog

# Opens the view on the data directory and catches up with the log; with "die", it kills
# itself in the write of the first batch, after its statements and before its commit.
CHILD = """
import os, signal, sys
from pathlib import Path
from dpgraph.cypher import embedded
from dpgraph.cypher.embedded import ENGINE_MODULE, EmbeddedCypher
from dpgraph.cypher.projection import CypherView
from dpgraph.log.sqlite_log import SqliteLog

data, die = Path(sys.argv[1]), sys.argv[2] == "die"
if die:
    class Dying(embedded._Transaction):
        begun = 0
        def __enter__(self):
            Dying.begun += 1
            super().__enter__()
        def __exit__(self, *exc):
            if Dying.begun == 2:  # the first batch's (the bootstrap's is the first)
                os.kill(os.getpid(), signal.SIGKILL)
            return super().__exit__(*exc)
    embedded._Transaction = Dying
event_log = SqliteLog(data / "log.sqlite")
view = CypherView(EmbeddedCypher(data / "cypher", buffer_pool_bytes=64 * 2**20), event_log)
view.bootstrap()
view.catch_up()
view.close()
"""

EVENTS, WIDTH = 6, 5


def child(data: Path, mode: str) -> int:
    return subprocess.run([sys.executable, "-c", CHILD, str(data), mode],
                          timeout=120).returncode


def state(data: Path) -> tuple[int, int]:
    """The view's offset, and the fields its database holds."""
    event_log = SqliteLog(data / "log.sqlite")
    view = CypherView(EmbeddedCypher(data / "cypher", buffer_pool_bytes=64 * 2**20),
                      event_log)
    try:
        fields = view.backend.query("MATCH (f:Field) RETURN count(f) AS n", timeout=30)
        return view.offset, int(fields[0]["n"])
    finally:
        view.close()
        event_log.close()


def append(data: Path, events: range) -> None:
    event_log = SqliteLog(data / "log.sqlite")
    event_log.append([wide_event(i, WIDTH) for i in events])
    event_log.close()


def test_one_death_inside_a_write_keeps_the_database(tmp_path: Path) -> None:
    append(tmp_path, range(EVENTS))
    assert child(tmp_path, "live") == 0
    assert state(tmp_path) == (EVENTS, EVENTS * WIDTH)
    append(tmp_path, range(EVENTS, 2 * EVENTS))
    assert child(tmp_path, "die") == -9
    # the first batch is kept, the second was never committed
    assert state(tmp_path) == (EVENTS, EVENTS * WIDTH)
    assert child(tmp_path, "live") == 0
    assert state(tmp_path) == (2 * EVENTS, 2 * EVENTS * WIDTH)


def test_dying_twice_in_a_row_inside_writes_rebuilds_the_view_from_the_log(
        tmp_path: Path) -> None:
    append(tmp_path, range(EVENTS))
    assert child(tmp_path, "live") == 0
    append(tmp_path, range(EVENTS, 2 * EVENTS))
    assert child(tmp_path, "die") == -9
    assert child(tmp_path, "die") == -9
    # a file beside the engine's, named as they are: gone only if they are discarded (an
    # inode number could be reused by the new database)
    left_over = tmp_path / "cypher" / f"graph.{ENGINE_MODULE}.left-over"
    left_over.touch()
    # the next start discards the database; the view starts again at the log's beginning
    assert state(tmp_path) == (0, 0)
    assert not left_over.exists()
    assert child(tmp_path, "live") == 0
    assert state(tmp_path) == (2 * EVENTS, 2 * EVENTS * WIDTH)


def test_deaths_at_two_places_in_the_log_do_not_add_up(tmp_path: Path) -> None:
    append(tmp_path, range(EVENTS))
    assert child(tmp_path, "die") == -9  # writing the page after offset 0
    assert child(tmp_path, "live") == 0
    append(tmp_path, range(EVENTS, 2 * EVENTS))
    assert child(tmp_path, "die") == -9  # after offset EVENTS
    assert state(tmp_path) == (EVENTS, EVENTS * WIDTH)


def test_a_database_removed_by_hand_is_rebuilt_not_trusted_to_the_offset(
        tmp_path: Path) -> None:
    append(tmp_path, range(EVENTS))
    assert child(tmp_path, "live") == 0
    for file in (tmp_path / "cypher").glob("graph.*"):
        file.unlink()
    assert state(tmp_path) == (0, 0)
    assert child(tmp_path, "live") == 0
    assert state(tmp_path) == (EVENTS, EVENTS * WIDTH)
