"""Drive a real JupyterLab in a real browser, as a learner would: ``make e2e``.

For each notebook given (paths relative to the repository root) this script

1. starts JupyterLab on 127.0.0.1 with a random token and a throw-away settings
   folder (autosave off, every cell rendered, no news or update checks),
2. launches Debian's ``chromium`` headless through Playwright (no browser download),
3. opens the notebook, waits for the kernel, clicks **Run → Run All Cells**,
4. waits until every code cell has an execution count and the kernel is idle,
5. asserts that no cell produced an error output, that cells ran in order 1…N,
   and (for notebooks given with ``--plot-in``) that a plot rendered as an image,
   and saves a screenshot under ``artifacts/e2e/``,

and always shuts the server and the browser down, even when a step fails.
The notebooks are never saved, so the repository stays clean.

Exit status: 0 when every notebook passed, 1 when one failed (with the reason),
2 when the set-up (browser, server) failed.

``--self-test`` also writes a deliberately broken notebook under ``artifacts/e2e/``
(a plot, then a cell that raises) and requires the driver to report it: the proof
that a failing notebook cannot pass this test unnoticed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "e2e"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
LAB_SETTINGS = {
    # render every cell (JupyterLab 4 otherwise only renders the cells on screen)
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # never write the notebook back: the repository must stay clean
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # no calls to the internet from the page
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}

# JavaScript run in the page: the state of the notebook that is open, read from the
# application object (exposed with --LabApp.expose_app_in_browser).
NOTEBOOK_STATE_JS = """
() => {
  const widget = window.jupyterapp.shell.currentWidget;
  if (!widget || !widget.content || !widget.content.model || !widget.sessionContext) return null;
  const cells = [];
  const model = widget.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    const outputs = cell.outputs.toJSON();
    cells.push({
      count: cell.executionCount,
      errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
    });
  }
  const kernel = widget.sessionContext.session && widget.sessionContext.session.kernel;
  return {path: widget.context.path, cells: cells, kernel: kernel ? kernel.status : 'none'};
}
"""


class E2EError(RuntimeError):
    """A notebook did not run cleanly in the browser."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError(
        "no chromium found: install Debian's package (`apt-get install -y chromium`) or run `make e2e`, which does"
    )


def write_settings(folder: Path) -> None:
    for rel, values in LAB_SETTINGS.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def start_lab(port: int, token: str, settings: Path, log) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={ROOT}",
        f"--LabApp.user_settings_dir={settings / 'user'}",
        f"--LabApp.workspaces_dir={settings / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",
        "--LabServerApp.announcements_url=",  # nothing fetched from the internet
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    env = dict(os.environ)
    env.pop("COURSE_STRICT_CHECKS", None)  # a learner's kernel: checks report, never raise
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_server(port: int, token: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    url = f"http://127.0.0.1:{port}/api/status?token={token}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with status {proc.returncode} before it answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer on 127.0.0.1:{port} within {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def run_notebook_in_page(page, base: str, token: str, rel: str, timeout: float, need_plot: bool) -> str:
    """Open ``rel`` in JupyterLab, run all cells through the menu and check the result; return a summary."""
    # a workspace of its own, reset, so that no tab from an earlier notebook is restored
    workspace = "e2e-" + secrets.token_hex(4)
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{rel}?token={token}&reset", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_function(
        f"() => {{ const s = ({NOTEBOOK_STATE_JS})(); return s && s.path === {json.dumps(rel)} && s.kernel === 'idle'; }}",
        timeout=60_000,
    )
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
    started = time.monotonic()
    state = None
    while time.monotonic() - started < timeout:
        state = page.evaluate(NOTEBOOK_STATE_JS)
        if state is None or state["path"] != rel:
            raise E2EError(f"{rel}: the notebook is no longer the current tab")
        errors = [e for cell in state["cells"] for e in cell["errors"]]
        if errors:
            raise E2EError(f"{rel}: a cell raised {errors[0]}")
        done = all(isinstance(cell["count"], int) for cell in state["cells"])
        if done and state["kernel"] == "idle":
            break
        time.sleep(0.5)
    else:
        missing = sum(not isinstance(c["count"], int) for c in (state or {"cells": []})["cells"])
        raise E2EError(f"{rel}: {missing} cells had not run after {timeout:.0f} s (kernel {state and state['kernel']})")
    counts = [cell["count"] for cell in state["cells"]]
    if counts != list(range(1, len(counts) + 1)):
        raise E2EError(f"{rel}: cells ran out of order or stopped early: execution counts {counts}")
    images = page.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-OutputArea-output img'))"
        ".filter(img => img.complete && img.naturalWidth > 0).length"
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / (Path(rel).stem + ".png")
    page.screenshot(path=str(shot), full_page=False)
    if need_plot and images == 0:
        raise E2EError(f"{rel}: ran, but no plot was rendered as an image")
    if images:  # a close-up of the first plot, scrolled into view
        page.locator(".jp-OutputArea-output img").first.screenshot(path=str(SHOTS / (Path(rel).stem + "-plot.png")))
    return f"{len(counts)} code cells ran, no errors, {images} images rendered, screenshot {shot.relative_to(ROOT)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", help="paths relative to the repository root")
    parser.add_argument("--timeout", type=float, default=240, help="seconds allowed per notebook")
    parser.add_argument(
        "--plot-in", action="append", default=[], metavar="NOTEBOOK", help="a notebook that must render a plot"
    )
    parser.add_argument("--self-test", action="store_true", help="also run a broken notebook that must be caught")
    args = parser.parse_args(argv)
    for rel in args.notebooks + args.plot_in:
        if not (ROOT / rel).is_file():
            parser.error(f"no notebook at {rel} (give paths relative to {ROOT})")
    notebooks = list(dict.fromkeys(args.notebooks + args.plot_in))
    broken = write_broken_notebook() if args.self_test else None
    if broken:
        notebooks.append(broken)

    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    failures = []
    with tempfile.TemporaryDirectory(prefix="course-e2e-") as tmp:
        tmp_path = Path(tmp)
        write_settings(tmp_path / "user")
        port, token = free_port(), secrets.token_hex(16)
        log_path = SHOTS / "jupyterlab.log"
        with open(log_path, "w") as log:
            server = start_lab(port, token, tmp_path, log)
            try:
                wait_for_server(port, token, server)
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
                    try:
                        context = browser.new_context(viewport={"width": 1400, "height": 1000})
                        for rel in notebooks:
                            page = context.new_page()
                            started = time.monotonic()
                            try:
                                summary = run_notebook_in_page(
                                    page, f"http://127.0.0.1:{port}", token, rel, args.timeout, rel in args.plot_in
                                )
                                print(f"ok    {rel}: {summary} ({time.monotonic() - started:.0f} s)", flush=True)
                            except Exception as err:  # report every notebook, then decide
                                failures.append(rel)
                                try:
                                    page.screenshot(path=str(SHOTS / (Path(rel).stem + "-failed.png")))
                                except Exception:
                                    pass
                                print(f"FAIL  {rel}: {type(err).__name__}: {err}", flush=True)
                            finally:
                                page.close()
                    finally:
                        browser.close()
            except Exception as err:
                print(f"e2e set-up failed: {type(err).__name__}: {err} (server log: {log_path})", file=sys.stderr)
                return 2
            finally:
                stop(server)
    if broken:
        if broken not in failures:
            print(f"FAIL  the driver did not notice that {broken} raises", file=sys.stderr)
            return 1
        failures.remove(broken)
        print(f"ok    self-test: the broken notebook {broken} was reported, as it must be")
    if failures:
        print(f"{len(failures)} of {len(notebooks) - bool(broken)} notebooks failed in the browser: {', '.join(failures)}")
    return 1 if failures else 0


def write_broken_notebook() -> str:
    """Write a notebook whose second cell raises (after a plot); return its path relative to the root."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0]);"),
        nbformat.v4.new_code_cell("raise ValueError('this notebook is broken on purpose')"),
        nbformat.v4.new_code_cell("print('never reached')"),
    ]
    path = SHOTS / "broken_on_purpose.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return str(path.relative_to(ROOT))


if __name__ == "__main__":
    sys.exit(main())
