"""Named bad-input cases, one group per kind of bad input (files, numbers, a litestream that
answers oddly, options), over every command and both Litestream lines. Each runs in-process
through cli.main (see harness.invoke) in its own sandbox."""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path

import pytest
from badinput_fakes import FAKES, VERSION_WORKS
from badinput_harness import LINES, Case, run_case

OUT = "@ROOT@/restored.db"


def listing_commands(line: str) -> list[list[str]]:
    """Every command that runs litestream to read something, on `line`."""
    common = [["databases"], ["snapshots", "-d", "app.db"], ["wal", "-d", "app.db"]]
    if line == "0.3":
        return [*common, ["generations", "-d", "app.db"]]
    return [*common, ["ltx", "-d", "app.db"], ["status"]]


def config_commands(line: str) -> list[list[str]]:
    """Every command that reads and checks the config before litestream starts."""
    return [
        *listing_commands(line),
        ["restore", "-d", "app.db", "--", "-o", "restored.db"],
        ["verify", "-d", "app.db"],
        ["verify", "--all"],
        ["replicate"],
        ["run", "--", "true"],
        ["config", "check"],
    ]


def timeout_commands(line: str) -> list[list[str]]:
    """Every command with --timeout (the options go before any --)."""
    return [
        *listing_commands(line),
        ["restore", "-d", "app.db"],
        ["verify", "-d", "app.db"],
        ["replicate"],
        ["run"],
        ["version"],
    ]


def every_command(line: str) -> list[list[str]]:
    return [
        *timeout_commands(line),
        ["env"], ["ps"], ["init"], ["demo"],
        ["config", "check"], ["config", "show"], ["config", "migrate"],
    ]  # fmt: skip


def with_tail(argv: list[str]) -> list[str]:
    """run needs an app after --; the others stand as they are."""
    return [*argv, "--", "true"] if argv[0] == "run" else argv


def name(argv: list[str]) -> str:
    return "-".join(a.strip("-").replace("/", "_") or "_" for a in argv)[:60]


CASES: list[Case] = []


def add(case: Case) -> None:
    CASES.append(case)


# --- files that are not what we expect -----------------------------------------------------------

VALID_05 = "dbs:\n  - path: @ROOT@/app.db\n    replica:\n      type: file\n      path: @ROOT@/r\n"
NOT_UTF8 = {
    "utf16-bom": codecs.BOM_UTF16_LE + VALID_05.encode("utf-16-le"),
    "utf16le": VALID_05.encode("utf-16-le"),
    "utf16be": VALID_05.encode("utf-16-be"),
    "latin1": "dbs:\n  - path: /srv/café.db\n".encode("latin-1"),
    "cp1252": "dbs:\n  - path: /srv/na\u00efve\u2019s.db\n".encode("cp1252"),
    "binary": bytes(range(256)) * 8,
    "nul-bytes": b"dbs:\n  - path: /x.db\0\0\0\n",
    "gzip": gzip.compress(VALID_05.encode()),
}
for line in LINES:
    for label, content in NOT_UTF8.items():
        for argv in [*config_commands(line), ["config", "show"], ["config", "migrate"]]:
            add(Case(f"config-{label}-{line}-{name(argv)}", argv, 2, line,
                     files={"litestream.yml": content}, fragments=("litestream.yml",)))  # fmt: skip

PYPROJECTS = {
    "binary": bytes(range(256)) * 4,
    "utf16": '[tool.pylitestream]\nreplica_bucket = "b"\n'.encode("utf-16"),
    "latin1": '[project]\nname = "café"\n'.encode("latin-1"),
    "tool-is-a-string": b'tool = "x"\n',
    "pylitestream-is-a-number": b"[tool]\npylitestream = 3\n",
    "unknown-key": b'[tool.pylitestream]\nbogus = "x"\n',
    "credential": b'[tool.pylitestream]\nreplica_access_key = "s3cr3t-value"\n',
    "not-toml": b"[tool\nname = \n",
    "config-path-number": b"[tool.pylitestream]\nconfig_path = 5\n",
}
for line in LINES:
    for label, content in PYPROJECTS.items():
        for argv in [*config_commands(line), ["config", "show"], ["config", "migrate"]]:
            add(Case(f"pyproject-{label}-{line}-{name(argv)}", argv, 2, line,
                     files={"pyproject.toml": content}, fragments=("pyproject.toml",),
                     absent=("s3cr3t-value",)))  # fmt: skip
    # A broken pyproject.toml above the project, not in it.
    add(Case(f"pyproject-parent-{line}", ["databases"], 2, line,
             files={"pyproject.toml": b'tool = "x"\n', "sub/litestream.yml": b""},
             fragments=("pyproject.toml",)))  # fmt: skip


def config_cases(line: str) -> dict[str, tuple[str, str]]:
    """label -> (config text, a fragment of the message). Each is refused by the check."""
    key = "replicas:\n      - " if line == "0.3" else "replica:\n      "
    rep = f"    {key}type: file\n      {'  ' if line == '0.3' else ''}path: @ROOT@/r\n"

    def db(path: str, replica: str = rep) -> str:
        return f"dbs:\n  - path: {path}\n{replica}"

    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
    )
    deep = "dbs:\n" + "".join("  " * (i + 1) + "- \n" for i in range(100))
    return {
        "unclosed-brace": (db("@ROOT@/${NOPE/app.db"), "never closed"),
        "empty-braces": (db("@ROOT@/${}app.db"), "${}"),
        "dollar-dollar": (db("@ROOT@/app$$.db"), "'$$'"),
        "dollar-digit": (db("@ROOT@/app$1.db"), "'$1'"),
        "unset-variable": (db("${PYLITESTREAM_TEST_UNSET}/app.db"), "is not set"),
        "relative-db": (db("app.db"), "relative"),
        "relative-replica": (db("@ROOT@/app.db", rep.replace("@ROOT@/r", "backups/r")), "relative"),
        "null-path": (db("null"), "empty"),
        "tilde-null": (db("~"), "empty"),
        "number-path": (db("42"), "int"),
        "bool-path": (db("true"), "bool"),
        "list-path": (db("[a, b]"), "not a YAML list"),
        "dbs-number": ("dbs: 5\n", "'dbs'"),
        "dbs-mapping": ("dbs: {a: 1}\n", "'dbs'"),
        "empty": ("", "empty"),
        "comments-only": ("# nothing here\n", "empty"),
        "top-level-list": ("- a\n- b\n", "mapping"),
        "unknown-key": (db("@ROOT@/app.db") + "    retentoin: 24h\n", "unknown key"),
        "yaml-syntax": ("dbs:\n  - path: [unclosed\n", "YAML syntax error"),
        "tab-indent": ("dbs:\n\t- path: /x.db\n", "YAML syntax error"),
        "alias-bomb": (bomb, "100000 values"),
        "deep-nesting": (deep, "nested"),
        "flow-nesting": ("dbs: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
        "missing-dir": (db("@ROOT@/no/such/dir/app.db"), "does not exist"),
    }


for line in LINES:
    for label, (text, fragment) in config_cases(line).items():
        for argv in config_commands(line):
            if label == "missing-dir" and argv[0] == "run":
                continue  # run restores into a fresh data directory, creating it
            add(Case(f"check-{label}-{line}-{name(argv)}", argv, 2, line,
                     files={"litestream.yml": text.encode()}, fragments=(fragment,)))  # fmt: skip
    add(Case(f"too-large-{line}", ["config", "show"], 2, line,
             files={"litestream.yml": b"# " + b"x" * (1 << 20) + b"\ndbs: []\n"},
             fragments=("too large",)))  # fmt: skip
    for label in ("alias-bomb", "deep-nesting", "dbs-number", "yaml-syntax"):
        text, fragment = config_cases(line)[label]
        # show prints what litestream reads, so only what cannot be read at all fails there.
        shows = [] if label == "dbs-number" else [["config", "show"]]
        for argv in [*shows, ["config", "migrate"]]:
            add(Case(f"read-{label}-{line}-{name(argv)}", argv, 2, line, bound=10,
                     files={"litestream.yml": text.encode()}, fragments=(fragment,)))  # fmt: skip


# --- numbers -------------------------------------------------------------------------------------

BAD_SECONDS = ["inf", "-inf", "nan", "1e309", "-1", "0", "0.0", "86401", "1e-400"]
for line in LINES:
    for value in BAD_SECONDS:
        for argv in timeout_commands(line):
            add(Case(f"timeout-{value}-{line}-{name(argv)}",
                     with_tail([*argv, f"--timeout={value}"]), 2, line,
                     fragments=("--timeout",)))  # fmt: skip
        for argv in (["databases"], ["version"], ["restore", "-d", "app.db", "--", "-o", "new.db"],
                     ["verify", "--all"]):  # fmt: skip
            add(Case(f"timeout-env-{value}-{line}-{name(argv)}", argv, 2, line,
                     env={"PYLITESTREAM_TIMEOUT": value},
                     fragments=("PYLITESTREAM_TIMEOUT",)))  # fmt: skip
    add(Case(f"timeout-word-{line}", ["databases", "--timeout", "soon"], 2, line,
             fragments=("--timeout",)))  # fmt: skip
    add(Case(f"timeout-env-word-{line}", ["databases"], 2, line,
             env={"PYLITESTREAM_TIMEOUT": "soon"},
             fragments=("PYLITESTREAM_TIMEOUT",)))  # fmt: skip

# A hanging litestream, the version check included, ends at the timeout given.
for label in ("hang-version", "hang-command"):
    for argv in (["databases"], ["snapshots", "-d", "app.db"], ["ltx", "-d", "app.db"],
                 ["status"], ["restore", "-d", "app.db", "--", "-o", "restored.db"]):  # fmt: skip
        add(Case(f"{label}-flag-{name(argv)}", [*argv[:1], "--timeout", "1", *argv[1:]], 1,
                 fragments=("1 s",), bound=6, install_dir=FAKES[label]))  # fmt: skip
        add(Case(f"{label}-env-{name(argv)}", argv, 1, env={"PYLITESTREAM_TIMEOUT": "1"},
                 fragments=("1 s",), bound=6, install_dir=FAKES[label]))  # fmt: skip
add(Case("hang-version-version", ["version", "--timeout", "1"], 1, bound=6,
         fragments=("version", "1 s"), install_dir=FAKES["hang-version"]))  # fmt: skip


# --- a litestream that answers oddly -------------------------------------------------------------

for fake, directory in FAKES.items():
    if fake.startswith("hang"):
        continue
    line = "0.3" if fake.endswith("0.3") else "0.5"
    works = fake in VERSION_WORKS
    for argv in listing_commands(line):
        add(Case(f"fake-{fake}-{name(argv)}", argv, 1, line, install_dir=directory,
                 fragments=("litestream",), absent=("main.go",)))  # fmt: skip
    add(Case(f"fake-{fake}-version", ["version"], 0 if works else 1, line,
             install_dir=directory, absent=("main.go",)))  # fmt: skip
    if fake.startswith(("panic", "silent")):
        argv = ["restore", "-d", "app.db", "--", "-o", "restored.db"]
        add(Case(f"fake-{fake}-restore", argv, 1, line, install_dir=directory,
                 fragments=("panic: runtime error",) if "panic" in fake else ()))  # fmt: skip


# --- options -------------------------------------------------------------------------------------

TYPOS = ["--databse", "--confg", "--timout=5", "--no-valdate", "--jsn", "--bogus", "-x", "--"]
for line in LINES:
    for typo in TYPOS[:-1]:
        for argv in every_command(line):
            add(Case(f"typo-{typo.strip('-')}-{line}-{name(argv)}",
                     with_tail([*argv, typo, "x"]), 2, line,
                     fragments=(typo.split("=")[0],)))  # fmt: skip
    # The same database option everywhere: --database, -database, -d.
    for form in ("--database", "-database", "-d"):
        for command in (["snapshots"], ["wal"], ["restore"], ["verify"],
                        ["generations"] if line == "0.3" else ["ltx"]):  # fmt: skip
            argv = [*command, form, "other.db"]
            add(Case(f"database-{form}-{line}-{command[0]}", argv, 1, line,
                     fragments=("other.db",)))  # fmt: skip
        add(Case(f"database-init-{form}-{line}", ["init", form, "x.db"], 2, line,
                 fragments=("already exists",)))  # fmt: skip
    # Stray words before --.
    for command in (["restore", "-d", "app.db"], ["replicate"], ["run"]):
        add(Case(f"stray-{line}-{command[0]}", [*command, "stray", "--", "true"], 2, line,
                 fragments=("stray",)))  # fmt: skip

RESTORE_FLAGS = {
    "both": [["-if-replica-exists=maybe"], ["-if-db-not-exists=yes"], ["-parallelism", "0"],
             ["-parallelism", "\u0663"], ["-parallelism", "\uff18"],  # non-ASCII digits
             ["-parallelism", "x"], ["-parallelism=-3"], ["-timestamp", "yesterday"],
             ["-timestamp", "2026-01-01"], ["-timestamp", "2026-13-45T99:00:00Z"],
             ["-o", "newdir/"], ["-o", "data"], ["-o"], ["---o", "x.db"], ["-=x"],
             ["-bogus"], ["-config", "x.yml"], ["positional"], ["-integrity-check", "sometimes"],
             ["-integrity-check", "QUICK"], ["-integrity-check"]],
    "0.3": [["-index", "zz"], ["-index", "123456789"], ["-generation", "xyz"], ["-txid", "0" * 16],
            ["-force"], ["-dry-run"], ["-f"]],
    "0.5": [["-txid", "5"], ["-txid", "0x00000005"],
            ["-follow-interval", "5"], ["-index", "1"], ["-generation", "1"], ["-replica", "x"],
            ["-json"], ["-dry-run"], ["-f"]],
}  # fmt: skip
REPLICATE_FLAGS = {
    "both": [["-exec"], ["-config", "x.yml"], ["-no-expand-env=maybe"], ["-bogus"]],
    "0.3": [["-once"], ["-log-level", "debug"]],
    "0.5": [["-once=maybe"], ["-log-level", "loud"], ["-force-snapshot=2"]],
}
for line in LINES:
    for flags in RESTORE_FLAGS["both"] + RESTORE_FLAGS[line]:
        argv = ["restore", "-d", "app.db", "--", *flags]
        add(Case(f"restore-flag-{line}-{name(flags)}", argv, 2, line))
    for flags in REPLICATE_FLAGS["both"] + REPLICATE_FLAGS[line]:
        argv = ["replicate", "--", *flags]
        add(Case(f"replicate-flag-{line}-{name(flags)}", argv, 2, line))
    # run checks everything, the app included, before anything starts.
    run_cases = [
        (["run", "--", "@ROOT@/no/such/app"], 127, "no such file"),
        (["run", "--", "pylitestream-no-such-command"], 127, "not found"),
        (["run", "--", "@ROOT@/data/keep.txt"], 126, "not executable"),
        (["run", "--", "@ROOT@/data"], 126, "not executable"),
        (["run"], 2, "needs a command"),
        (["run", "--"], 2, "needs a command"),
        (["run", "--on-litestream-exit", "maybe", "--", "true"], 2, "--on-litestream-exit"),
        (["run", "--databse", "x", "--", "true"], 2, "did you mean --database"),
        (["run", "--no-valdate", "--", "true"], 2, "did you mean --no-validate"),
        (["run", "--timeout", "0", "--", "true"], 2, "--timeout"),
        (["run", "-c", "missing.yml", "--", "true"], 2, "missing.yml"),
    ]
    for argv, code, fragment in run_cases:
        add(Case(f"run-{line}-{name(argv)}", argv, code, line, fragments=(fragment,)))
    # restore's plan takes the same arguments as the restore it plans.
    for argv, fragment in [
        (["restore", "-d", "app.db", "--dry-run", "--bogus"], "no such option: --bogus"),
        (["restore", "-d", "app.db", "--dry-run", "--jsn"], "did you mean --json"),
        (["restore", "-d", "app.db", "--dry-run", "-o", "x.db"], "flags go after --"),
    ]:
        add(Case(f"restore-plan-{line}-{name(argv)}", argv, 2, line, fragments=(fragment,)))
    init_cases = [
        (["init", "--replica", "ftp://host/x", "-d", "x.db", "-o", "new.yml"], "ftp"),
        (["init", "--line", "0.4", "-d", "x.db", "-o", "new.yml"], "--line"),
        (["init", "--django", "no_such_settings_mod", "-o", "new.yml"], "no_such_settings_mod"),
        (["init", "--django", "exiting_settings", "-o", "new.yml"], "sys.exit(3)"),
        (["init", "--django", "raising_settings", "-o", "new.yml"], "raising_settings"),
        (["init", "--django", "empty_settings", "-o", "new.yml"], "DATABASES"),
        (["init", "-o", "new.yml"], "no database"),
        (["init", "-d", "x.db"], "already exists"),
    ]
    for argv, fragment in init_cases:
        add(Case(f"init-{line}-{name(argv)}", argv, 2, line, fragments=(fragment,),
                 files={"exiting_settings.py": b"import sys\nsys.exit(3)\n",
                        "raising_settings.py": b"raise RuntimeError('boom')\n",
                        "empty_settings.py": b"X = 1\n"}))  # fmt: skip
    # Diagnoses that need no replica at all.
    add(Case(f"verify-neither-{line}", ["verify"], 2, line, fragments=("--all",)))
    add(Case(f"verify-both-{line}", ["verify", "-d", "app.db", "--all"], 2, line))
    add(Case(f"verify-not-in-config-{line}", ["verify", "-d", "other.db"], 1, line,
             fragments=("not_in_config",)))  # fmt: skip
    add(Case(f"ltx-level-{line}", ["ltx", "-d", "app.db", "--level", "10"], 2, line))
    add(Case(f"demo-dir-a-file-{line}", ["demo", "--dir", "app.db"], 2, line,
             fragments=("not a directory",)))  # fmt: skip
    add(Case(f"demo-dir-under-a-file-{line}", ["demo", "--dir", "app.db/x"], 2, line,
             fragments=("cannot create --dir",)))  # fmt: skip
    add(Case(f"install-dir-holds-a-directory-{line}", ["databases"], 1, line,
             env={"LITESTREAM_INSTALL_DIR": "bin"}, files={"bin/litestream/x": b""},
             fragments=("is a directory",)))  # fmt: skip
    add(Case(f"no-config-{line}", ["databases", "-c", "nope.yml"], 2, line, fragments=("nope",)))
    add(Case(f"install-dir-missing-{line}", ["databases"], 1, line,
             env={"LITESTREAM_INSTALL_DIR": "/no/such/dir"},
             fragments=("LITESTREAM_INSTALL_DIR",)))  # fmt: skip
add(Case("status-not-in-config", ["status", "-d", "other.db"], 1, fragments=("not found",)))
add(Case("generations-on-0.5", ["generations", "-d", "app.db"], 2, fragments=("ltx",)))
add(Case("ltx-on-0.3", ["ltx", "-d", "app.db"], 2, "0.3", fragments=("snapshots",)))
for digit in ("\u0663", "\uff13", "\u00b3"):  # Arabic-Indic 3, fullwidth 3, superscript 3
    add(Case(f"ltx-level-U+{ord(digit):04X}", ["ltx", "-d", "app.db", "--level", digit], 2))
add(Case("status-on-0.3", ["status"], 2, "0.3", fragments=("databases",)))

assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_named(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)


def test_case_count() -> None:
    """At least 500 cases, over every command and both lines: the bad-input suite's breadth."""
    assert len(CASES) >= 500
    assert {case.line for case in CASES} == set(LINES)
    commands = {case.argv[0] for case in CASES}
    assert commands >= {"databases", "generations", "snapshots", "wal", "ltx", "status",
                        "restore", "replicate", "run", "verify", "version", "env", "ps",
                        "init", "demo", "config"}  # fmt: skip
