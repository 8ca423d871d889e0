"""The package root: importing it runs nothing and loads little, and every public name
resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_import_runs_nothing_and_loads_little() -> None:
    code = (
        "import subprocess, sys\n"
        "calls = []\n"
        "subprocess.Popen.__init__ = lambda *a, **k: calls.append(a)\n"
        "import pylitestream\n"
        "heavy = [m for m in ('typer', 'rich', 'yaml', 'httpx', 'pylitestream.api') "
        "if m in sys.modules]\n"
        "print(calls, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []"


def test_every_public_name_resolves_and_unknown_names_raise_attribute_error() -> None:
    import pylitestream
    from pylitestream import api

    for name in pylitestream.__all__:
        assert getattr(pylitestream, name) is not None, name
    # The package's API names are the front door's, lazily loaded ones included.
    assert pylitestream.restore is api.restore
    assert pylitestream.Replicator is api.Replicator
    assert pylitestream.check is api.check
    with pytest.raises(AttributeError, match="module 'pylitestream' has no attribute 'nope'"):
        _ = pylitestream.nope  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match=r"module 'pylitestream\.api' has no attribute 'nope'"):
        _ = api.nope  # type: ignore[attr-defined]


def test_the_front_doors_helpers_for_the_cli_resolve() -> None:
    """The CLI and the dashboard reach the library only through pylitestream.api (an
    import-linter contract): every lazily loaded name and every command's columns must load."""
    from pylitestream import api
    from pylitestream.errors import UsageError

    for name in api._SOURCES:
        assert getattr(api, name) is not None, name
    for command in api._COLUMNS:
        assert api.columns(command) and all(isinstance(c, str) for c in api.columns(command))
    assert api.profile("0.5").control_socket and not api.profile("0.3").control_socket
    with pytest.raises(UsageError):
        api.profile("0.4")
