"""Command line: one thin function per command over the same services as the HTTP API.

Commands that need the data directory (serve, replay) take its lock and refuse while a
service holds it; everything else talks to the running service over HTTP.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dpgraph.errors import DpgraphError, Finding, InvalidInput

EXIT_OK, EXIT_ERROR = 0, 1


def _media_type(path: Path) -> str:
    suffix = path.suffix.lower()
    return {".json": "application/json", ".ttl": "text/turtle", ".jsonld": "application/ld+json",
            ".nt": "application/n-triples"}.get(suffix, "application/yaml")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc


def _kind_of(body: bytes, media: str) -> str:
    if media not in ("application/yaml", "application/json"):
        return "DataProduct"
    from dpgraph.services.parsing import load_document

    return str(load_document(body, media).get("kind", "DataProduct"))


def _print_findings(findings: list[dict[str, Any]] | list[Finding]) -> None:
    for f in findings:
        d = f.as_dict() if isinstance(f, Finding) else f
        where = d.get("field") or "(document)"
        print(f"{d['severity']}: {where}: {d['message']}  [{d['rule']}]")


# ------------------------------------------------------------------ commands
def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings(args, host=args.host, port=args.port, demo=args.demo)
    # The front and its ingest workers import only what receiving needs, not the app and
    # its runtime (SHACL engine, graph store, mappings): ~33 MiB less in each of them.
    if args.core_socket:  # the core process a front started (see api/front.py)
        from dpgraph.api.app import create_app
        from dpgraph.child_process import die_with_parent, yield_to_front

        die_with_parent(args.core_parent)
        yield_to_front()
        uvicorn.run(create_app(settings, core=True), uds=args.core_socket,
                    log_level="info", access_log=settings.access_log)
    elif args.listen_fd is not None:  # an ingest worker the front started
        import socket

        from dpgraph.api.front import IngestWorker
        from dpgraph.child_process import die_with_parent

        die_with_parent(args.core_parent)
        listener = socket.socket(fileno=args.listen_fd)
        uvicorn.Server(uvicorn.Config(
            IngestWorker(settings, Path(args.forward_to)), log_level="info",
            access_log=settings.access_log)).run(sockets=[listener])
    elif settings.ingest_process:
        from dpgraph.api.front import Front

        front = Front(settings, _serve_argv(args))
        config = uvicorn.Config(front, host=settings.host, port=settings.port,
                                log_level="info", access_log=settings.access_log)
        front.listener = config.bind_socket()  # shared with the ingest workers
        uvicorn.Server(config).run(sockets=[front.listener])
        return EXIT_ERROR if front.core_failed else EXIT_OK
    else:
        from dpgraph.api.app import create_app

        uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                    log_level="info", access_log=settings.access_log)
    return EXIT_OK


def _serve_argv(args: argparse.Namespace) -> list[str]:
    """The core's command line: this one's options (environment settings it inherits)."""
    argv = ["serve"]
    for option in ("host", "port", "data_dir"):
        value = getattr(args, option)
        if value is not None:
            argv += [f"--{option.replace('_', '-')}", str(value)]
    return argv + (["--demo"] if args.demo else [])


def cmd_validate(args: argparse.Namespace) -> int:
    """Offline validation for CI jobs: an in-memory registry seeded with the given context."""
    from dpgraph.runtime import open_runtime
    from dpgraph.services.parsing import parse_catalog, parse_product
    from dpgraph.settings import Settings

    with tempfile.TemporaryDirectory(prefix="dpgraph-validate-") as tmp:
        # Always embedded: an offline check must not write into a configured remote store.
        rt = open_runtime(Settings(data_dir=Path(tmp), store="oxigraph"))
        try:
            for catalog in args.catalog or []:
                rt.registry.register_catalog(parse_catalog(_read(catalog), _media_type(catalog)))
            for ctx in args.context or []:
                rt.registry.register_product(parse_product(_read(ctx), _media_type(ctx)))
            body = _read(args.file)
            media = _media_type(args.file)
            if _kind_of(body, media) == "Catalog":
                outcome = rt.registry.register_catalog(parse_catalog(body, media), dry_run=True)
            else:
                outcome = rt.registry.register_product(parse_product(body, media), dry_run=True)
        finally:
            rt.close()
    _print_findings(outcome.report.warnings)
    print(f"ok: {args.file} is valid ({len(outcome.report.warnings)} warning(s))")
    return EXIT_OK


def cmd_register(args: argparse.Namespace) -> int:
    body = _read(args.file)
    media = _media_type(args.file)
    endpoint = "/api/v1/catalog" if _kind_of(body, media) == "Catalog" else "/api/v1/products"
    result = _http("POST", args, endpoint, content=body, headers={"Content-Type": media},
                   params={"dry_run": str(args.dry_run).lower()})
    _print_findings(result.get("warnings", []))
    verb = "would be registered" if args.dry_run else (
        "unchanged" if result.get("unchanged") else "registered")
    print(f"ok: {result['id']} {verb} (log offset {result.get('logOffset')})")
    return EXIT_OK


def cmd_deprecate(args: argparse.Namespace) -> int:
    payload = {"reason": args.reason, "successor": args.successor,
               "status": "retired" if args.retire else "deprecated"}
    result = _http("POST", args, f"/api/v1/products/{args.product_id}/deprecation",
                   json_body=payload)
    print(f"ok: {result['id']} {payload['status']} (log offset {result['logOffset']})")
    return EXIT_OK


def cmd_query(args: argparse.Namespace) -> int:
    """Run a named query on the service and print its rows."""
    params = _param_texts(args.param)
    if args.name is None:
        for q in _http_any("GET", args, "/api/v1/queries"):
            print(f"{q['name']}: {q['title']}")
        return EXIT_OK
    from urllib.parse import quote

    result = _http("GET", args, f"/api/v1/queries/{quote(args.name, safe='')}",
                   params={**params, "lang": args.lang})
    if args.format == "json":
        import json

        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        _print_table(result["columns"], result["rows"])
    return EXIT_OK


def _param_texts(items: list[str] | None) -> dict[str, str]:
    """``--param NAME=VALUE`` options as a dict of texts."""
    params: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--param {item!r}: expected NAME=VALUE")
        params[key] = value
    return params


def _print_table(columns: list[str], rows: list[list[Any]]) -> None:
    cells = [columns] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def cmd_join_path(args: argparse.Namespace) -> int:
    result = _http("GET", args, "/api/v1/join-paths",
                   params={"from": args.source, "to": args.target,
                           "max_hops": args.max_hops, "limit": args.limit})
    if not result["paths"]:
        print(f"no path: {result['reason']}")
        return EXIT_OK
    for path in result["paths"]:
        print(f"#{path['rank']} {path['hops']} hop(s), confidence {path['confidence']}: "
              f"{' -> '.join(path['products'])}")
        for step in path["steps"]:
            a, b = step["from"], step["to"]
            print(f"  {a['product']}.{a['element']} [{a['representation']}.{a['column']}] = "
                  f"{b['product']}.{b['element']} [{b['representation']}.{b['column']}]  "
                  f"({step['status']} {step['kind']}, {step['confidence']})")
        if args.sql:
            print("  " + path["sql"].replace("\n", "\n  "))
    return EXIT_OK


def cmd_findings(args: argparse.Namespace) -> int:
    params = {k: v for k, v in (("kind", args.kind), ("domain", args.domain),
                                ("product", args.product)) if v is not None}
    result = _http("GET", args, "/api/v1/findings", params=params)
    for f in result["findings"]:
        print(f"{f['severity']}: {f['kind']}: {f['summary']}")
    print(f"({result['count']} finding{'s' if result['count'] != 1 else ''})")
    return EXIT_OK


def cmd_cypher(args: argparse.Namespace) -> int:
    import json

    params: dict[str, Any] = {}
    for key, raw in _param_texts(args.param).items():
        try:  # JSON when it parses (numbers, lists, true, "quoted"), else the text as is
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw
    payload: dict[str, Any] = {"query": args.query, "parameters": params}
    if args.timeout is not None:
        payload["timeout"] = args.timeout
    result = _http("POST", args, "/api/v1/cypher", json_body=payload)
    for row in result["rows"]:
        print(json.dumps(row, ensure_ascii=False, sort_keys=False))
    print(f"ok: {result['count']} row(s)", file=sys.stderr)
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    from dpgraph.offline_replay import replay

    started = time.perf_counter()
    n = replay(_settings(args))
    seconds = time.perf_counter() - started
    print(f"ok: replayed {n} log records in {seconds:.2f} s "
          f"({n / seconds if seconds else 0:.0f} records/s)")
    return EXIT_OK


# ------------------------------------------------------------------ plumbing
def _settings(args: argparse.Namespace, **overrides: Any) -> Any:
    from dpgraph.settings import Settings

    values = {k: v for k, v in overrides.items() if v is not None}
    if getattr(args, "data_dir", None) is not None:
        values["data_dir"] = args.data_dir
    return Settings(**values)


def _http(method: str, args: argparse.Namespace, path: str, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = _http_any(method, args, path, **kw)
    return body


def _http_any(method: str, args: argparse.Namespace, path: str, **kw: Any) -> Any:
    import httpx

    from dpgraph.errors import StoreUnavailable

    server = args.server or _settings(args).server_url
    json_body = kw.pop("json_body", None)
    try:
        response = httpx.request(method, server.rstrip("/") + path, json=json_body,
                                 timeout=60, **kw)
    except httpx.HTTPError as exc:
        raise StoreUnavailable(f"cannot reach dpgraph at {server}: {exc}") from exc
    body: Any = response.json() if response.content else {}
    if response.status_code >= 400:
        _print_findings(body.get("errors", []))
        raise _RemoteError(f"{response.status_code} {body.get('title', '')}: "
                           f"{body.get('detail', response.text)}")
    return body


class _RemoteError(DpgraphError):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dpgraph", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="print tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the HTTP service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--data-dir", type=Path)
    serve.add_argument("--demo", action="store_true", default=None,
                       help="load the example mesh (changes no security setting)")
    serve.add_argument("--core-socket", help=argparse.SUPPRESS)
    serve.add_argument("--core-parent", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--forward-to", help=argparse.SUPPRESS)
    serve.set_defaults(func=cmd_serve)

    validate = sub.add_parser("validate", help="validate a descriptor offline (no server)")
    validate.add_argument("file", type=Path)
    validate.add_argument("--catalog", type=Path, action="append",
                          help="catalog file giving domains, owners, glossary… (repeatable)")
    validate.add_argument("--context", type=Path, action="append",
                          help="other product descriptor the file refers to (repeatable)")
    validate.set_defaults(func=cmd_validate)

    register = sub.add_parser("register", help="register a product or catalog file")
    register.add_argument("file", type=Path)
    register.add_argument("--server")
    register.add_argument("--dry-run", action="store_true")
    register.set_defaults(func=cmd_register)

    deprecate = sub.add_parser("deprecate", help="deprecate (or retire) a product")
    deprecate.add_argument("product_id")
    deprecate.add_argument("--reason")
    deprecate.add_argument("--successor")
    deprecate.add_argument("--retire", action="store_true")
    deprecate.add_argument("--server")
    deprecate.set_defaults(func=cmd_deprecate)

    query = sub.add_parser("query", help="run a named governance query (no NAME: list them)")
    query.add_argument("name", nargs="?")
    query.add_argument("--param", action="append", metavar="NAME=VALUE",
                       help="query parameter (repeatable)")
    query.add_argument("--lang", choices=["sparql", "cypher"], default="sparql")
    query.add_argument("--format", choices=["table", "json"], default="table")
    query.add_argument("--server")
    query.set_defaults(func=cmd_query)
    join_path = sub.add_parser("join-path", help="ranked join paths between two products")
    join_path.add_argument("source", metavar="FROM")
    join_path.add_argument("target", metavar="TO")
    join_path.add_argument("--max-hops", type=int, default=4)
    join_path.add_argument("--limit", type=int, default=5)
    join_path.add_argument("--sql", action="store_true", help="print each path's example SQL")
    join_path.add_argument("--server")
    join_path.set_defaults(func=cmd_join_path)
    findings = sub.add_parser("findings", help="governance findings of the service")
    findings.add_argument("--kind")
    findings.add_argument("--domain")
    findings.add_argument("--product")
    findings.add_argument("--server")
    findings.set_defaults(func=cmd_findings)
    cypher = sub.add_parser("cypher", help="run a read-only Cypher query on the service")
    cypher.add_argument("query")
    cypher.add_argument("--param", action="append", metavar="NAME=VALUE",
                        help="query parameter; VALUE is JSON if it parses (repeatable)")
    cypher.add_argument("--timeout", type=float, help="seconds")
    cypher.add_argument("--server")
    cypher.set_defaults(func=cmd_cypher)

    replay = sub.add_parser("replay", help="rebuild the graph from the log (service stopped)")
    replay.add_argument("--data-dir", type=Path)
    replay.set_defaults(func=cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DpgraphError as exc:
        if args.debug:
            traceback.print_exc()
        _print_findings(exc.errors)
        print(f"error: {exc.detail}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())


