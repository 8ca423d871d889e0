"""Bad input to pylitestream.fastapi, as a user meets it: an app module served by real uvicorn.
FastAPI's way to report a bad app is the exception, printed by the server: a bad argument to
dashboard_router() or replicator_lifespan() is raised when the module is imported (uvicorn
exits 1), and a Replicator that cannot start fails the lifespan (uvicorn says "Application
startup failed" and exits 3). Either way the exception is a pylitestream error whose message
is one line, naming what is wrong, printed once, with no chained second exception, no secret,
nothing changed on disk, nothing left running, and the server never listening."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from badinput_harness import LINES, Case, case_env, make_sandbox, snapshot

import pylitestream

SECRET = "fastapi-badinput-secret-6b1f"
APP = """from fastapi import Depends, FastAPI
from pylitestream.fastapi import dashboard_router, replicator_lifespan


def staff():
    return True


def yielding():
    yield True


app = FastAPI(lifespan=replicator_lifespan(@LIFESPAN@))
app.include_router(dashboard_router(@ROUTER@))
"""
VIEW = "view=Depends(staff)"
S3_CONFIG = b"""dbs:
  - path: @ROOT@/app.db
    replica:
      type: s3
      bucket: $LITESTREAM_REPLICA_BUCKET
      path: app
      secret-access-key: $LITESTREAM_SECRET_ACCESS_KEY
      access-key-id: AKIAFASTAPIBADINPUT
"""
GONE_CONFIG = {
    "0.5": b"dbs:\n  - path: @ROOT@/gone.db\n    replica: {type: file, path: @ROOT@/r}\n",
    "0.3": b"dbs:\n  - path: @ROOT@/gone.db\n    replicas: [{type: file, path: @ROOT@/r}]\n",
}
AT_IMPORT, AT_STARTUP = 1, 3  # uvicorn's exit codes: the app failed to load, or to start up
CASES: list[Case] = []


def add(name: str, code: int, error: str, fragment: str, *, router: str = VIEW,
        lifespan: str = "enabled=False", files: dict[str, bytes] | None = None,
        env: dict[str, str | None] | None = None, lines: tuple[str, ...] = ("0.5",),
        install_dir: Path | None = None) -> None:  # fmt: skip
    app = APP.replace("@ROUTER@", router).replace("@LIFESPAN@", lifespan)
    for line in lines:
        CASES.append(Case(f"fastapi-{name}-{line}", [error], code, line,
                          files={"app.py": app.encode(), **(files or {})},
                          env={"LITESTREAM_SECRET_ACCESS_KEY": SECRET, **(env or {})},
                          fragments=(fragment,), absent=(SECRET,),
                          install_dir=install_dir))  # fmt: skip


# dashboard_router(): refused when the module is imported.
add("router-open", AT_IMPORT, "UsageError", "the dashboard would be open to anyone: pass "
    "view=Depends(...) with your app's login rule", router="")  # fmt: skip
add("router-actions-only", AT_IMPORT, "UsageError", "open to anyone",
    router="actions=Depends(staff)")  # fmt: skip
add("router-view-int", AT_IMPORT, "UsageError", "view= must be a dependency", router="view=42")
add("router-view-empty-depends", AT_IMPORT, "UsageError", "view=Depends() needs the dependency",
    router="view=Depends()")  # fmt: skip
add("router-actions-str", AT_IMPORT, "UsageError", "actions= must be a dependency",
    router=f"{VIEW}, actions='admin'")  # fmt: skip
add("router-actions-yield", AT_IMPORT, "UsageError", "cannot be a dependency with yield",
    router=f"{VIEW}, actions=Depends(yielding)")  # fmt: skip
for prefix in ("''", "'/'", "'litestream'", "'/litestream/'", "None"):
    name = prefix.strip("'").strip("/") or "root"
    add(f"router-prefix-{name}", AT_IMPORT, "UsageError", "prefix= must be a path below",
        router=f"{VIEW}, prefix={prefix}")  # fmt: skip
add("router-config-missing", AT_IMPORT, "ConfigNotFound", "nope.yml",
    router=f"{VIEW}, config='@ROOT@/nope.yml'", lines=LINES)  # fmt: skip
add("router-binary-missing", AT_IMPORT, "BinaryNotFound", "litestream",
    install_dir=Path("/nonexistent-litestream-dir"))  # fmt: skip
# replicator_lifespan(): its arguments when the module is imported ...
add("lifespan-on-exit", AT_IMPORT, "UsageError",
    "on_litestream_exit must be 'stop' or 'restart', not 'sometimes'",
    lifespan="on_litestream_exit='sometimes'")  # fmt: skip
add("lifespan-not-callable", AT_IMPORT, "UsageError", "lifespan= must be the app's own lifespan",
    lifespan="lifespan=42")  # fmt: skip
add("lifespan-config-int", AT_IMPORT, "UsageError", "config= must be a path, not int",
    lifespan="42")  # fmt: skip
# ... and the Replicator when the server starts up.
add("lifespan-config-missing", AT_STARTUP, "ConfigNotFound", "nope.yml",
    lifespan="'@ROOT@/nope.yml'", lines=LINES)  # fmt: skip
add("lifespan-config-yaml", AT_STARTUP, "ConfigError", "broken.yml",
    lifespan="'@ROOT@/broken.yml'", files={"broken.yml": b"dbs: [\n  - path: x\n"},
    lines=LINES)  # fmt: skip
add("lifespan-unset-variable", AT_STARTUP, "ConfigError", "LITESTREAM_REPLICA_BUCKET is not set",
    lifespan="'@ROOT@/s3.yml'", files={"s3.yml": S3_CONFIG},
    env={"LITESTREAM_REPLICA_BUCKET": None}, lines=LINES)  # fmt: skip
add("lifespan-database-not-in-config", AT_STARTUP, "UsageError", "is not in the config",
    lifespan="'@ROOT@/litestream.yml', databases=['@ROOT@/other.db']", lines=LINES)  # fmt: skip
for line in LINES:
    add("lifespan-wal-without-database", AT_STARTUP, "UsageError", "gone.db-wal exists",
        lifespan="'@ROOT@/gone.yml'", lines=(line,),
        files={"gone.yml": GONE_CONFIG[line], "gone.db-wal": b"half"})  # fmt: skip


def serve(root: Path, case: Case) -> tuple[int, str, float]:
    """`uvicorn app:app` in the sandbox; a case that starts serving is a bug (it would wait for
    requests until the bound)."""
    env = {k: v for k, v in {**os.environ, **case_env(case)}.items() if v is not None}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--port", "0", "app:app"],
        cwd=root, env=env, capture_output=True, text=True, timeout=case.bound, check=False,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fastapi_bad_input(case: Case, tmp_path: Path) -> None:
    case.files = {name: content.replace(b"@ROOT@", str(tmp_path).encode())
                  for name, content in case.files.items()}  # fmt: skip
    make_sandbox(tmp_path, case)
    before = snapshot(tmp_path)
    code, output, seconds = serve(tmp_path, case)
    error = f"pylitestream.errors.{case.argv[0]}: "
    lines = [line for line in output.splitlines() if line.startswith(error)]
    assert code == case.code, output
    assert len(lines) == 1, output  # printed once, one line
    assert all(fragment in lines[0] for fragment in case.fragments), (case.fragments, lines[0])
    assert "During handling of the above exception" not in output, output
    assert "direct cause of the following exception" not in output, output
    assert "Uvicorn running on" not in output
    if case.code == AT_STARTUP:
        assert "Application startup failed. Exiting." in output
    for secret in case.absent:
        assert secret not in output
    assert snapshot(tmp_path) == before
    assert not [row for row in pylitestream.processes() if row["status"] == "running"
                and str(tmp_path) in str(row["config"])]  # fmt: skip
    assert seconds < case.bound
