"""Content negotiation for RDF and JSON representations."""

from __future__ import annotations

from pyoxigraph import RdfFormat

from dpgraph.errors import NotAcceptable

JSON = "application/json"
RDF_MEDIA_TYPES = ("text/turtle", "application/ld+json", "application/n-triples",
                   "application/rdf+xml")


def _ranked(accept: str) -> list[tuple[float, int, str]]:
    out = []
    for i, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        q = 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if fields[0]:
            out.append((-q, i, fields[0].lower()))
    return sorted(out)


def negotiate(accept: str | None, offered: tuple[str, ...]) -> str:
    """Pick the first offered media type the client accepts best; 406 when none fits."""
    if not accept:
        return offered[0]
    for neg_q, _, wanted in _ranked(accept):
        if neg_q == 0:
            continue
        if wanted in ("*/*", "application/*") and offered[0].startswith(wanted[:-1]):
            return offered[0]
        if wanted == "*/*":
            return offered[0]
        if wanted in offered:
            return wanted
        if wanted.endswith("/*"):
            for media in offered:
                if media.startswith(wanted[:-1]):
                    return media
    raise NotAcceptable(f"cannot answer Accept: {accept}; offered: {', '.join(offered)}")


def rdf_format(media: str) -> RdfFormat:
    fmt = RdfFormat.from_media_type(media)
    if fmt is None:
        raise NotAcceptable(f"{media} is not an RDF media type")
    return fmt
