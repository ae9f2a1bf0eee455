"""``scripts/setup.sh`` on a fresh Debian (a ``debootstrap`` chroot with only Python 3), then the
README's first command, as a newcomer runs them.

Slow (a few minutes, and it downloads Debian and the Python packages), so it runs only when
asked for, as root, with debootstrap installed:

    CHAINRULE_SLOW_TESTS=1 .venv/bin/python -m pytest -m slow tests/test_setup_on_fresh_debian.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
MIRROR = os.environ.get("CHAINRULE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
#: what a clone holds; the rest of the working tree (the venv, caches) is left behind
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", "chainrule-*"
)


def _why_not_runnable() -> str | None:
    if os.environ.get("CHAINRULE_SLOW_TESTS") != "1":
        return "a slow test: set CHAINRULE_SLOW_TESTS=1 to run it"
    if os.geteuid() != 0:
        return "debootstrap and chroot need root"
    if shutil.which("debootstrap") is None:
        return "needs debootstrap (apt-get install debootstrap)"
    return None


def run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def fresh_debian(tmp_path: Path) -> Iterator[Path]:
    """A minimal Debian with python3 (as a fresh machine has), its /proc and /dev mounted."""
    reason = _why_not_runnable()
    if reason:
        pytest.skip(reason)
    root = tmp_path / "debian"
    made = run(
        ["debootstrap", "--variant=minbase", "--include=python3", SUITE, str(root), MIRROR],
        timeout=1200,
    )
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    mounted = []
    try:
        for point, how in (("proc", ["-t", "proc", "proc"]), ("dev", ["--bind", "/dev"])):
            subprocess.run(["mount", *how, str(root / point)], check=True)
            mounted.append(root / point)
        yield root
    finally:
        for point in reversed(mounted):
            subprocess.run(["umount", "--lazy", str(point)], check=False)


#: what a machine on this network is set up with: its proxies and the certificates it trusts
NETWORK_SETTINGS = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY")
CA_BUNDLE_SETTINGS = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")


def network_environment(root: Path) -> list[str]:
    """This machine's proxy settings and CA bundle (copied in), for the chroot's downloads."""
    settings = [f"{name}={os.environ[name]}" for name in NETWORK_SETTINGS if name in os.environ]
    bundle = next((os.environ[n] for n in CA_BUNDLE_SETTINGS if os.environ.get(n)), None)
    if bundle and Path(bundle).is_file():
        shutil.copy(bundle, root / "usr" / "local" / "share" / "network-ca.crt")
        settings.append("PIP_CERT=/usr/local/share/network-ca.crt")
    return settings


def in_chroot(root: Path, script: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = ["env", "-i", "HOME=/root", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]
    env += network_environment(root)
    return run(["chroot", str(root), *env, "bash", "-c", script], timeout=timeout)


def test_setup_then_the_readme_command_on_fresh_debian(fresh_debian: Path):
    shutil.copytree(ROOT, fresh_debian / "root" / "chainrule", ignore=NOT_IN_A_CLONE)
    done = in_chroot(
        fresh_debian,
        "cd /root/chainrule && scripts/setup.sh && MPLBACKEND=Agg .venv/bin/chainrule demo",
        timeout=2400,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    # python3 -m venv needs a package Debian leaves out: setup says so and installs it
    assert "venv' needs the venv module and ensurepip" in output
    assert "installing graphviz with apt-get" in output
    assert "source .venv/bin/activate" in output
    assert "accuracy" in done.stdout  # the demo trained and reported
