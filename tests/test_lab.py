"""The notebooks as a person runs them: JupyterLab as ``make lab`` starts it, a notebook run
through the server's kernel, plain papermill without TensorFlow's start-up lines."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(smoke_site, tmp_path_factory):
    """JupyterLab on 127.0.0.1 with a token, serving ``notebooks/`` (the flags of ``make lab``),
    its kernels reading the smoke build's run store."""
    site, result = smoke_site
    assert result.returncode == 0, result.stderr
    home = tmp_path_factory.mktemp("lab-home")
    port, token = _free_port(), secrets.token_hex(16)
    root_flag = ["--allow-root"] if os.geteuid() == 0 else []
    env = {**os.environ, "HOME": str(home), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "FMNIST_RUNS_DIR": str(site.parent / "runs")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", str(NOTEBOOKS), "--ip=127.0.0.1", "--no-browser",
         f"--port={port}", f"--IdentityProvider.token={token}", *root_flag],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited: {server.stdout.read()[-2000:]}")
            time.sleep(0.5)
    yield base, token, site
    server.terminate()
    server.wait(timeout=30)


def _api(base, token, path, method="GET", body=None):
    request = urllib.request.Request(f"{base}{path}?token={token}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def _run_in_kernel(base, token, kernel_id, code: str, timeout: float = 600) -> list[dict]:
    """Execute ``code`` through the server's kernel websocket; return the iopub outputs."""
    import websocket

    ws = websocket.create_connection(
        f"{base.replace('http', 'ws')}/api/kernels/{kernel_id}/channels?token={token}",
        timeout=timeout)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    outputs, deadline = [], time.time() + timeout
    while time.time() < deadline:
        message = json.loads(ws.recv())
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = message["msg_type"]
        if kind in ("stream", "execute_result", "display_data", "error"):
            outputs.append({"type": kind, **message["content"]})
        if kind == "status" and message["content"]["execution_state"] == "idle":
            break
    ws.close()
    return outputs


def _texts(outputs) -> list[str]:
    """The plain-text results and stdout of a cell's outputs (what a reader compares)."""
    texts = []
    for output in outputs:
        kind = output.get("type") or output.get("output_type")
        if kind == "stream" and output.get("name") == "stdout":
            texts.append(output["text"])
        elif kind in ("execute_result", "display_data"):
            texts.append(output["data"].get("text/markdown") or output["data"].get("text/plain"))
    return texts


def test_jupyterlab_serves_the_notebooks_runs_one_as_the_page_did_and_loads_in_chromium(lab):
    base, token, site = lab
    listed = {item["name"] for item in _api(base, token, "/api/contents")["content"]}
    assert {path.name for path in NOTEBOOKS.glob("*.ipynb")} <= listed
    # A person opens 02_convnet and runs it, its profile set to the smoke build's.
    notebook = nbformat.read(NOTEBOOKS / "02_convnet.ipynb", as_version=4)
    kernel = _api(base, token, "/api/kernels", "POST", {"name": "python3"})
    _run_in_kernel(base, token, kernel["id"], "import os; os.chdir(os.path.expanduser('~'))")
    by_hand = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = _run_in_kernel(base, token, kernel["id"], cell.source)
        if "parameters" in cell.metadata.get("tags", []):
            _run_in_kernel(base, token, kernel["id"], 'profile = "smoke"')
            continue
        assert not [o for o in outputs if o["type"] == "error"], outputs
        stderr = [o["text"] for o in outputs if o.get("name") == "stderr"]
        assert not [t for t in stderr if "I0000" in t or "cuInit" in t or "absl" in t], stderr
        by_hand.append(_texts(outputs))
    built = nbformat.read(site / "notebooks" / "02_convnet.ipynb", as_version=4)
    from_page = [_texts(cell.outputs) for cell in built.cells
                 if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", [])
                 and "injected-parameters" not in cell.metadata.get("tags", [])]
    assert by_hand == from_page
    _api(base, token, f"/api/kernels/{kernel['id']}", "DELETE")
    # The /lab page itself, in Chromium, without console errors.
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base}/lab?token={token}")
        page.wait_for_selector(".jp-DirListing-item", timeout=60_000)
        names = page.locator(".jp-DirListing-itemText").all_inner_texts()
        browser.close()
    assert "02_convnet.ipynb" in names
    assert errors == []


def test_each_section_notebook_run_with_plain_papermill_has_no_startup_lines(smoke_site,
                                                                            tmp_path):
    """What a person gets from ``papermill notebooks/X.ipynb out.ipynb``: stderr outputs hold
    nothing but our own progress lines (each starts with ``[``)."""
    import papermill

    site, result = smoke_site
    assert result.returncode == 0, result.stderr
    env_runs = os.environ.get("FMNIST_RUNS_DIR")
    os.environ["FMNIST_RUNS_DIR"] = str(site.parent / "runs")
    try:
        for name in ("00_data", "02_convnet"):
            out = tmp_path / f"{name}.ipynb"
            papermill.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(out),
                                       parameters={"profile": "smoke"}, progress_bar=False,
                                       cwd=str(tmp_path), kernel_name="python3")
            executed = nbformat.read(out, as_version=4)
            stderr = [o["text"] for c in executed.cells if c.cell_type == "code"
                      for o in c.outputs if o.get("name") == "stderr"]
            foreign = [line for text in stderr for line in text.splitlines()
                       if line.strip() and not line.startswith("[")]
            assert foreign == [], (name, foreign)
    finally:
        if env_runs is None:
            os.environ.pop("FMNIST_RUNS_DIR", None)
        else:
            os.environ["FMNIST_RUNS_DIR"] = env_runs
