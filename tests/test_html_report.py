"""index.html is self-contained and renders in a real browser: headless Chromium (Debian's
chromium package; .ci/run installs it) loads it and reports the decoded images and tables."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from palbench.cli import main
from tests.conftest import SMALL_CONFIG

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=5000"]
PROBE = ("<script>window.addEventListener('load', () => { document.body.setAttribute("
         "'data-images', [...document.images].filter(i => i.complete && i.naturalWidth > 0)"
         ".length); document.body.setAttribute('data-rows', "
         "document.querySelectorAll('table tbody tr').length); });</script></body>")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    (folder / "c.toml").write_text(SMALL_CONFIG)
    store = folder / "s.sqlite"
    assert main(["run", str(folder / "c.toml"), "--store", str(store), "--quiet"]) == 0
    assert main(["report", "--store", str(store), "--out", str(folder / "report")]) == 0
    return folder / "report" / "index.html"


def test_index_html_is_self_contained(report):
    text = report.read_text()
    # curves only: labels alone (no graph panel), two strategies (nothing to rank)
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', text)) == 1
    assert "src=\"http" not in text and "<link" not in text
    assert "<th>final task_acc</th>" in text and "Provenance" in text


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_index_html_renders_tables_and_images_in_chromium(report, tmp_path):
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", PROBE))
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--enable-logging=stderr", "--v=0", "--dump-dom", probe.as_uri()],
                          capture_output=True, text=True, timeout=120)
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line and
               re.search(r"Uncaught|Error|Failed", line)]
    assert not console, console
    match = re.search(r'<body data-images="(\d+)" data-rows="(\d+)"', done.stdout)
    assert match, done.stderr[-2000:]
    images, rows = map(int, match.groups())
    assert images == 1  # the curves, decoded by the browser
    assert rows >= 2 + 3 + 1  # leaderboard, per-budget table, paired comparison, provenance
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile2'}",
                    "--window-size=1200,1600", f"--screenshot={shot}", report.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000
