"""Console render times, two ways.

* AppTest reruns (the script as a browser session runs it, without the browser): each company
  page warm (views cached by store version) against the same page cold (caches cleared), and the
  firm grid of a 500-company firm. Writes "## ui" in docs/benchmarks.md.
* ``--browser``: a real headless Chromium against the console as users start it (``oodaloo
  console``, whose launcher warms the caches before it listens) started fresh on a copy of the
  firm: the first full render of Runway (chart drawn, script finished) for a new session on a
  fresh server, then a second session; the same for the firm grid. Writes "## ui (browser)".
  ``--no-warm`` measures the same without the warm-up (the before figure).

    python -m bench.ui [--companies 12] [--firm-companies 500] [--repeat 5] [--keep DIR]
    python -m bench.ui --browser [--companies 4] [--firm-companies 500] [--keep DIR]
        [--firm-source DIR] [--rounds 2] [--no-warm]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["runway", "console", "data", "settings", "digest"]


def build_firm(
    data_dir: Path, companies: int, scale: float = 1.0, source: Path | None = None
) -> float | None:
    """Demo firm -> connect -> full sync, as `oodaloo demo` + `oodaloo sync --all` do; seconds
    taken, or None when a kept firm was reused. ``source``: a folder holding an already built
    and connected firm of the same seed and day (``sandbox.sqlite`` + ``state.sqlite``, as
    ``python -m bench.sync --firm500 --firm-cache DIR`` keeps it under DIR/c500-s1), copied
    read-only instead of building it again; the sync still runs here."""
    from oodaloo.config import load_settings
    from sandbox.demo import build_demo_firm
    from sync.engine import sync_all
    from sync.oauth import connect_sandbox_companies

    started = time.perf_counter()
    settings = load_settings(data_dir=data_dir)
    if settings.warehouse_path.exists():
        return None
    if source is not None:
        for name in ("sandbox.sqlite", "state.sqlite"):
            _copy_sqlite_read_only(source / name, data_dir / name)
    else:
        build_demo_firm(
            settings.sandbox_path,
            seed=settings.demo_seed,
            today=settings.demo_today,
            companies=companies,
            scale=scale,
        )
        connect_sandbox_companies(settings)
    sync_all(load_settings(data_dir=data_dir, sync_concurrency=16))  # as bench.sync backfills
    return time.perf_counter() - started


def _copy_sqlite_read_only(source: Path, target: Path) -> None:
    """Copy a SQLite file through the backup API, opening the source read-only (nothing is
    written beside it: it may be another run's cache)."""
    import sqlite3

    if not source.exists():
        raise FileNotFoundError(f"{source} is missing: not a built, connected firm")
    reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer)
    finally:
        writer.close()
        reader.close()


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
    if any(header.value == "Sign in" for header in at.header):
        raise RuntimeError("the sign-in page was measured, not the console")
    return elapsed


def measure(
    data_dir: Path, pages: list[str], realm_id: str | None, repeat: int
) -> dict[str, tuple[float, float]]:
    """page -> (cold ms, warm median ms)."""
    os.environ["OODALOO_DATA_DIR"] = str(data_dir)
    # a signed-in firm admin, as in the browser measurement: without an identity every page
    # is the sign-in gate (a few milliseconds) and nothing of the console is measured
    os.environ["OODALOO_AUTH_LOCAL_IDENTITY"] = BENCH_IDENTITY
    os.environ["OODALOO_AUTH_ADMINS"] = BENCH_IDENTITY
    # no in-process scheduler: on a kept firm whose data went stale it syncs every company in
    # this process (500 of them for the firm grid) while the pages are being measured
    os.environ["OODALOO_CONSOLE_SCHEDULER"] = "false"
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
    parser.add_argument(
        "--firm-source",
        type=Path,
        help="an already built, connected firm for the firm grid (sandbox.sqlite + "
        "state.sqlite, e.g. the c500-s1 folder of bench.sync --firm-cache): copied, then synced",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="fresh servers per page (--browser; default 2)"
    )
    parser.add_argument(
        "--no-warm",
        action="store_true",
        help="start the console without its warm-up (--browser: the before figure)",
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
        built_big = build_firm(big, args.firm_companies, source=args.firm_source)
        firm = measure(big, ["firm"], None, args.repeat)
        import streamlit as st

        st.cache_resource.clear()  # stops the console's in-process scheduler before the dirs go

    lines = [
        "AppTest reruns of an open session (app frame + page: what the server runs per "
        "interaction), 2 cores; warm = views cached by store version, cold = caches cleared in "
        f"the same run. Demo firm of {args.companies} companies{_took(built)}; firm grid on "
        f"{args.firm_companies} companies{_took(built_big)}. Median of {args.repeat}. A "
        "signed-in firm admin; no in-process scheduler (it would sync stale companies during "
        "the measurement).",
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


def _serve(data_dir: Path, log: Path, *, warm: bool = True) -> tuple[Any, str, float]:
    """The console as users start it (``oodaloo console``: the launcher warms the caches, then
    listens) on a free loopback port, with the demo's local identity and no in-process
    scheduler so nothing else runs during a measurement. Returns the process, its address and
    the seconds from start until it answers (warm-up included)."""
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
    command = [sys.executable, "-m", "oodaloo.cli", "console", "--port", str(port)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, *([] if warm else ["--no-warm"])],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 1800  # the warm-up of a 500-company firm computes every view
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                return process, url, time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the console did not start: {log.read_text()[-2000:]}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Session:
    """One new session: wall seconds from navigation to the page drawn, and the CPU seconds
    the console and Chromium (all its processes) used meanwhile -- on shared cores the CPU
    figures move less than the wall time."""

    wall: float
    server_cpu: float
    browser_cpu: float
    rerun: float | None = None  # seconds of a rerun in the open page (keyboard "r")


class _RunsFinished:
    """Counts the "script finished" messages a page's WebSocket receives from the console.
    A rerun is timed until the next one arrives: watching the page's script-state attribute
    missed fast reruns, whose "running" and "finished" states the browser drew in one render
    (the attribute never changed, and the wait ran out)."""

    def __init__(self, page: Any) -> None:
        self.count = 0
        page.on("websocket", lambda socket: socket.on("framereceived", self._frame))

    def _frame(self, payload: Any) -> None:
        if not isinstance(payload, bytes):
            return
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if ForwardMsg.FromString(payload).WhichOneof("type") == "script_finished":
            self.count += 1

    def wait_after(self, page: Any, seen: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.count <= seen:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no script run finished within {timeout:.0f} s")
            page.wait_for_timeout(10)  # lets Playwright deliver the page's events


def _chromium_cpu(browser_cdp: Any) -> float:
    """CPU seconds used so far by every Chromium process (browser, renderers, GPU, network)."""
    info = browser_cdp.send("SystemInfo.getProcessInfo")["processInfo"]
    return float(sum(process["cpuTime"] for process in info))


def _render(
    context: Any,
    url: str,
    ready: str,
    server_pid: int,
    browser_cdp: Any,
    *,
    rerun: bool = False,
) -> Session:
    """Navigate a new tab of ``context`` (a new Streamlit session) until ``ready`` is attached
    and the script has finished; with ``rerun``, then time one rerun of the open page (the
    "r" key, as a person refreshing the figures: the page's JavaScript is loaded, only the
    script and the redraw remain), from the key press until the script has finished again."""
    page = context.new_page()
    runs = _RunsFinished(page)
    try:
        cpu, chromium = _cpu_seconds(server_pid), _chromium_cpu(browser_cdp)
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(ready, state="attached", timeout=300_000)
        page.wait_for_selector(
            "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=300_000
        )
        wall = time.perf_counter() - started
        session = Session(
            wall, _cpu_seconds(server_pid) - cpu, _chromium_cpu(browser_cdp) - chromium
        )
        if not rerun:
            return session
        page.wait_for_timeout(1000)  # let the first draw settle
        page.mouse.click(700, 5)  # focus the page (not a widget), where "r" means rerun
        seen = runs.count
        started = time.perf_counter()
        page.keyboard.press("r")
        runs.wait_after(page, seen)
        page.wait_for_selector(
            "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=300_000
        )
        page.wait_for_selector(ready, state="attached", timeout=300_000)
        return dataclasses.replace(session, rerun=time.perf_counter() - started)
    finally:
        page.close()


def browser_figures(
    data_dir: Path, path: str, ready: str, *, warm: bool = True
) -> tuple[float, Session, Session]:
    """(server start s, first session, second session) on a server started fresh on
    ``data_dir``: the start until the console answers (its warm-up included); the first
    session from navigation in a new browser (nothing cached) to the page drawn; a second
    session on the same server (a second tab: a new Streamlit session, the app's JavaScript
    cached by the browser as for any returning visitor)."""
    from playwright.sync_api import sync_playwright

    log = data_dir.parent / f"console-{data_dir.name}.log"
    process, url, start = _serve(data_dir, log, warm=warm)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                cdp = browser.new_browser_cdp_session()
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                first = _render(context, f"{url}/{path}", ready, process.pid, cdp)
                second = _render(context, f"{url}/{path}", ready, process.pid, cdp, rerun=True)
            finally:
                browser.close()
    finally:
        process.kill()
        process.wait(timeout=30)
    return start, first, second


def _session(session: Session) -> str:
    return f"{session.wall:.2f} ({session.server_cpu:.2f} + {session.browser_cpu:.2f})"


def _rerun(session: Session) -> str:
    return "—" if session.rerun is None else f"{session.rerun:.2f}"


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def browser_main(args: argparse.Namespace) -> None:
    import shutil

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        small = root / f"demo-{args.companies}"
        small.mkdir(parents=True, exist_ok=True)
        built = build_firm(small, args.companies)
        big = root / f"firm-{args.firm_companies}"
        big.mkdir(parents=True, exist_ok=True)
        built_big = build_firm(big, args.firm_companies, source=args.firm_source)
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
            for round_ in range(1, args.rounds + 1):
                fresh = Path(tmp) / f"fresh-{source.name}-{round_}"  # a copy: no view cached
                shutil.copytree(
                    source,
                    fresh,
                    ignore=shutil.ignore_patterns("*.lock", "views"),
                )
                load = _load()
                figures = browser_figures(fresh, path, ready, warm=not args.no_warm)
                rows.append((name, round_, *figures, load))
                print(name, round_, f"{figures[0]:.1f}", *map(_session, figures[1:]), flush=True)
                print(f"  rerun {_rerun(figures[2])}, load {load}", flush=True)
                shutil.rmtree(fresh, ignore_errors=True)
    warmed = "without its warm-up (--no-warm)" if args.no_warm else "warm-up included"
    lines = [
        "Headless Chromium against the console as users start it (`oodaloo console`, "
        f"{warmed}), started fresh on a copy of the firm with no view computed or stored "
        f"(demo firm of {args.companies} companies{_took(built)}; {args.firm_companies}-company "
        f"firm{_took(built_big)}), 2 cores shared with other work. Start = from launching the "
        "console until it answers; first session = a new browser (nothing cached) from "
        "navigation to the page drawn (chart or grid attached, script finished); second "
        "session = another new Streamlit session on that server, opened as a second tab "
        "(the app's JavaScript cached by the browser, as for any returning visitor). One row "
        "per fresh server; load average (1 / 5 / 15 min) read when the round started.",
        "",
        "Each session is shown as wall s (console CPU s + Chromium CPU s): the CPU seconds "
        "the console and every Chromium process (loading and running the app's JavaScript, "
        "drawing) used meanwhile; on shared cores these move less than the wall time.",
        "",
        'Rerun = in the second session\'s open page, the "r" key (rerun) until the '
        "script has finished and the page is drawn again.",
        "",
        "| page | round | start s | first session | second session | rerun s | load |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, round_, start, first, second, load in rows:
        lines.append(
            f"| {name} | {round_} | {start:.1f} | {_session(first)} | {_session(second)} | "
            f"{_rerun(second)} | {load} |"
        )
    print("\n".join(lines))
    if not args.no_write:
        write_section(lines, "ui (browser)")


if __name__ == "__main__":
    main()
