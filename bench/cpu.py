"""CPU per page load, on the server and in Chromium: what the test suite and a deployment pay.

    python -m bench.cpu --db bench/out/work/default.duckdb [--loads 6]

The machine running the tests has two cores and they are busy all along, so a run is only
shorter when it does less work; wall times there move with whatever else the machine runs,
CPU seconds much less. Two comparisons, each in the same run, on the embedded default:

- the app server's own CPU (its /proc/PID/stat) over `loads` page loads in one tab, with
  Streamlit's source file watcher (`--server.fileWatcherType auto`) and without (`none`,
  the project's setting in .streamlit/config.toml);
- Chromium's CPU (every process under this one) per page load, in a fresh browser context
  each time (what each browser test paid until stop 20) and in the same tab (what they pay
  now).

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import time
from pathlib import Path

from bench.browser import ROOT, serve
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, free_port, wait_ready

PAGES = ("", "priorites", "quartiers", "catalogue", "bilan", "comparer")
QUERY = "contrat=AMBOISE-2015&annee=2022"
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds with reaped children) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / TICK


def tree_cpu(root: int) -> float:
    """CPU seconds of the live processes descending from `root` (not `root` itself)."""
    children: dict[int, list[tuple[int, float]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent, cpu = _stat(int(entry.name))
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append((int(entry.name), cpu))
    total, stack = 0.0, [root]
    while stack:
        for pid, cpu in children.get(stack.pop(), []):
            total += cpu
            stack.append(pid)
    return total


def browser_cpu(server: int) -> float:
    """Chromium's CPU (with Playwright's driver): this process's descendants but the app
    server and its own."""
    return tree_cpu(os.getpid()) - tree_cpu(server) - _stat(server)[1]


def per_load(measure, load, n: int) -> float:
    before = measure()
    for i in range(n):
        load(i)
    return round((measure() - before) / n, 3)


def run(db: str, loads: int, log: Path) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for watcher in ("auto", "none"):
                port = free_port()
                proc = serve(db, port, log, ("--server.fileWatcherType", watcher))
                try:
                    url = f"http://127.0.0.1:{port}/{{}}?{QUERY}"
                    tab = browser.new_context(viewport=VIEWPORT).new_page()

                    def in_tab(i, tab=tab, url=url):
                        tab.goto(url.format(PAGES[i % len(PAGES)]))
                        wait_ready(tab)

                    def fresh(i, url=url):
                        context = browser.new_context(viewport=VIEWPORT)
                        in_tab(i, context.new_page(), url)
                        context.close()

                    in_tab(0)  # the server's first run pays its imports
                    out[f"server CPU per load, watcher {watcher}"] = per_load(
                        lambda proc=proc: _stat(proc.pid)[1], in_tab, loads)
                    if watcher == "none":
                        chromium = functools.partial(browser_cpu, proc.pid)
                        out["Chromium CPU per load, same tab"] = per_load(
                            chromium, in_tab, loads)
                        out["Chromium CPU per load, fresh context"] = per_load(
                            chromium, fresh, loads)
                    tab.context.close()
                finally:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=30)
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.cpu")
    p.add_argument("--db", required=True)
    p.add_argument("--loads", type=int, default=6, help="page loads per measure")
    p.add_argument("--log", type=Path, default=ROOT / "bench" / "out" / "cpu-app.log")
    args = p.parse_args(argv)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = run(args.db, args.loads, args.log)
    for name, seconds in result.items():
        print(f"{name:45s} {seconds:6.3f} s")
    print(f"({time.monotonic() - started:.0f} s)")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
