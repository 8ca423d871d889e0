#!/usr/bin/env python3
"""Many databases on Litestream 0.5: 10, 100 and 1,000 tenants under one `dir:` entry, in one
run.

    .venv/bin/python bench/bench_scale.py [--sizes 10,100,1000] [--pages 40]

For each size: N tenants written by `pylitestream init --dir`, a file replica, a real
`pylitestream replicate` (0.5.17, control socket on) and a real `pylitestream dashboard`
(uvicorn, basic auth). The dashboard reaches the daemon through a counting proxy on a second
Unix socket (its own copy of the config names the proxy), so every request the dashboard
makes to the daemon is counted. Prints JSON per size:

- check_json_seconds: `pylitestream check --json` (a subprocess, median of 3, all healthy);
- overview_p50_ms / overview_p95_ms: GET / (the overview page; `--pages` requests, two
  clients);
- page_bytes / overview_json_bytes: the size of `/` and of `/overview.json`;
- daemon_requests_per_refresh: requests the proxy saw while the pages were loaded, divided by
  the refreshes the dashboard made meanwhile (distinct `health_checked_at`), the largest;
- dashboard_rss_mib: the dashboard process's resident set (VmRSS) after the pages, and its
  peak (VmHWM).

Targets at 1,000 (issue): check --json <= 1 s, daemon requests per refresh <= 20, RSS <= 80 MiB;
overview p95 <= 300 ms and page <= 200 KB depend on the fleet UI.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "helpers"))
import fetch_litestream  # noqa: E402
from support import create_db, insert_rows, start_replicate, stop_process, wait_for  # noqa: E402

USERNAME, PASSWORD = "bench", "bench-password-1c9e"
REQUEST_LINE = re.compile(rb"(?:GET|POST) /[^ ]* HTTP/1\.1\r\n")


class CountingProxy:
    """A Unix-socket proxy in front of litestream's control socket that counts the HTTP
    requests going through it (httpx keeps connections alive: request lines are counted)."""

    def __init__(self, listen: Path, target: Path) -> None:
        self.listen, self.target = listen, target
        self.requests = 0
        self.lock = threading.Lock()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(listen))
        os.chmod(listen, 0o600)
        self.server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(str(self.target))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, counting: bool) -> None:
        try:
            while data := source.recv(65536):
                if counting:
                    with self.lock:
                        self.requests += len(REQUEST_LINE.findall(data))
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def rss_mib(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return tuple(round(int(fields[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM"))  # type: ignore[return-value]


def get(url: str, token: str) -> bytes:
    request = urllib.request.Request(url)
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=60) as response:
        body: bytes = response.read()
    return body


def run_size(count: int, pages: int, env: dict[str, str], work: Path,
             screenshots: Path | None = None) -> dict[str, Any]:  # fmt: skip
    root = work / f"n{count}"
    root.mkdir(mode=0o700)
    data = root / "tenants"
    data.mkdir()
    for n in range(count):
        db = data / f"t{n:05d}.db"
        create_db(db)
        insert_rows(db, ["first"])
    config = root / "litestream.yml"
    cli = [sys.executable, "-m", "pylitestream"]
    subprocess.run([*cli, "init", "--dir", str(data), "--replica", str(root / "replica"),
                    "-o", str(config)], env=env, check=True, capture_output=True)  # fmt: skip
    settings = yaml.safe_load(config.read_text())
    settings["socket"] = {"enabled": True, "path": str(root / "ls.sock")}
    config.write_text(yaml.safe_dump(settings))
    # The dashboard's copy of the config names the counting proxy as the socket.
    seen_by_dashboard = root / "dashboard.yml"
    settings["socket"]["path"] = str(root / "proxy.sock")
    seen_by_dashboard.write_text(yaml.safe_dump(settings))

    replicate = start_replicate(config, root / "replicate.log", count=count)
    procs = [replicate]
    proxy = None
    try:
        wait_for((root / "ls.sock").exists, 60)

        def check() -> tuple[float, list[dict[str, Any]]]:
            start = time.perf_counter()
            done = subprocess.run([*cli, "check", "--json", "-c", str(config)], env=env,
                                  capture_output=True, text=True, check=False)  # fmt: skip
            return time.perf_counter() - start, json.loads(done.stdout)

        wait_for(lambda: all(r["ok"] and r["lag_seconds"] == 0 for r in check()[1]), 120, 0.5)
        timings = [check() for _ in range(3)]
        assert all(len(rows) == count for _, rows in timings)
        check_seconds = statistics.median(t for t, _ in timings)

        proxy = CountingProxy(root / "proxy.sock", root / "ls.sock")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with (root / "dashboard.log").open("wb") as out:
            dashboard = subprocess.Popen(
                [*cli, "dashboard", "--port", str(port), "-c", str(seen_by_dashboard)],
                stdout=out, stderr=subprocess.STDOUT, env=env)  # fmt: skip
        procs.append(dashboard)
        token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        wait_for(lambda: get(url + "/static/dashboard.css", token), 30)
        first = json.loads(get(url + "/overview.json", token))  # waits for the first refresh
        assert first["total"] == count, (first["total"], first["error"])

        before = proxy.requests
        refreshes: set[str] = set()
        times: list[float] = []

        def one_page() -> None:
            start = time.perf_counter()
            body = get(url + "/", token)
            times.append((time.perf_counter() - start) * 1000)
            found = re.search(rb"health checked ([^ <]+)", body)
            refreshes.add(found.group(1).decode() if found else "")

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=2) as pool:
            for _ in range(pages):
                pool.submit(one_page)
                time.sleep(0.25)
        seconds = time.monotonic() - started
        requests = proxy.requests - before
        refreshes.discard(first["health_checked_at"] or "")  # made before the window
        page = get(url + "/", token)
        overview_json = get(url + "/overview.json", token)
        rss, peak = rss_mib(dashboard.pid)
        if screenshots is not None:
            screenshot(url, screenshots / f"overview-{count}.png")
        return {
            "databases": count,
            "check_json_seconds": round(check_seconds, 3),
            "overview_p50_ms": round(percentile(times, 0.5), 1),
            "overview_p95_ms": round(percentile(times, 0.95), 1),
            "page_bytes": len(page),
            "overview_json_bytes": len(overview_json),
            "pages_loaded": len(times),
            "window_seconds": round(seconds, 1),
            "refreshes": len(refreshes),
            "daemon_requests": requests,
            "daemon_requests_per_refresh": round(requests / max(len(refreshes), 1), 1),
            "dashboard_rss_mib": rss,
            "dashboard_peak_rss_mib": peak,
        }
    finally:
        for proc in reversed(procs):
            stop_process(proc)
        if proxy is not None:
            proxy.close()


def screenshot(url: str, path: Path) -> None:
    """The overview in Debian's chromium (Playwright never downloads a browser here)."""
    from playwright.sync_api import sync_playwright

    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking"]  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        try:
            page = browser.new_page(http_credentials={"username": USERNAME, "password": PASSWORD},
                                    viewport={"width": 1280, "height": 900})  # fmt: skip
            page.goto(url + "/")
            page.screenshot(path=str(path), full_page=True)
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--screenshots", type=Path, help="save each size's overview page here")
    options = parser.parse_args()
    binary = fetch_litestream.fetch("0.5.17", fetch_litestream.host_target())
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    env = dict(os.environ)
    for name in ("CACHE", "CONFIG", "STATE"):
        env[f"XDG_{name}_HOME"] = str(work / name.lower())
    env["XDG_RUNTIME_DIR"] = str(work / "run")
    (work / "run").mkdir(mode=0o700)
    env.update(LITESTREAM_INSTALL_DIR=str(binary.parent), PYLITESTREAM_DASHBOARD_USERNAME=USERNAME,
               PYLITESTREAM_DASHBOARD_PASSWORD=PASSWORD)  # fmt: skip
    os.environ.update(env)  # start_replicate runs with this process's environment
    results = [run_size(int(n), options.pages, env, work, options.screenshots)
               for n in options.sizes.split(",")]  # fmt: skip
    print(json.dumps({"litestream": "0.5.17", "results": results}, indent=2))


if __name__ == "__main__":
    main()
