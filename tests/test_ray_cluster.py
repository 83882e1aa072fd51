"""A real Ray cluster started with `ray start` (token authentication on, as Ray ships it) in a
network namespace that has only loopback, joined with --address: the rows equal a local
`--workers 2` run; a join without the token, an address where nothing listens and a
malformed address are each one line and exit 2, with Ray's own log kept out."""

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
RAY_AUTH_MODE=token {bin}/ray start --head --node-ip-address=127.0.0.1 --port={port} --num-cpus=1 \\
    --include-dashboard=false --disable-usage-stats > head.log 2>&1 || exit 90
RAY_AUTH_MODE=token {bin}/ray start --address=127.0.0.1:{port} --node-ip-address=127.0.0.1 \\
    --num-cpus=1 --disable-usage-stats > node.log 2>&1 || exit 91
mkdir -p elsewhere
env -u RAY_AUTH_MODE HOME={folder}/elsewhere {bin}/palbench run grid.toml \\
    --store no_token.sqlite --executor ray \\
    --address 127.0.0.1:{port} --quiet > no_token.out 2> no_token.err
echo $? > no_token.code
RAY_AUTH_MODE=token {bin}/palbench run grid.toml --store cluster.sqlite --executor ray \\
    --address 127.0.0.1:{port} --quiet > cluster.out 2> cluster.err
echo $? > cluster.code
"""


@pytest.mark.skipif(not can_unshare(), reason="needs root and unshare -n (a network "
                    "namespace with only loopback)")
def test_a_real_cluster_in_a_loopback_namespace(tmp_path):
    (tmp_path / "grid.toml").write_text(GRID)
    home = tmp_path / "home"
    home.mkdir()
    script = textwrap.dedent(CLUSTER).format(home=home, folder=tmp_path, bin=BIN, port=6379)
    done = subprocess.run(["unshare", "-n", "bash", "-c", script], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, (done.returncode, (tmp_path / "head.log").read_text()
                                  if (tmp_path / "head.log").exists() else done.stderr)
    # no token: one line naming the address, the cause and the fix; nothing of Ray's log
    assert (tmp_path / "no_token.code").read_text().strip() == "2"
    err = (tmp_path / "no_token.err").read_text()
    assert err.count("\n") == 1, err
    assert err.startswith("palbench: error: --address = '127.0.0.1:6379': cannot join the "
                          "Ray cluster there") and "RAY_AUTH_MODE=token" in err
    # with the token: the rows of a local two-worker run, bit for bit
    assert (tmp_path / "cluster.code").read_text().strip() == "0", \
        (tmp_path / "cluster.err").read_text()
    assert main(["run", str(tmp_path / "grid.toml"), "--store", str(tmp_path / "local.sqlite"),
                 "--workers", "2", "--quiet"]) == 0
    import pandas as pd

    from tests.test_ray import frame_of

    pd.testing.assert_frame_equal(frame_of(tmp_path / "local.sqlite"),
                                  frame_of(tmp_path / "cluster.sqlite"), check_exact=True)
