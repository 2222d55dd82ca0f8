"""Console render times, two ways.

* AppTest reruns (the script as a browser session runs it, without the browser): each company
  page warm (views cached by store version) against the same page cold (caches cleared), and the
  firm grid of a 500-company firm. Writes "## ui" in docs/benchmarks.md.
* ``--browser``: a real headless Chromium against ``streamlit run app.py`` started fresh on a
  copy of the firm: the first full render of Runway (chart drawn, script finished) for a new
  session on a fresh server, then a second session (warm); the same for the firm grid. Writes
  "## ui (browser)".

    python -m bench.ui [--companies 12] [--firm-companies 500] [--repeat 5] [--keep DIR]
    python -m bench.ui --browser [--companies 4] [--firm-companies 500] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["runway", "console", "data", "settings", "digest"]


def build_firm(data_dir: Path, companies: int, scale: float = 1.0) -> float | None:
    """Demo firm -> connect -> full sync, as `oodaloo demo` + `oodaloo sync --all` do; seconds
    taken, or None when a kept firm was reused."""
    from oodaloo.config import load_settings
    from sandbox.demo import build_demo_firm
    from sync.engine import sync_all
    from sync.oauth import connect_sandbox_companies

    started = time.perf_counter()
    settings = load_settings(data_dir=data_dir)
    if settings.warehouse_path.exists():
        return None
    build_demo_firm(
        settings.sandbox_path,
        seed=settings.demo_seed,
        today=settings.demo_today,
        companies=companies,
        scale=scale,
    )
    connect_sandbox_companies(settings)
    sync_all(settings)
    return time.perf_counter() - started


def render_ms(at: Any, *, cold: bool) -> float:
    """Milliseconds for one full run (frame + page) of an open session, as a rerun on the server
    (cold: every cache cleared first). Opening the session is not timed: AppTest's first run
    scans component manifests (~0.2 s), which the server does once per process."""
    import streamlit as st

    if cold:
        st.cache_data.clear()
        st.cache_resource.clear()
    started = time.perf_counter()
    at.run()
    elapsed = (time.perf_counter() - started) * 1000
    if at.exception:
        raise RuntimeError(f"the page raised: {at.exception[0].value}")
    return elapsed


def measure(
    data_dir: Path, pages: list[str], realm_id: str | None, repeat: int
) -> dict[str, tuple[float, float]]:
    """page -> (cold ms, warm median ms)."""
    os.environ["OODALOO_DATA_DIR"] = str(data_dir)
    # the console tests' AppTest driver (tests/ui/ui_support.py, put on sys.path at run time)
    from ui_support import open_app  # type: ignore[import-not-found]  # found on sys.path at run time

    out: dict[str, tuple[float, float]] = {}
    for page in pages:
        at = open_app(page, realm_id or "__all__", timeout=600)
        cold = render_ms(at, cold=True)
        warm = statistics.median(render_ms(at, cold=False) for _ in range(repeat))
        out[page] = (cold, warm)
    return out


def _took(seconds: float | None) -> str:
    return " (reused)" if seconds is None else f" (built + synced in {seconds:.0f} s)"


def write_section(lines: list[str], title: str = "ui") -> None:
    """Replace (or add) the '## {title}' section of docs/benchmarks.md."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    head, _, rest = text.partition(f"\n## {title}\n")
    tail = rest[rest.index("\n## ") :] if "\n## " in rest else ""
    path.write_text(head.rstrip() + f"\n\n## {title}\n" + "\n".join(lines) + "\n" + tail)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.ui")
    parser.add_argument("--companies", type=int, default=12)
    parser.add_argument("--firm-companies", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--keep", type=Path, help="build the firms under DIR and reuse them on later runs"
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--browser", action="store_true", help="measure in headless Chromium on a fresh server"
    )
    args = parser.parse_args(
        argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else []
    )
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "ui")]
    if args.browser:
        browser_main(args)
        return
    import logging

    from ui_support import navigation_like_the_server

    navigation_like_the_server()

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from oodaloo.config import load_settings
    from sync.connections import list_companies

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        small = root / f"demo-{args.companies}"
        small.mkdir(parents=True, exist_ok=True)
        built = build_firm(small, args.companies)
        realm = list_companies(load_settings(data_dir=small))[0].realm_id
        company = measure(small, PAGES, realm, args.repeat)
        big = root / f"firm-{args.firm_companies}"
        big.mkdir(parents=True, exist_ok=True)
        built_big = build_firm(big, args.firm_companies)
        firm = measure(big, ["firm"], None, args.repeat)
        import streamlit as st

        st.cache_resource.clear()  # stops the console's in-process scheduler before the dirs go

    lines = [
        "AppTest reruns of an open session (app frame + page: what the server runs per "
        "interaction), 2 cores; warm = views cached by store version, cold = caches cleared in "
        f"the same run. Demo firm of {args.companies} companies{_took(built)}; firm grid on "
        f"{args.firm_companies} companies{_took(built_big)}. Median of {args.repeat}. The "
        "console's own scheduler runs in the same process (as in production), so its jobs may "
        "share the cores during a measurement.",
        "",
        "",
        "| page | cold ms | warm ms | cold / warm | target (warm) |",
        "|---|---:|---:|---:|---|",
    ]
    for page, (cold, warm) in {**company, **firm}.items():
        target = "< 1000 ms" if page == "firm" else "< 300 ms"
        lines.append(f"| {page} | {cold:.0f} | {warm:.0f} | {cold / warm:.1f}x | {target} |")
    print("\n".join(lines))
    if not args.no_write:
        write_section(lines)


# ---- real browser ------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
BENCH_IDENTITY = "bench@example.com"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(data_dir: Path, log: Path) -> tuple[Any, str]:
    """``streamlit run app.py`` on a free loopback port (the demo's local identity, no
    in-process scheduler so nothing else runs during a measurement)."""
    import subprocess

    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "OODALOO_DATA_DIR": str(data_dir),
        "OODALOO_CONSOLE_SCHEDULER": "false",
        "OODALOO_AUTH_LOCAL_IDENTITY": BENCH_IDENTITY,
        "OODALOO_AUTH_ADMINS": BENCH_IDENTITY,  # a role, so the pages render (oodaloo.auth)
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the console did not start: {log.read_text()[-2000:]}")


def _render_seconds(context: Any, url: str, ready: str) -> float:
    """Seconds from navigation until ``ready`` is visible and the script has finished (a new
    tab of ``context``: a new Streamlit session)."""
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(ready, state="attached", timeout=120_000)
        page.wait_for_selector(
            "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000
        )
        return time.perf_counter() - started
    finally:
        page.close()


def browser_figures(data_dir: Path, path: str, ready: str) -> tuple[float, float, float]:
    """Render seconds: a new session on a fresh server over data no process has viewed yet; a
    new session on a second fresh server (views precomputed by the first); a second session on
    that server (warm: a second tab of the same browser, the app's static files cached)."""
    from playwright.sync_api import sync_playwright

    figures: list[float] = []
    for round_ in (1, 2):
        process, url = _serve(data_dir, data_dir.parent / f"console-{data_dir.name}-{round_}.log")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:  # a new browser per server: nothing cached from the previous round
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    figures.append(_render_seconds(context, f"{url}/{path}", ready))
                    if round_ == 2:  # a second tab: a new session, the app's files cached
                        figures.append(_render_seconds(context, f"{url}/{path}", ready))
                finally:
                    browser.close()
        finally:
            process.kill()
            process.wait(timeout=10)
    return figures[0], figures[1], figures[2]


def browser_main(args: argparse.Namespace) -> None:
    import shutil

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        small = root / f"demo-{args.companies}"
        small.mkdir(parents=True, exist_ok=True)
        built = build_firm(small, args.companies)
        big = root / f"firm-{args.firm_companies}"
        big.mkdir(parents=True, exist_ok=True)
        built_big = build_firm(big, args.firm_companies)
        rows = []
        for name, source, path, ready in (
            ("runway (demo firm)", small, "", ".vega-embed canvas, .vega-embed svg"),
            (
                f"firm grid ({args.firm_companies} companies)",
                big,
                "firm",
                "[data-testid='stDataFrame']",
            ),
        ):
            fresh = Path(tmp) / f"fresh-{source.name}"  # a copy: no cache left by the build
            shutil.copytree(source, fresh, ignore=shutil.ignore_patterns("*.lock"))
            rows.append((name, *browser_figures(fresh, path, ready)))
    lines = [
        "Headless Chromium against `streamlit run app.py` started fresh on a copy of the firm "
        f"(demo firm of {args.companies} companies{_took(built)}; {args.firm_companies}-company "
        f"firm{_took(built_big)}), 2 cores shared with other work. First = a new session on the "
        "fresh server over data no process has viewed (nothing precomputed), from navigation "
        "to the page drawn (chart or grid attached, script finished); fresh server, precomputed "
        "= a new server process after the first one computed the views (the firm grid is then "
        "read from its Parquet file under cache/views/); second = another new session on that "
        "server, opened as a second tab of the same browser (a new Streamlit session; the "
        "browser has the app's JavaScript cached, as for any returning visitor).",
        "",
        "| page | fresh server s | fresh server, precomputed s | second session s | target |",
        "|---|---:|---:|---:|---|",
    ]
    targets = {"runway (demo firm)": "fresh < 2 s"}
    for name, cold, precomputed, warm in rows:
        lines.append(
            f"| {name} | {cold:.2f} | {precomputed:.2f} | {warm:.2f} | "
            f"{targets.get(name, 'cold < 3 s, warm < 0.5 s')} |"
        )
    print("\n".join(lines))
    if not args.no_write:
        write_section(lines, "ui (browser)")


if __name__ == "__main__":
    main()
