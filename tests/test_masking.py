"""Secrets never shown: masking of key ids and URLs, redaction of every known secret, and a
real password in litestream's own error kept off the terminal and the disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import (
    Litestream,
    cli,
    create_db,
    write_config,
)
from internals import mask_urls

from pylitestream.masking import MASK, mask_env_value, redact


def test_masking() -> None:
    assert mask_env_value("LITESTREAM_SECRET_ACCESS_KEY", "abc") == "****"
    assert mask_env_value("AWS_SESSION_TOKEN", "abcdef") == "****"
    assert mask_env_value("LITESTREAM_ACCESS_KEY_ID", "AKIAABCDEFGH1234") == "****1234"
    assert mask_env_value("LITESTREAM_REPLICA_BUCKET", "b") == "b"
    assert mask_env_value("LITESTREAM_REPLICA_URL", "sftp://u:pw@h/x") == "sftp://u:****@h/x"
    assert redact("error: key hunter2 bad", ["hunter2"]) == "error: key **** bad"


# Written to kill mutants scripts/mutation found surviving: each pins one rule no faster
# test held.
def test_redact_replaces_every_known_secret_longest_first() -> None:
    text = "key=abcd1234 short=abcd url=sftp://bob:pw1@host/x"
    assert redact(text, ["abcd", "abcd1234"]) == (
        f"key={MASK} short={MASK} url=sftp://bob:{MASK}@host/x"
    )
    assert redact("abc is short", ["abc"]) == "abc is short"  # under 4 characters: not a secret
    assert mask_urls("s3://bucket/path") == "s3://bucket/path"
    # Longest first, not last in sort order: "zzzz" first would leave "aaaa" of the longer one.
    assert redact("x=aaaazzzz", ["zzzz", "aaaazzzz"]) == f"x={MASK}"


def test_key_ids_show_their_last_four_characters_only_when_long() -> None:
    from internals import known_secrets

    from pylitestream.masking import mask_env_value

    assert mask_env_value("LITESTREAM_ACCESS_KEY_ID", "AKIA12345") == f"{MASK}2345"  # 9 chars
    assert mask_env_value("LITESTREAM_ACCESS_KEY_ID", "AKIA1234") == MASK  # 8: all hidden
    assert mask_env_value("LITESTREAM_SECRET_ACCESS_KEY", "whatever-long") == MASK
    assert mask_env_value("LITESTREAM_SECRET_ACCESS_KEY", "") == ""
    environ = {"AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_REGION": "eu-west-1", "MY_TOKEN": ""}
    assert known_secrets(environ) == ["s3cr3t"]  # the dict given, not os.environ


SFTP_PASSWORD = "Sup3rSecretPw-9f2c"


def _leaky_config(ls: Litestream, root: Path, db: Path) -> Path:
    """A replica URL with a password and a bad port: both lines echo the whole URL, password
    included, in their parse error (`parse "sftp://bob:PASSWORD@…": invalid port`)."""
    url = f"sftp://bob:{SFTP_PASSWORD}@127.0.0.1:badport/backup"
    return write_config(root / "litestream.yml", ls.line, [(db, {"url": url})])


def _state_files() -> list[Path]:
    root = Path(os.environ["XDG_STATE_HOME"])
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_password_in_litestreams_error_never_reaches_output(
    ls: Litestream, tmp_path: Path
) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    config = _leaky_config(ls, tmp_path, db)
    # Proof that the secret really is in litestream's own text (else this test proves nothing).
    raw = subprocess.run(
        [str(ls.exe), "databases", "-config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    raw_restore = subprocess.run(
        [str(ls.exe), "restore", "-config", str(config), "-o", str(tmp_path / "x.db"), str(db)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert SFTP_PASSWORD in raw.stdout + raw.stderr + raw_restore.stdout + raw_restore.stderr

    results = {
        "restore": cli(
            "restore", "-d", str(db), "-c", str(config), "--", "-o", str(tmp_path / "r.db")
        ),
        "databases": cli("databases", "-c", str(config)),
        "verify": cli("verify", "-d", str(db), "-c", str(config), "--timeout", "3", "--json"),
        "run": cli("run", "-c", str(config), "--", sys.executable, "-c", "pass"),
    }
    for name, result in results.items():
        assert result.code == 1, (name, result)
        assert SFTP_PASSWORD not in result.out + result.err, (name, result)
        assert "Traceback" not in result.err
    # The masked URL still says where: the user can see which replica is wrong.
    assert "sftp://bob:****@127.0.0.1:badport" in results["restore"].err
    record = json.loads(results["verify"].out)
    assert SFTP_PASSWORD not in json.dumps(record)
    # pylitestream's own state files (records, not litestream's raw logs) hold no secret.
    for path in _state_files():
        if path.suffix == ".json":
            assert SFTP_PASSWORD not in path.read_text(), path


def test_a_password_in_litestreams_error_never_reaches_the_disk(
    ls: Litestream, tmp_path: Path
) -> None:
    """litestream's own lines (which echo the replica URL, password included) are relayed
    through pipes and redacted; nothing of them is written to the state dir."""
    db = tmp_path / "app.db"
    create_db(db)
    config = _leaky_config(ls, tmp_path, db)
    result = cli("run", "-c", str(config), "--", sys.executable, "-c", "pass")
    assert result.code == 1
    assert "sftp://bob:****@" in result.err  # the line was relayed, with the password masked
    assert SFTP_PASSWORD not in result.out + result.err
    assert [p.name for p in _state_files() if p.name.endswith(".log")] == []
    for path in _state_files():
        assert SFTP_PASSWORD not in path.read_text(errors="replace"), path
