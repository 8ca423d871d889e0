"""Fast, in-process tests of verification's decisions, written to kill the mutants that
scripts/mutation found surviving or never reached: each failure reason with its exact message,
the record verify keeps for the dashboard, verify_all's records, and the summary line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from internals import verification

import pylitestream


def _record(db: str, ok: bool, reason: str | None = None, message: str | None = None) -> Any:
    record: dict[str, Any] = dict.fromkeys(verification.RECORD_KEYS)
    record.update(database=db, ok=ok, reason=reason, message=message)
    return record


def test_summary_and_failure_of_name_every_failed_database() -> None:
    good = _record("/a.db", True)
    stale = _record("/b.db", False, "stale", "too old")
    gone = _record("/c.db", False, "unreachable", "no answer")
    assert verification.summary([good, good]) == "verified 2 database(s)"
    assert verification.failure_of([good]) is None
    assert verification.summary([good, stale, gone]) == (
        "2 of 3 database(s) failed verification: /b.db (stale): too old; "
        "/c.db (unreachable): no answer"
    )
    failure = verification.failure_of([good, stale, gone])
    assert failure is not None
    assert str(failure) == verification.summary([good, stale, gone])
    assert failure.reason == "stale" and failure.record is stale


def test_the_kept_result_is_the_latest_per_database(tmp_path: Path) -> None:
    db = tmp_path / "kept.db"
    assert pylitestream.last_verify(db) is None
    verification.keep_result(_record(str(db), False, "stale", "first"))
    verification.keep_result(_record(str(db), True, None, "second"))
    verification.keep_result(_record(str(tmp_path / "other.db"), False, "auth", "other"))
    kept = pylitestream.last_verify(db)
    assert kept is not None
    assert {k: kept[k] for k in ("database", "ok", "reason", "message")} == {
        "database": str(db),
        "ok": True,
        "reason": None,
        "message": "second",
    }
    assert set(kept) == {*verification.RECORD_KEYS, "finished_at"}
    assert kept["finished_at"].endswith("+00:00") and len(kept["finished_at"]) == 25
    path = verification._result_path(str(db))
    assert path.parent.name == "verify" and path.parent.parent.name == "pylitestream"
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []
    assert json.loads(path.read_text())["message"] == "second"
    # A record without a database is not kept anywhere.
    before = sorted(path.parent.iterdir())
    verification.keep_result(_record("", False, "error", "nowhere"))
    assert sorted(path.parent.iterdir()) == before
