"""A real Ray cluster started with `ray start` (token authentication on, as Ray ships it) in a
network namespace that has only loopback, joined with --address: the rows equal a local
`--workers 2` run; a join without the token, a cluster of another Ray version, an address
where nothing listens and a malformed address are each one line and exit 2, with Ray's own log
kept out."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from palbench.cli import main

ray = pytest.importorskip("ray", reason="pip install 'palbench[ray]'")

GRID = """
[experiment]
seeds = [0, 1]
budgets = [6, 12]
batch_size = 3
probe = false
[dataset]
name = "blobs"
n_samples = 120
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[learner]
name = "sklearn"
"""
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address,words", [
    ("nohost", "must be auto, HOST:PORT or ray://HOST:PORT"),
    ("127.0.0.1:99999", "must be auto, HOST:PORT or ray://HOST:PORT"),
    ("ray://127.0.0.1:x", "must be auto, HOST:PORT or ray://HOST:PORT"),
])
def test_a_malformed_address_is_one_line(address, words, tmp_path, capsys):
    (tmp_path / "g.toml").write_text(GRID)
    assert main(["run", str(tmp_path / "g.toml"), "--store", str(tmp_path / "s.sqlite"),
                 "--executor", "ray", "--address", address, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert not (tmp_path / "s.sqlite").exists()  # refused before the store was made


def test_an_address_where_nothing_listens_is_one_line_at_once(tmp_path, capsys):
    (tmp_path / "g.toml").write_text(GRID)
    address = f"127.0.0.1:{free_port()}"
    assert main(["run", str(tmp_path / "g.toml"), "--store", str(tmp_path / "s.sqlite"),
                 "--executor", "ray", "--address", address, "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"palbench: error: --address = '{address}': no Ray cluster answers there (Connection "
        "refused); start one with `ray start --head`, or check the host and port\n")


def can_unshare() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


CLUSTER = """
set -u
ip link set lo up
export RAY_USAGE_STATS_ENABLED=0 RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1 HOME={home}
trap '{bin}/ray stop --force > /dev/null 2>&1' EXIT
cd {folder}
{bin}/ray get-auth-token --generate > /dev/null 2>&1 || exit 89
# a head that runs no task and two worker nodes of one CPU each, token authentication on
RAY_AUTH_MODE=token {bin}/ray start --head --node-ip-address=127.0.0.1 --port={port} \\
    --num-cpus=0 --include-dashboard=false --disable-usage-stats > head.log 2>&1 || exit 90
for node in 1 2; do
    RAY_AUTH_MODE=token {bin}/ray start --address=127.0.0.1:{port} \\
        --node-ip-address=127.0.0.1 --num-cpus=1 --disable-usage-stats > node$node.log 2>&1 \\
        || exit 91
done
{body}
"""
JOIN_WITHOUT_TOKEN = """
mkdir -p elsewhere
env -u RAY_AUTH_MODE HOME={folder}/elsewhere {bin}/palbench run grid.toml \\
    --store no_token.sqlite --executor ray --address 127.0.0.1:{port} --quiet \\
    > no_token.out 2> no_token.err
echo $? > no_token.code
RAY_AUTH_MODE=token {bin}/palbench run grid.toml --store cluster.sqlite --executor ray \\
    --address 127.0.0.1:{port} --quiet > cluster.out 2> cluster.err
echo $? > cluster.code
# the metadata a head of Ray 2.0.0 on Python 3.7.0 stores (its start writes it to the GCS)
RAY_AUTH_MODE=token {python} -c "
import json
from ray._raylet import GcsClient
gcs = GcsClient(address='127.0.0.1:{port}')
key, space = b'CLUSTER_METADATA', b'cluster'
meta = json.loads(gcs.internal_kv_get(key, namespace=space))
meta.update(ray_version='2.0.0', python_version='3.7.0')
gcs.internal_kv_put(key, json.dumps(meta).encode(), True, namespace=space)"
RAY_AUTH_MODE=token {bin}/palbench run grid.toml --store versions.sqlite --executor ray \\
    --address 127.0.0.1:{port} --quiet > versions.out 2> versions.err
echo $? > versions.code
"""
# kill one worker node's raylet once the first run is stored, then let the grid finish (Ray
# retries the cells that node held) and run it again (nothing left, or the rest)
KILL_A_NODE = """
RAY_AUTH_MODE=token {bin}/palbench run grid.toml --store killed.sqlite --executor ray \\
    --address 127.0.0.1:{port} --quiet > killed.out 2> killed.err &
driver=$!
for i in $(seq 600); do
    runs=$({python} -c "import sqlite3, sys
try: print(sqlite3.connect('file:killed.sqlite?mode=ro', uri=True).execute(
    'SELECT COUNT(*) FROM runs').fetchone()[0])
except Exception: print(0)")
    [ "$runs" -ge 1 ] && break
    sleep 0.2
done
victim=$(pgrep -f 'raylet/raylet' | while read pid; do
    tr '\\0' ' ' < /proc/$pid/cmdline | grep -q -- ' --head' || echo $pid; done | head -n 1)
kill -9 "$victim"
echo "$runs" > killed.at
wait $driver
echo $? > killed.code
RAY_AUTH_MODE=token {bin}/palbench run grid.toml --store killed.sqlite --executor ray \\
    --address 127.0.0.1:{port} --quiet > rerun.out 2> rerun.err
echo $? > rerun.code
"""


def in_a_cluster(tmp_path: Path, body: str, grid: str = GRID) -> Path:
    """Run `body` (shell) beside a 3-node cluster in a fresh loopback-only namespace."""
    (tmp_path / "grid.toml").write_text(grid)
    home = tmp_path / "home"
    home.mkdir()
    fill = dict(home=home, folder=tmp_path, bin=BIN, port=6379, python=sys.executable)
    script = textwrap.dedent(CLUSTER).format(**fill, body=textwrap.dedent(body).format(**fill))
    done = subprocess.run(["unshare", "-n", "bash", "-c", script], capture_output=True,
                          text=True, timeout=400)
    logs = {p.name: p.read_text()[-2000:] for p in tmp_path.glob("*.log")}
    assert done.returncode == 0, (done.returncode, done.stderr, logs)
    return tmp_path


def rows(store: Path):
    from tests.bench.test_ray import frame_of

    return frame_of(store)


needs_namespace = pytest.mark.skipif(not can_unshare(), reason="needs root and unshare -n "
                                     "(a network namespace with only loopback)")


@needs_namespace
def test_a_real_cluster_in_a_loopback_namespace(tmp_path):
    import pandas as pd

    folder = in_a_cluster(tmp_path, JOIN_WITHOUT_TOKEN)
    # no token: one line naming the address, the cause and the fix; nothing of Ray's log
    assert (folder / "no_token.code").read_text().strip() == "2"
    err = (folder / "no_token.err").read_text()
    assert err.count("\n") == 1, err
    assert err.startswith("palbench: error: --address = '127.0.0.1:6379': cannot join the "
                          "Ray cluster there") and "RAY_AUTH_MODE=token" in err
    # with the token: a local run's rows, bit for bit
    assert (folder / "cluster.code").read_text().strip() == "0", \
        (folder / "cluster.err").read_text()
    assert main(["run", str(folder / "grid.toml"), "--store", str(folder / "local.sqlite"),
                 "--workers", "2", "--quiet"]) == 0
    pd.testing.assert_frame_equal(rows(folder / "local.sqlite"), rows(folder / "cluster.sqlite"),
                                  check_exact=True)
    # a cluster of another Ray and Python: one line naming both, no cell run
    assert (folder / "versions.code").read_text().strip() == "2"
    err = (folder / "versions.err").read_text()
    assert err == ("palbench: error: --address = '127.0.0.1:6379': the Ray cluster there runs "
                   "Ray 2.0.0 on Python 3.7.0, this machine Ray "
                   f"{ray.__version__} on Python {sys.version.split()[0]}: a driver needs the "
                   "cluster's versions (pip install ray==2.0.0 here, or start the cluster with "
                   "this Ray and Python)\n"), err
    assert not (folder / "versions.sqlite").exists() or not rows(folder / "versions.sqlite").size


KILL_GRID = GRID.replace("seeds = [0, 1]", "seeds = [0, 1, 2, 3, 4, 5]").replace(
    'name = "sklearn"', 'name = "mlp"\nepochs = 40\nhidden = [32]\ndevice = "cpu"')


@needs_namespace
def test_a_node_killed_mid_grid_leaves_no_cell_missing_or_twice(tmp_path):
    import sqlite3

    import pandas as pd

    folder = in_a_cluster(tmp_path, KILL_A_NODE, KILL_GRID)
    assert int((folder / "killed.at").read_text()) >= 1
    codes = ((folder / "killed.code").read_text().strip(),
             (folder / "rerun.code").read_text().strip())
    assert codes[1] == "0", (folder / "rerun.err").read_text()
    assert codes[0] in ("0", "1"), (folder / "killed.err").read_text()
    with sqlite3.connect(folder / "killed.sqlite") as conn:
        cells = conn.execute("SELECT spec_hash, COUNT(*) FROM runs GROUP BY spec_hash").fetchall()
    assert len(cells) == 12 and all(n == 1 for _, n in cells)  # 2 strategies x 6 seeds, once
    assert main(["run", str(folder / "grid.toml"), "--store", str(folder / "local.sqlite"),
                 "--workers", "2", "--quiet"]) == 0
    pd.testing.assert_frame_equal(rows(folder / "local.sqlite"), rows(folder / "killed.sqlite"),
                                  check_exact=True)
