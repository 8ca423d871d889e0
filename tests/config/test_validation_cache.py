"""The validation verdict cache: a hit skips the YAML work, and nothing a verdict depends on can
change without the check running again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pylitestream import cache, config
from pylitestream.errors import ConfigError


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    path = tmp_path / "litestream.yml"
    path.write_text(
        f"dbs:\n  - path: {tmp_path}/data/app.db\n    replica:\n      type: s3\n"
        "      bucket: $BUCKET\n      path: app\n      secret-access-key: $SECRET\n"
    )
    return path


def test_a_second_check_is_served_from_the_cache(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"BUCKET": "b", "SECRET": "hunter2-secret"}
    assert config.validate_config(cfg, "0.5", env)["databases"] == 1
    monkeypatch.setattr(config.validate, "_compose", lambda *_: pytest.fail("YAML parsed again"))
    assert config.validate_config(cfg, "0.5", env)["databases"] == 1
    stored = (cache.cache_dir() / "validated.json").read_text()
    assert "hunter2-secret" not in stored


def test_anything_the_verdict_depends_on_invalidates_it(cfg: Path) -> None:
    env = {"BUCKET": "b", "SECRET": "s"}
    config.validate_config(cfg, "0.5", env)
    with pytest.raises(ConfigError, match=r"\$BUCKET is set but empty"):
        config.validate_config(cfg, "0.5", {**env, "BUCKET": ""})
    # A secret whose value breaks the YAML once expanded is caught, though the name is set.
    with pytest.raises(ConfigError):
        config.validate_config(cfg, "0.5", {**env, "SECRET": "a: b: c"})
    with pytest.raises(ConfigError, match=r"ignored by Litestream 0\.3"):
        config.validate_config(cfg, "0.3", env)
    shutil.rmtree(cfg.parent / "data")
    with pytest.raises(ConfigError, match="does not exist"):
        config.validate_config(cfg, "0.5", env)
    (cfg.parent / "data").mkdir()
    cfg.write_text(cfg.read_text() + "bogus: 1\n")
    with pytest.raises(ConfigError, match="unknown key 'bogus'"):
        config.validate_config(cfg, "0.5", env)
