"""Fault cycles against real processes, the backup surviving each: both lines, file and S3 replicas
(moto behind a loopback fault proxy that resets or stalls connections), `replicate`, `run` and
`Replicator`; SIGTERM, SIGKILL of litestream, of the supervisor and of the app, and S3 outages.
Each cycle writes rows continuously, injects its fault, recovers, stops gracefully, restores and
counts. bench/bench_faults.py runs the full plan many times."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import faults_harness as harness
import pytest
from conftest import Litestream, S3Server, s3_replica

# A bounded selection for CI (the bench runs every combination): every fault, supervisor and
# replica kind appears on each line.
CI_PLAN = [
    ("file", "sigterm", "Replicator"),
    ("file", "sigkill-litestream", "replicate"),
    ("file", "sigkill-supervisor", "run"),
    ("file", "sigkill-app", "run"),
    ("s3", "sigkill-supervisor", "Replicator"),
    ("s3", "s3-reset", "run"),
    ("s3", "s3-stall", "replicate"),
]


@pytest.mark.parametrize(("replica", "fault", "supervisor"), CI_PLAN)
def test_fault_cycle_loses_nothing_it_must_keep(
    ls: Litestream,
    tmp_path: Path,
    s3_server: S3Server,
    s3_bucket: str,
    replica: str,
    fault: str,
    supervisor: str,
) -> None:
    proxy = None
    s3 = None
    if replica == "s3":
        url = urlparse(s3_server.endpoint)
        proxy = harness.FaultProxy((url.hostname or "127.0.0.1", url.port or 80))
        s3 = {**s3_replica(s3_server, s3_bucket, "db"), "endpoint": proxy.endpoint}
    try:
        outcome = harness.run_cycle(
            ls.line, replica, fault, supervisor, tmp_path / "cycle", s3, proxy
        )
    finally:
        if proxy is not None:
            proxy.close()
    assert outcome.committed > 20, outcome
    assert outcome.integrity == "ok", outcome
    assert outcome.orphans == 0, outcome
    assert outcome.gap == 0, outcome
    assert outcome.lost_old == 0, outcome
    # Nothing here crashes the machine, so nothing at all may be lost: a graceful stop and a
    # killed supervisor both end in litestream's final sync, and a killed litestream's rows are
    # still in the database when it starts again.
    assert outcome.lost == 0, outcome
