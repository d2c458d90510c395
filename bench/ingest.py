"""Ingest benchmark: corpus events with fresh runIds posted by wrk (a load generator in its own
process, so it does not share the server's interpreter) to a real `dpgraph serve` process.

Prints acknowledged events/s, p50/p99 acknowledgement latency, how fast the projection
followed (end-to-end rate and the lag when the load stopped), and the server's RSS.
Not a test: run it by hand, e.g. `python bench/ingest.py --seconds 30 --connections 32`.
Needs `wrk` (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from common import free_port, service_cpu, service_rss

SHARED = Path(os.environ.get("DPGRAPH_SHARED_DIR",
                             Path(__file__).resolve().parents[2] / "shared"))
VALID = SHARED / "corpus" / "openlineage" / "valid"
RUN_ID = "00000000-0000-4000-8000-000000000000"

LUA = r"""
local bodies = { %(bodies)s }
local headers = { ["Content-Type"] = "application/json" }
local counter = 0
math.randomseed(os.time() + %(seed)d)
local function uuid()
  local t = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
  return (string.gsub(t, "[xy]", function (c)
    local v = (c == "x") and math.random(0, 0xf) or math.random(8, 0xb)
    return string.format("%%x", v)
  end))
end
request = function()
  counter = counter + 1
  local body = bodies[(counter %% #bodies) + 1]
  body = string.gsub(body, "%(run_id)s", uuid())
  return wrk.format("POST", "/api/v1/lineage", headers, body)
end
%(delay)s
"""


def corpus_bodies() -> list[str]:
    """Valid RunEvents with their runId (and the parent's, if any) replaced by a marker."""
    out = []
    for path in sorted(VALID.rglob("*.json")):
        event = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(event.get("run"), dict):
            continue
        event["run"]["runId"] = RUN_ID
        out.append(json.dumps(event, separators=(",", ":")))
    return out


def lua_script(bodies: list[str], delay_ms: int = 0) -> str:
    """``delay_ms``: each connection waits this long before its next request (wrk's
    ``delay`` hook), which caps the offered rate near connections x 1000 / delay_ms."""
    quoted = ",\n".join(f"[==[{b}]==]" for b in bodies)
    delay = f"delay = function() return {delay_ms} end" if delay_ms else ""
    return LUA % {"bodies": quoted, "seed": os.getpid(), "run_id": RUN_ID.replace("-", "%-"),
                  "delay": delay}


class LagSampler(threading.Thread):
    """Samples the projection's lag behind the log twice a second while the load runs: a
    lag that stays bounded means the projection sustains the offered rate."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.lags: list[int] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            with contextlib.suppress(httpx.HTTPError):
                now = offsets(self.url)
                self.lags.append(now["log"] - now["projected"])


def offsets(url: str) -> dict[str, int]:
    return dict(httpx.get(url + "/health", timeout=30).json()["offsets"])


def wrk_latency(output: str, label: str) -> str:
    match = re.search(rf"^\s*{label}\s+([\d.]+\w+)", output, re.M)
    return match.group(1) if match else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--delay-ms", type=int, default=0,
                        help="pause of each connection between requests: a steady offered "
                             "rate (about connections x 1000 / delay) instead of a flood")
    parser.add_argument("--no-replay", action="store_true",
                        help="stop after the projection (a long load's replay takes long)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")

    with tempfile.TemporaryDirectory(prefix="dpgraph-ingest-") as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(lua_script(corpus_bodies(), args.delay_ms), encoding="utf-8")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "dpgraph.cli", "serve", "--port", str(port),
             "--data-dir", str(Path(tmp) / "data")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(600):
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            start = offsets(url)
            sampler = LagSampler(url)
            sampler.start()
            cpu_before = service_cpu(server.pid)
            t0 = time.perf_counter()
            run = subprocess.run(
                ["wrk", "-t", str(args.threads), "-c", str(args.connections),
                 "-d", f"{args.seconds}s", "--latency", "-s", str(script), url],
                capture_output=True, text=True, check=True)
            load_seconds = time.perf_counter() - t0
            at_stop = offsets(url)
            sampler.stopping.set()
            sampler.join()
            while (now := offsets(url))["projected"] < now["log"]:
                time.sleep(0.2)
            total_seconds = time.perf_counter() - t0
            acked = at_stop["log"] - start["log"]
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", run.stdout)
            print(f"load: {args.seconds} s, {args.connections} connections (wrk)"
                  + (f", {args.delay_ms} ms between a connection's requests"
                     if args.delay_ms else ""))
            print(f"acknowledged: {acked} events, {acked / load_seconds:.0f} events/s; "
                  f"latency p50 {wrk_latency(run.stdout, '50%')}, "
                  f"p99 {wrk_latency(run.stdout, '99%')}; "
                  f"non-2xx: {errors.group(1) if errors else 0}")
            print(f"projection: lag at end of load {at_stop['log'] - at_stop['projected']} "
                  f"events; all {now['projected'] - start['projected']} projected after "
                  f"{total_seconds:.1f} s = {acked / total_seconds:.0f} events/s end to end")
            projected_in_load = at_stop["projected"] - start["projected"]
            lags = sampler.lags or [0]
            print(f"projection during the load: {projected_in_load / load_seconds:.0f} "
                  f"events/s; lag sampled twice a second: max {max(lags)}, "
                  f"median {sorted(lags)[len(lags) // 2]}")
            print(f"server RSS: {service_rss(server.pid)}")
            cpu = {k: t - cpu_before[k] for k, t in service_cpu(server.pid).items()}
            print("CPU until all projected, ms per acknowledged event: " + ", ".join(
                f"{k} {t / max(acked, 1) * 1000:.2f}" for k, t in cpu.items()))
            while (now := offsets(url))["cypher"] < now["log"]:
                time.sleep(0.2)
            view_seconds = time.perf_counter() - t0
            print(f"Cypher view: lag at end of load {at_stop['log'] - at_stop['cypher']} "
                  f"events; all in it after {view_seconds:.1f} s = "
                  f"{acked / view_seconds:.0f} events/s end to end; "
                  f"server RSS then: {service_rss(server.pid)}")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        if args.no_replay:
            return
        replay = subprocess.run(
            [sys.executable, "-m", "dpgraph.cli", "replay", "--data-dir",
             str(Path(tmp) / "data")], capture_output=True, text=True, check=True)
        print(f"replay: {replay.stdout.strip()}")


if __name__ == "__main__":
    main()
