"""Chapter 1 run by hand in JupyterLab, as a reader would after `make lab`, in Debian's chromium.

`make lab-test` runs this: it starts `jupyter lab` from .venv on 127.0.0.1 (a free port, a random
token, Jupyter's config and runtime state in a temporary directory) with TEXTCLF_QUICK=1, opens a
copy of chapter 1 with its outputs cleared (autosave never touches chapters/), clicks Run > Run All Cells, waits until
every code cell has run, checks that no cell failed and that the kernel is .venv's Python in quick
mode, and stops the server, also when the test fails. Chromium is installed as tests/browser does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
import inspect_book  # noqa: E402  (find_chromium, LAUNCH_FLAGS: Debian's chromium, headless)

CHAPTER = ROOT / "chapters" / "01_embeddings_and_lstm_shapes.ipynb"
START_TIMEOUT_S = 60
RUN_TIMEOUT_S = 120

# The notebook panel that shows CHAPTER (JupyterLab runs with --expose-app-in-browser).
_PANEL_JS = """name => window.jupyterapp && [...window.jupyterapp.shell.widgets('main')]
    .find(w => w.context && w.context.path.endsWith(name))"""
_RUN_STATE_JS = f"""name => {{
    const panel = ({_PANEL_JS})(name);
    const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (!kernel) return null;
    return {{kernel: kernel.status, notebook: panel.context.model.toJSON()}};
}}"""
# Runs code in the notebook's kernel outside the notebook and returns what it printed.
_PROBE_JS = f"""async ([name, code]) => {{
    const kernel = ({_PANEL_JS})(name).sessionContext.session.kernel;
    let text = '';
    const future = kernel.requestExecute({{code, store_history: false}});
    future.onIOPub = msg => {{ if (msg.header.msg_type === 'stream') text += msg.content.text; }};
    await future.done;
    return text;
}}"""


def _code_cells(notebook: dict) -> list[dict]:
    return [c for c in notebook["cells"] if c["cell_type"] == "code"]


def _install_chromium() -> str | None:
    """Debian's chromium, installed with apt-get when missing and we are root; its path or None."""
    found = inspect_book.find_chromium()
    if found or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print("\n[lab test] chromium is missing: apt-get install chromium", flush=True)
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:], flush=True)
            return None
    return inspect_book.find_chromium()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(state: Path) -> dict[str, str]:
    """The reader's environment, quick mode on, and every Jupyter/IPython state dir under `state`."""
    env = dict(os.environ, TEXTCLF_QUICK="1", JUPYTER_CONFIG_DIR=str(state / "config"),
               JUPYTER_DATA_DIR=str(state / "data"), JUPYTER_RUNTIME_DIR=str(state / "runtime"),
               IPYTHONDIR=str(state / "ipython"), JUPYTER_PLATFORM_DIRS="1")
    mirror = ROOT.parent / "shared" / "datasets"  # as the Makefile: the mirror beside the checkout
    if not env.get("TEXTCLF_DATA_MIRROR") and mirror.is_dir():
        env["TEXTCLF_DATA_MIRROR"] = str(mirror)
    return env


def _wait_until_up(server: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jupyter lab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer within {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM the server's process group (it shuts its kernels down), then SIGKILL what is left."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return  # the group is empty: server and kernels are gone
        try:
            server.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> dict:
    """A JupyterLab server on a copy of chapter 1; yields its URL, token and notebook name."""
    if _install_chromium() is None:
        pytest.skip("Debian's chromium is not installed and could not be installed (apt-get install chromium)")
    state, root = tmp_path_factory.mktemp("jupyter-state"), tmp_path_factory.mktemp("lab-root")
    notebook = json.loads(CHAPTER.read_text())
    for cell in _code_cells(notebook):  # a cleared copy: what the test sees, this run produced
        cell["outputs"], cell["execution_count"] = [], None
    (root / CHAPTER.name).write_text(json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    before = hashlib.sha256(CHAPTER.read_bytes()).hexdigest()
    port, token = _free_port(), secrets.token_hex(24)
    log = state / "server.log"
    settings = state / "config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)  # no news feed, no update check, no toast asking about them
    (state / "config" / "jupyter_lab_config.py").write_text("c.LabApp.news_url = None\n")
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--expose-app-in-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:  # CI runs as root
        command.append("--allow-root")
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=root, env=_server_env(state), stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(server, f"{base}/api/status?token={token}", log)
        yield {"base": base, "token": token, "name": CHAPTER.name, "log": log, "sha256": before}
    finally:
        _stop(server)


@pytest.fixture(scope="module")
def run(lab) -> dict:
    """Open the chapter, Run > Run All Cells, wait for every code cell; the notebook and what was seen."""
    from playwright.sync_api import sync_playwright

    base, name = lab["base"], lab["name"]
    shot, page = lab["log"].with_name("chapter1-in-lab.png"), None
    started = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=inspect_book.find_chromium(), args=inspect_book.LAUNCH_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            foreign, page_errors = [], []
            page.route(re.compile(r"^(?!" + re.escape(base) + r"|data:|blob:).*"),
                       lambda route: (foreign.append(route.request.url), route.abort()))
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.goto(f"{base}/lab/tree/{name}?token={lab['token']}")
            page.wait_for_function(f"name => ({_RUN_STATE_JS})(name)?.kernel === 'idle'", arg=name,
                                   timeout=START_TIMEOUT_S * 1000)
            page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})  # focus the notebook
            page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
            page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
            page.wait_for_function(
                f"""name => {{
                    const state = ({_RUN_STATE_JS})(name);
                    const code = state && state.notebook.cells.filter(c => c.cell_type === 'code');
                    return state && state.kernel === 'idle' && (code.every(c => c.execution_count !== null)
                        || code.some(c => c.outputs.some(o => o.output_type === 'error')));  // Run All stops there
                }}""", arg=name, timeout=RUN_TIMEOUT_S * 1000)
            state = page.evaluate(_RUN_STATE_JS, name)
            probe = page.evaluate(_PROBE_JS, [name, "import os, sys\nprint(sys.executable)\n"
                                                    "print(os.environ.get('TEXTCLF_QUICK'))"])
            shown_text = page.locator(".jp-OutputArea-output").all_inner_texts()
            page.screenshot(path=str(shot))
        except Exception:
            if page is not None:
                page.screenshot(path=str(shot))
            print(f"\n[lab test] failed: the page is in {shot}, the server's log in {lab['log']}", flush=True)
            raise
        finally:
            browser.close()
    seconds = time.monotonic() - started
    print(f"\n[lab test] opened and ran {name} in JupyterLab in {seconds:.1f} s", flush=True)
    return {"notebook": state["notebook"], "probe": probe.splitlines(), "shown": "\n".join(shown_text),
            "foreign": foreign, "page_errors": page_errors}


def test_every_code_cell_ran_once_in_order(run):
    counts = [c["execution_count"] for c in _code_cells(run["notebook"])]
    assert len(counts) == len(_code_cells(json.loads(CHAPTER.read_text()))) > 0
    assert counts == list(range(1, len(counts) + 1))


def test_no_cell_failed(run):
    errors = [f"cell {c['execution_count']}: {o['ename']}: {o['evalue']}"
              for c in _code_cells(run["notebook"]) for o in c["outputs"] if o["output_type"] == "error"]
    assert errors == []
    assert "Traceback" not in run["shown"]
    stderr = [o["text"] for c in _code_cells(run["notebook"]) for o in c["outputs"] if o.get("name") == "stderr"]
    if stderr:  # warnings are allowed, but shown
        print("\n[lab test] stderr in the run:\n" + "".join(stderr)[:3000], flush=True)


def test_every_cell_shows_output_where_the_committed_run_did(run):
    committed = [bool(c["outputs"]) for c in _code_cells(json.loads(CHAPTER.read_text()))]
    assert [bool(c["outputs"]) for c in _code_cells(run["notebook"])] == committed


def test_kernel_is_the_project_venv_in_quick_mode(run):
    executable, quick = run["probe"]
    assert Path(executable).parent == Path(sys.executable).parent == ROOT / ".venv" / "bin"  # as `make lab`
    assert quick == "1"
    assert "results/quick/01_embeddings_and_lstm_shapes.json (quick run" in run["shown"]


def test_the_page_stays_on_this_machine_without_script_errors(run):
    assert run["foreign"] == []
    assert run["page_errors"] == []


def test_the_chapter_on_disk_is_untouched(lab, run):
    assert hashlib.sha256(CHAPTER.read_bytes()).hexdigest() == lab["sha256"]
