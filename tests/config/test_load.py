"""load_config keeps the last configs it parsed: a command reads its config more than once, and
a config of a thousand databases takes a tenth of a second to parse. What it hands out is the
caller's own, and the file as it is now is always what counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pylitestream.config import load


def test_a_kept_config_is_a_copy_and_follows_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "litestream.yml"
    config.write_text("dbs:\n  - path: /srv/a.db\n    replica:\n      url: file:///r/a\n")
    parsed: list[str] = []
    real = load.load_yaml

    def counted(path: Path, text: str) -> object:
        parsed.append(text)
        return real(path, text)

    monkeypatch.setattr(load, "load_yaml", counted)

    first = load.load_config(config)
    first["dbs"][0]["path"] = "/changed.db"  # the caller's copy, not the kept one
    assert load.load_config(config)["dbs"][0]["path"] == "/srv/a.db"
    assert len(parsed) == 1

    config.write_text(config.read_text().replace("/srv/a.db", "/srv/b.db"))
    assert load.load_config(config)["dbs"][0]["path"] == "/srv/b.db"
    monkeypatch.setenv("REPLICA", "file:///elsewhere")
    config.write_text("dbs:\n  - path: /srv/b.db\n    replica:\n      url: ${REPLICA}\n")
    assert load.load_config(config)["dbs"][0]["replica"]["url"] == "file:///elsewhere"
    monkeypatch.setenv("REPLICA", "file:///moved")  # the same text, another environment
    assert load.load_config(config)["dbs"][0]["replica"]["url"] == "file:///moved"
    assert load.load_config(config, expand=False)["dbs"][0]["replica"]["url"] == "${REPLICA}"
    assert len(parsed) == 5
