"""Totals of the bad-input suite, printed at the end of the run (and kept for the closing note)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import TOTALS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TOTALS["cases"]:
        return
    keys = ("cases", "tracebacks", "unclear", "wrong_code", "changed", "hangs")
    totals = {key: TOTALS[key] for key in keys}
    terminalreporter.write_line(f"bad-input cases: {json.dumps(totals)}")
    out = Path(__file__).resolve().parents[2] / ".cache" / "badinput-totals.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(totals, indent=2) + "\n")
