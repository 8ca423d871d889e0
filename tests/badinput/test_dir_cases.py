"""Bad input for directory replication (0.5 `dir:` entries), held to the bad-input contract
(one `pylitestream: error:` line, exit 2, nothing changed): `init --dir` on a missing
directory, with a pattern that matches nothing or is malformed, or on 0.3; flags of --dir
without it; a tenant path outside every `dir:` entry; a 0.3 config with `dir:`."""

from __future__ import annotations

from pathlib import Path

import pytest
from badinput_harness import Case, run_case

# A tenant the sandbox's data/ holds: the SQLite header is what litestream looks for.
TENANT = {"data/a.db": b"SQLite format 3\x00" + bytes(84)}
DIR_CONFIG = (
    b"dbs:\n  - dir: @ROOT@/data\n    pattern: '*.db'\n    watch: true\n    replica:\n"
    b"      type: file\n      path: @ROOT@/replica\n"
)
INIT = ["init", "-o", "@ROOT@/new.yml"]

CASES = [
    Case("init-dir-missing", [*INIT, "--dir", "@ROOT@/nowhere"], 2,
         fragments=("--dir @ROOT@/nowhere does not exist; nothing was written",)),
    Case("init-dir-is-a-file", [*INIT, "--dir", "@ROOT@/app.db"], 2,
         fragments=("--dir @ROOT@/app.db is not a directory",)),
    Case("init-pattern-matches-nothing", [*INIT, "--dir", "@ROOT@/data", "--pattern", "*.sqlite"],
         2, files=TENANT,
         fragments=("--pattern '*.sqlite' matches no SQLite database in @ROOT@/data",
                    "pass --watch")),
    Case("init-pattern-malformed", [*INIT, "--dir", "@ROOT@/data", "--pattern", "[a-"], 2,
         files=TENANT, fragments=("pattern '[a-' is not a valid file-name pattern",)),
    Case("init-pattern-with-slash", [*INIT, "--dir", "@ROOT@", "--pattern", "data/*.db"], 2,
         files=TENANT, fragments=("pattern 'data/*.db' contains '/'",)),
    Case("init-watch-without-dir", [*INIT, "-d", "@ROOT@/app.db", "--watch"], 2,
         fragments=("--pattern, --recursive and --watch go with --dir DIRECTORY",)),
    Case("init-dir-on-03", [*INIT, "--dir", "@ROOT@/data", "--line", "0.3"], 2, files=TENANT,
         fragments=("--dir: Litestream 0.3 has no directory replication",)),
    Case("restore-outside-every-dir", ["restore", "-d", "@ROOT@/elsewhere/x.db", "-c",
                                       "@ROOT@/dir.yml"], 2,
         files={**TENANT, "dir.yml": DIR_CONFIG},
         fragments=("@ROOT@/elsewhere/x.db is not in @ROOT@/dir.yml",
                    "no database of its 'dir:' entries (@ROOT@/data (pattern '*.db'))")),
    Case("restore-tenant-not-matching", ["restore", "-d", "@ROOT@/data/a.sqlite", "-c",
                                         "@ROOT@/dir.yml"], 2,
         files={**TENANT, "dir.yml": DIR_CONFIG},
         fragments=("@ROOT@/data/a.sqlite is not in @ROOT@/dir.yml",)),
    Case("config-03-with-dir", ["config", "check", "-c", "@ROOT@/dir.yml"], 2, line="0.3",
         files={**TENANT, "dir.yml": DIR_CONFIG.replace(b"    replica:\n", b"    replicas:\n")},
         fragments=("Litestream 0.3 has no directory replication ('dir:')",)),
    Case("config-dir-without-replica", ["config", "check", "-c", "@ROOT@/dir.yml"], 2,
         files={**TENANT, "dir.yml": DIR_CONFIG.split(b"    replica:")[0]},
         fragments=("entry has no 'replica:', so none of its databases would be replicated",)),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_directory_replication_input(case: Case, tmp_path: Path) -> None:
    root = tmp_path / "sandbox"
    fixed = Case(**{**case.__dict__, "fragments": tuple(
        f.replace("@ROOT@", str(root)) for f in case.fragments)})  # fmt: skip
    run_case(fixed, root)
