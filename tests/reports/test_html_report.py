"""index.html is self-contained and renders in a real browser: headless Chromium (Debian's
chromium package; .ci/run installs it) loads it and reports the decoded images and tables."""

from __future__ import annotations

import html
import json
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
# images decoded, table rows, and images with ink on their outermost pixels (a title or label
# cut at the figure's edge) or wider than the page
PROBE = """<script>window.addEventListener('load', () => {
  const inked = strip => {
    for (let k = 0; k < strip.data.length; k += 4) {
      if (Math.min(strip.data[k], strip.data[k + 1], strip.data[k + 2]) < 160) return true;
    }
    return false;
  };
  const cut = [...document.images].filter(i => {
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [i.naturalWidth, i.naturalHeight];
    const g = canvas.getContext('2d');
    g.drawImage(i, 0, 0);
    const [w, h] = [canvas.width, canvas.height];
    return [g.getImageData(0, 0, w, 1), g.getImageData(0, h - 1, w, 1),
            g.getImageData(0, 0, 1, h), g.getImageData(w - 1, 0, 1, h)].some(inked) ||
      i.getBoundingClientRect().right > document.documentElement.clientWidth;
  });
  document.body.setAttribute('data-images',
    [...document.images].filter(i => i.complete && i.naturalWidth > 0).length);
  document.body.setAttribute('data-rows', document.querySelectorAll('table tbody tr').length);
  document.body.setAttribute('data-cut', cut.map(i => i.alt).join('; '));
});</script></body>"""


def rendered(page, folder) -> tuple[int, int, str]:
    """Chromium's count of decoded images and table rows of `page`, and the images whose
    edges carry ink (cut off) or that overflow the page."""
    probe = folder / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE))
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={folder / 'profile'}",
                           "--enable-logging=stderr", "--v=0", "--dump-dom", probe.as_uri()],
                          capture_output=True, text=True, timeout=120)
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line and
               re.search(r"Uncaught|Error|Failed", line)]
    assert not console, console
    match = re.search(r'<body data-images="(\d+)" data-rows="(\d+)" data-cut="([^"]*)"',
                      done.stdout)
    assert match, done.stderr[-2000:]
    return int(match.group(1)), int(match.group(2)), html.unescape(match.group(3))


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
    images, rows, cut = rendered(report, tmp_path)
    assert images == 1  # the curves, decoded by the browser
    assert cut == ""  # no title or label cut at a figure's edge, no figure wider than the page
    assert rows >= 2 + 3 + 1  # leaderboard, per-budget table, paired comparison, provenance
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile2'}",
                    "--window-size=1200,1600", f"--screenshot={shot}", report.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000


def test_the_report_leads_with_its_one_line_reading(tmp_path, capsys):
    """`palbench report` prints the reading; index.html and leaderboard.md carry the same line
    before any figure or table."""
    (tmp_path / "c.toml").write_text(SMALL_CONFIG)
    store = tmp_path / "s.sqlite"
    assert main(["run", str(tmp_path / "c.toml"), "--store", str(store), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "r")]) == 0
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed.startswith("Best by AULC of task_acc: ") and "against random" in printed
    page = (tmp_path / "r" / "index.html").read_text()
    at = page.index(html.escape("In one line: " + printed))
    assert at < page.index("<img") and at < page.index("<table")
    board = (tmp_path / "r" / "leaderboard.md").read_text()
    assert board.index("In one line: " + printed) < board.index("|")


def test_a_component_named_by_import_path_is_labelled_by_that_path(tmp_path):
    """Panels and lines are named as the config names them: an import path, not the bare
    class name."""
    (tmp_path / "c.toml").write_text(SMALL_CONFIG.replace(
        'name = "noisy_label"', 'name = "palbench.oracles.noisy:NoisyLabel"'))
    store = tmp_path / "s.sqlite"
    assert main(["run", str(tmp_path / "c.toml"), "--store", str(store), "--quiet"]) == 0
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "r")]) == 0
    board = (tmp_path / "r" / "leaderboard.md").read_text()
    assert "oracle palbench.oracles.noisy:NoisyLabel" in board and "oracle NoisyLabel" not in \
        board


SORT_PROBE = """<script>window.addEventListener('load', () => {
  const table = document.querySelector('table');
  const column = [...table.tHead.rows[0].cells].findIndex(th => th.textContent === 'AULC');
  const read = () => [...table.tBodies[0].rows].map(r => r.cells[column].textContent);
  table.tHead.rows[0].cells[column].click();
  const up = read();
  table.tHead.rows[0].cells[column].click();
  document.body.setAttribute('data-sorted', JSON.stringify([up, read()]));
}); </script></body>"""


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_a_click_on_a_header_sorts_the_table_in_chromium(report, tmp_path):
    probe = tmp_path / "sort.html"
    probe.write_text(report.read_text().replace("</body>", SORT_PROBE))
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                          timeout=120)
    match = re.search(r"data-sorted=\"([^\"]+)\"", done.stdout)
    assert match, done.stderr[-2000:]
    up, down = json.loads(html.unescape(match.group(1)))
    means = [float(cell.split()[0]) for cell in up]
    assert len(means) == 2 and means == sorted(means)  # ascending, then the other way
    assert down == up[::-1]
