"""Generated bad input (hypothesis): YAML documents, environment values and mutations of valid
command lines, on both Litestream lines. Whatever the input, the contract holds: exit 0 with no
error line, or one `pylitestream: error:` line with a documented exit code; no traceback, no
pre-existing file changed, done within the bound. Derandomized, so CI runs the same cases."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml
from badinput_harness import LINES, Case, run_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(
    max_examples=150, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip

# --- YAML documents ------------------------------------------------------------------------------

KEYS = ["dbs", "path", "dir", "replica", "replicas", "type", "url", "bucket", "endpoint",
        "access-key-id", "secret-access-key", "region", "retention", "sync-interval", "logging",
        "level", "socket", "enabled", "snapshot", "interval", "addr", "exec", "age", "<<",
        "pth"]  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["@ROOT@/app.db", "app.db", "${NOPE", "$$", "${HOME}/x", "~", "s3://b/p",
                     "file:///tmp/x", "@ROOT@/r", "/", "", "null", "[", "&a", "*a"]),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=25,
)
# YAML merge keys (`<<: *anchor`), which config check expands as litestream does: merged
# replicas and databases with any key and value, and merge values that are not mappings.
MERGED = st.builds(
    lambda key, value, merge, own: (
        f"dbs:\n  - path: @ROOT@/app.db\n    replica: &r\n      type: file\n"
        f"      {key}: {value}\n  - path: @ROOT@/b.db\n    replica:\n      <<: {merge}\n"
        f"      {own}: {value}\n"
    ),
    st.sampled_from([*KEYS[:-2], "pth"]),
    SCALARS.map(lambda v: json.dumps(v if isinstance(v, (str, bool, int)) else str(v))),
    st.sampled_from(["*r", "[*r]", "[*r, *r]", "[*r, 1]", "1", "*nope", "{}", "[]", "~"]),
    st.sampled_from(KEYS[:-2]),
)
DOCUMENTS = st.one_of(
    MERGED,
    st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5).map(
        lambda d: yaml.safe_dump(d, allow_unicode=True)
    ),
    VALUES.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    st.text(max_size=300),  # anything at all, YAML or not
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
)
YAML_COMMANDS = [["config", "check"], ["config", "show"], ["databases"],
                 ["snapshots", "-d", "app.db"],
                 ["restore", "-d", "app.db", "--", "-o", "new.db"]]  # fmt: skip


@SETTINGS
@given(
    document=DOCUMENTS, line=st.sampled_from(LINES), argv=st.sampled_from(YAML_COMMANDS),
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "latin-1"]),
)  # fmt: skip
def test_yaml_documents(document: str, line: str, argv: list[str], encoding: str) -> None:
    content = document.encode(encoding, errors="replace")
    case = Case("generated-yaml", argv, 2, line, files={"litestream.yml": content}, also=(0, 1))
    with tempfile.TemporaryDirectory() as root:
        run_case(case, Path(root))


# --- environment values --------------------------------------------------------------------------

ENV_TEXT = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
                   max_size=40)  # fmt: skip
NUMBERISH = st.one_of(
    ENV_TEXT,
    st.floats().map(repr),
    st.integers(-(10**400), 10**400).map(str),
    st.sampled_from(["inf", "-inf", "nan", "1e309", "0", "-0", "1e-400", "86400", "86400.0001",
                     " 5 ", "5s", "0x10", "1_000"]),
)  # fmt: skip
ENV_CASES = {
    "PYLITESTREAM_TIMEOUT": (NUMBERISH, ["databases"], (0, 1, 2)),  # 1: too short to finish
    "LITESTREAM_CONFIG": (ENV_TEXT, ["databases"], (0, 2)),
    "LITESTREAM_INSTALL_DIR": (ENV_TEXT, ["version"], (1,)),
    "PLS_TEST_VALUE": (ENV_TEXT, ["config", "check"], (0, 2)),
}
CONFIG_WITH_VARIABLE = (
    "dbs:\n  - path: @ROOT@/${PLS_TEST_VALUE}app.db\n    replica:\n      path: /r\n"
)


@SETTINGS
@given(data=st.data(), name=st.sampled_from(sorted(ENV_CASES)), line=st.sampled_from(LINES))
def test_environment_values(data: st.DataObject, name: str, line: str) -> None:
    strategy, argv, codes = ENV_CASES[name]
    value = data.draw(strategy)
    files = {"litestream.yml": CONFIG_WITH_VARIABLE.encode()} if name == "PLS_TEST_VALUE" else {}
    if name == "LITESTREAM_INSTALL_DIR" and not value:
        return  # empty means unset: the wheel's binary, which a development checkout lacks
    case = Case(f"generated-env-{name}", argv, codes[0], line, env={name: value}, files=files,
                also=codes[1:])  # fmt: skip
    with tempfile.TemporaryDirectory() as root:
        run_case(case, Path(root))


# --- mutated command lines -----------------------------------------------------------------------


def valid_argvs(line: str) -> list[list[str]]:
    """Command lines that work on `line` and change nothing that exists."""
    argvs = [
        ["databases", "--json"], ["snapshots", "-d", "app.db"], ["wal", "--database", "app.db"],
        ["restore", "-d", "app.db", "--timeout", "10", "--", "-o", "new.db", "-if-replica-exists"],
        ["config", "check", "--line", line], ["config", "show", "--json"], ["version"], ["env"],
        ["ps", "--json"], ["init", "-d", "x.db", "-o", "new.yml", "--line", line],
    ]  # fmt: skip
    if line == "0.3":
        return [*argvs, ["generations", "-database", "app.db"]]
    return [*argvs, ["ltx", "-d", "app.db", "--level", "all"], ["status", "--json"],
            ["config", "migrate", "-o", "migrated.yml"]]  # fmt: skip


TOKENS = st.one_of(
    st.sampled_from(["--", "-", "=", "--json", "-d", "--database", "-database", "--config",
                     "-c", "--timeout", "--no-validate", "--level", "--line", "-o", "-txid",
                     "-timestamp", "-if-db-not-exists=maybe", "-parallelism", "--all", "x.db",
                     "app.db", "0", "-1", "nan", "inf", "9" * 40, "--databse", "--jsno", "-x",
                     "\u0663", "\uff18", "1\u0660"]),  # digits Python's isdigit takes, Go not
    ENV_TEXT,
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, line: str) -> list[str]:
    argv = list(draw(st.sampled_from(valid_argvs(line))))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(argv)))
        how = draw(st.sampled_from(["insert", "delete", "drop-char", "swap", "replace", "cut"]))
        if how == "insert":
            argv.insert(where, draw(TOKENS))
        elif argv and how == "delete":
            del argv[min(where, len(argv) - 1)]
        elif argv and how == "drop-char":
            index = min(where, len(argv) - 1)
            word = argv[index]
            if len(word) > 1:
                cut = draw(st.integers(0, len(word) - 1))
                argv[index] = word[:cut] + word[cut + 1 :]
        elif len(argv) > 1 and how == "swap":
            index = min(where, len(argv) - 2)
            argv[index], argv[index + 1] = argv[index + 1], argv[index]
        elif argv and how == "replace":
            argv[min(where, len(argv) - 1)] = draw(TOKENS)
        elif how == "cut":
            argv = argv[: max(where, 1)]
    return argv


# Commands a mutation must never reach: they replace the process, start daemons or apps, or
# write to the live database by design.
_NEVER = {"replicate", "run", "verify", "demo"}


@SETTINGS
@given(data=st.data(), line=st.sampled_from(LINES))
def test_mutated_argv(data: st.DataObject, line: str) -> None:
    argv = data.draw(mutated(line))
    if argv and argv[0] in _NEVER:
        return
    case = Case("generated-argv", argv, 2, line, also=(0, 1), bound=30)
    with tempfile.TemporaryDirectory() as root:
        run_case(case, Path(root))
