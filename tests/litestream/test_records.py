"""Parsing litestream's output: 0.3's tables, 0.5's JSON, Go durations, and answers that
parse as nothing (recorded real outputs in tests/data/)."""

from __future__ import annotations

import json

import pytest
from conftest import recorded

from pylitestream.errors import ParseError
from pylitestream.litestream import records


def test_parse_03_tables() -> None:
    assert records.databases_03(recorded("0.3-databases.txt")) == [
        {"path": "/srv/appdat/db.sqlite", "replicas": ["file"]}
    ]
    (gen,) = records.generations_03(recorded("0.3-generations.txt"))
    assert gen == {"replica": "file", "generation": "4e0083199c4820c1", "lag_ms": 984,
                   "start": "2026-11-26T20:16:41Z", "end": "2026-11-26T20:16:42Z"}  # fmt: skip
    (snap,) = records.snapshots_03(recorded("0.3-snapshots.txt"))
    assert snap["index"] == 0 and snap["size"] == 354 and snap["min_txid"] is None
    wal = records.wal_03(recorded("0.3-wal.txt"))
    assert [(w["offset"], w["size"]) for w in wal] == [(0, 451), (16512, 95)]
    assert tuple(wal[0]) == records.WAL_KEYS


def test_parse_05_json() -> None:
    assert records.databases_05(recorded("0.5-databases.json")) == [
        {"path": "/srv/appdat/db5.sqlite", "replicas": ["file"]}
    ]
    (status,) = records.status_05(recorded("0.5-status.json"))
    assert status == {"database": "/srv/appdat/db5.sqlite", "status": "ok",
                      "local_txid": "0000000000000002", "wal_size": 21000}  # fmt: skip
    ltx = records.ltx_05(recorded("0.5-ltx-all.json"))
    assert [entry["level"] for entry in ltx] == [0, 0, 1, 9]
    assert ltx[0]["created"] == "2026-11-26T20:16:41Z"  # JSON says "timestamp"
    snaps = records.snapshots_05(json.dumps([e for e in json.loads(recorded("0.5-ltx-all.json"))
                                             if e["level"] == 9]))  # fmt: skip
    assert tuple(snaps[0]) == records.SNAPSHOT_KEYS and snaps[0]["index"] is None
    assert records.ltx_05("[]") == [] and records.ltx_05("null") == []


def test_table_parser_keeps_spaces_and_empty_cells() -> None:
    text = "path                 replicas\n/srv/my app/db.sqlite  s3,file\n/srv/b.db\n"
    rows = records.parse_table(text)
    assert rows == [{"path": "/srv/my app/db.sqlite", "replicas": "s3,file"},
                    {"path": "/srv/b.db", "replicas": ""}]  # fmt: skip
    assert records.databases_03(text)[1]["replicas"] == []


@pytest.mark.parametrize(
    ("text", "ms"),
    [("984ms", 984), ("-179ms", -179), ("0s", 0), ("1.5s", 1500), ("2m3.5s", 123500),
     ("1h0m0s", 3600000), ("250µs", 0), ("1500us", 2)],
)  # fmt: skip
def test_go_durations(text: str, ms: int) -> None:
    assert records.duration_ms(text) == ms


def test_bad_values_raise_parse_error() -> None:
    with pytest.raises(ParseError):
        records.duration_ms("soon")
    with pytest.raises(ParseError):
        records.generations_03("name  generation  lag  start  end\nfile  abc  1ms  never  never\n")
    assert records.humanized_bytes("1.2 MB") == 1_200_000
    assert records.humanized_bytes("-") is None
