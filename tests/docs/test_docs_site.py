"""The documentation site builds with `mkdocs build --strict` and renders in a real browser:
headless Chromium loads pages served over HTTP, as a reader gets them, and reports decoded
images, table rows and console errors."""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.reports.test_html_report import CHROMIUM, FLAGS, PROBE

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    out = tmp_path_factory.mktemp("site") / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_the_site_holds_every_page_and_the_generated_reference(site):
    reference = (site / "reference" / "config" / "index.html").read_text()
    for name in ("greedy_oracle", "stabilizing_predictions", "kernel_pal", "noisy_pair",
                 "probabilities_from", "full_pool"):
        assert name in reference
    api = (site / "reference" / "api" / "index.html").read_text()
    assert "check_strategy" in api and "QueryContext" in api
    assert (site / "tutorial" / "your-own-strategy.ipynb").exists()


@pytest.fixture
def served(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
@pytest.mark.parametrize("page, images, rows", [
    ("index.html", 1, 0),                      # the home page's figure
    ("reference/config/index.html", 0, 150),   # the generated parameter tables
    ("literature/lu_wdbc/index.html", 0, 10),  # a reproduced table
])
def test_a_page_renders_in_chromium(site, served, page, images, rows, tmp_path):
    path = site / page
    original = path.read_text()
    path.write_text(original.replace("</body>", PROBE))
    try:
        done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'p'}",
                               "--enable-logging=stderr", "--v=0", "--dump-dom",
                               f"{served}/{page}"], capture_output=True, text=True, timeout=120)
    finally:
        path.write_text(original)
    match = re.search(r'data-images="(\d+)" data-rows="(\d+)"', done.stdout)
    assert match, done.stderr[-2000:]
    assert int(match.group(1)) >= images and int(match.group(2)) >= rows, match.groups()
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line and
               re.search(r"Uncaught|Error|Failed", line)]
    assert not console, console
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'q'}",
                    "--window-size=1200,1400", f"--screenshot={shot}", f"{served}/{page}"],
                   capture_output=True, timeout=120)
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000
