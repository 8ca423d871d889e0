"""A real Prometheus (Debian's package) for the metrics tests: started on loopback with its own
data dir and config, queried through its HTTP API, stopped by its pid. No pytest here."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from support import _free_port, stop_process, wait_for

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "docs" / "monitoring" / "alerts.yml"
GRAFANA = ROOT / "docs" / "monitoring" / "grafana.json"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


@dataclass
class Prometheus:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as response:
            answer = json.loads(response.read())
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's vector: [{"metric": {...}, "value": [time, "value"]}]."""
        data = self.api("query", query=promql)
        assert data["resultType"] in ("vector", "scalar"), data
        return data["result"] if data["resultType"] == "vector" else [{"value": data["result"]}]

    def values(self, promql: str, label: str = "database") -> dict[str, float]:
        return {Path(r["metric"].get(label, "")).name: float(r["value"][1])
                for r in self.query(promql)}  # fmt: skip

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.api("alerts")["alerts"])

    def stop(self) -> None:
        stop_process(self.proc)


def start_prometheus(root: Path, jobs: list[dict[str, Any]], rules: list[Path]) -> Prometheus:
    """Prometheus scraping `jobs` (scrape_configs entries), evaluating `rules` every second."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(r) for r in rules],
        "scrape_configs": jobs,
    }))  # fmt: skip
    port = _free_port()
    log = root / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={root / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    running = Prometheus(f"http://127.0.0.1:{port}", proc, log)
    try:
        wait_for(lambda: urllib.request.urlopen(running.url + "/-/ready", timeout=1).status == 200,
                 30)  # fmt: skip
    except BaseException:
        running.stop()
        raise
    return running


def quick_rules(root: Path, alert: str, threshold: str, wanted_for: str) -> Path:
    """The shipped alerts.yml with the `alert` rule's threshold and `for:` shortened for a test
    (the expression must end in "> N" and the rule must say `for:`); every other rule as shipped."""
    settings = yaml.safe_load(ALERTS.read_text())
    (rule,) = [r for g in settings["groups"] for r in g["rules"] if r.get("alert") == alert]
    head, _, _old = rule["expr"].rpartition(" > ")
    assert head and "for" in rule, rule
    rule.update(expr=f"{head} > {threshold}", **{"for": wanted_for})
    path = root / "alerts-quick.yml"
    path.write_text(yaml.safe_dump(settings))
    return path


def grafana_queries() -> list[tuple[str, str]]:
    """(panel or variable title, PromQL) for every query in the shipped Grafana dashboard, with
    the dashboard's variables set to "all" ($instance, $database -> .*); label_values(M, L)
    becomes the query M."""
    import re

    dashboard = json.loads(GRAFANA.read_text())
    found = [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p["targets"]]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.*), *\w+\)", variable["query"]["query"])
            assert match, variable
            found.append((variable["name"], match[1]))
    return [(title, expr.replace("$instance", ".*").replace("$database", ".*"))
            for title, expr in found]  # fmt: skip


def promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], input=stdin.decode() if stdin else None,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
