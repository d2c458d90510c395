"""dpgraph.jsontext gives what the standard library gives, on random documents and texts."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from dpgraph import jsontext

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "openlineage"


def stdlib_canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def typed(value: Any) -> str:
    """A text that tells 1 from 1.0 and True from 1, to compare parsed documents."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True)


def random_float(rng: random.Random) -> float:
    kind = rng.randrange(4)
    if kind == 0:  # any finite double, every exponent
        while True:
            x: float = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
            if x == x and abs(x) != float("inf"):
                return x
    if kind == 1:  # around the thresholds where float forms change
        return rng.choice([1, -1]) * rng.uniform(1, 10) * 10.0 ** rng.randint(-9, 18)
    if kind == 2:
        return round(rng.uniform(-1000, 1000), rng.randint(0, 6))
    return rng.choice([0.0, -0.0, 1e-5, 1e-4, 1e15, 1e16, 1e17, 5e-324, 1.7976931348623157e308])


def random_int(rng: random.Random) -> int:
    return rng.choice([
        rng.randint(-1000, 1000), rng.randint(-2**63, 2**64 - 1),
        rng.choice([1, -1]) * rng.randint(2**63 - 2, 2**90), 2**64, -2**63 - 1, 2**63,
    ])


def random_text(rng: random.Random) -> str:
    pools = ["abcXYZ_-. ", "0123456789eE.", "\x00\x1f\x7f\"\\/\n\t", "éß漢字\u2028\U0001f600"]
    return "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randrange(12)))


def random_document(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return random_text(rng)
    if kind == 1:
        return random_int(rng)
    if kind == 2:
        return random_float(rng)
    if kind == 3:
        return rng.choice([True, False, None])
    if kind in (4, 5):
        return random_text(rng) if kind == 4 else rng.choice(["", "0.00001", "1e-07"])
    if kind in (6, 7):
        return {random_text(rng): random_document(rng, depth + 1)
                for _ in range(rng.randrange(6))}
    return [random_document(rng, depth + 1) for _ in range(rng.randrange(6))]


def test_canonical_equals_the_standard_library_on_random_documents() -> None:
    rng = random.Random(20261125)
    for _ in range(20_000):
        document = random_document(rng)
        assert jsontext.canonical(document) == stdlib_canonical(document)


def test_canonical_equals_the_standard_library_on_every_float_form() -> None:
    rng = random.Random(7)
    for _ in range(100_000):
        x = random_float(rng)
        assert jsontext.canonical({"x": x}) == stdlib_canonical({"x": x})


def test_canonical_falls_back_where_orjson_refuses() -> None:
    for value in ({1: "non-string key"}, {"s": "\ud800"}, [2**64], [-2**63 - 1]):
        assert jsontext.canonical(value) == stdlib_canonical(value)


def test_loads_equals_the_standard_library_on_random_texts() -> None:
    rng = random.Random(11)
    for _ in range(20_000):
        text = stdlib_canonical(random_document(rng))
        assert typed(jsontext.loads(text)) == typed(json.loads(text))


@pytest.mark.parametrize("text", [
    "123456789012345678901234567890", "-9223372036854775809", "18446744073709551616",
    "[18446744073709551615, -9223372036854775808]", "1E400", '"\\ud800"', "-0", "-0.0",
    "0.1000000000000000055511151231257827", '{"a": 1, "a": 2}', " [1.5e-7] ",
])
def test_loads_keeps_what_orjson_would_change(text: str) -> None:
    assert typed(jsontext.loads(text)) == typed(json.loads(text))


def test_loads_errors_are_the_standard_library_s() -> None:
    def refuse(name: str) -> Any:
        raise ValueError(f"constant {name}")

    with pytest.raises(ValueError, match="constant NaN"):
        jsontext.loads('{"x": NaN}', parse_constant=refuse)
    with pytest.raises(json.JSONDecodeError) as raised:
        jsontext.loads('{"x": 1,}')
    assert (raised.value.lineno, raised.value.colno) == (1, 9)


def test_corpus_events_round_trip_as_the_standard_library_does() -> None:
    files = sorted(CORPUS.rglob("*.json"))
    assert len(files) > 100
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            expected = json.loads(text)
        except json.JSONDecodeError:
            continue
        assert typed(jsontext.loads(text)) == typed(expected), path
        assert jsontext.canonical(expected) == stdlib_canonical(expected), path
