#!/usr/bin/env bash
# Sets chainrule up in ./.venv.  Usage: scripts/setup.sh [--dev]
#   (no flag)  the library with pictures, progress bars, web explorer, data and MPI extras
#              (and OpenMPI, for training across processes with mpirun)
#   --dev      also the test tools (pytest, hypothesis, PyTorch 2.13.0 CPU, Playwright, nbclient)
#              and the system packages the tests need (Graphviz, Chromium)
# Assumes Debian or Ubuntu (apt-get) for system packages and Python >= 3.11 as python3
# (or PYTHON=...).
set -euo pipefail
cd "$(dirname "$0")/.."

extras="all"
want_system="graphviz"
if [[ "${1:-}" == "--dev" ]]; then
    extras="dev"
    want_system="graphviz chromium"
fi
python=${PYTHON:-python3}

say() { echo "setup: $*"; }

# Run an apt-get command as root, through sudo (announced) when we are not root.
apt_get() {
    if [[ "$(id -u)" -eq 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get "$@"
    else
        say "running 'sudo apt-get $*' (installing system packages needs root; sudo may ask for your password)"
        sudo DEBIAN_FRONTEND=noninteractive apt-get "$@"
    fi
}

can_install_with_apt() {
    command -v apt-get >/dev/null 2>&1 && { [[ "$(id -u)" -eq 0 ]] || command -v sudo >/dev/null 2>&1; }
}

# Install Debian packages, saying what and why first: install_with_apt WHY PACKAGE...
install_with_apt() {
    local why=$1
    shift
    if ! can_install_with_apt; then
        say "please install $* with your system's package manager ($why)" >&2
        return 1
    fi
    say "installing $* with apt-get: $why"
    apt_get update -qq
    apt_get install -y -qq "$@" >/dev/null
}

install_system_packages() {
    if ! command -v dot >/dev/null 2>&1; then
        install_with_apt "Graphviz draws the graph pictures and lays out the explorer's graphs" graphviz || true
    fi
    # libopenmpi-dev brings mpicc and the libmpi.so that mpi4py loads at run time
    if ! command -v mpirun >/dev/null 2>&1 || ! command -v mpicc >/dev/null 2>&1; then
        install_with_apt "chainrule.distributed trains across processes with MPI (mpirun, and the library mpi4py loads)" \
            openmpi-bin libopenmpi-dev || true
    fi
    if [[ "$want_system" == *chromium* ]] && [[ ! -x /usr/bin/chromium ]]; then
        install_with_apt "the explorer's tests run in headless Chromium" chromium || true
    fi
}

# The venv module and ensurepip come in a separate package (python3-venv) on Debian/Ubuntu.
venv_works() {
    "$python" -c "import venv, ensurepip" >/dev/null 2>&1
}

create_venv() {
    [[ -x .venv/bin/python ]] && return 0
    if ! venv_works; then
        local version
        version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        install_with_apt "'$python -m venv' needs the venv module and ensurepip" \
            "python$version-venv" || install_with_apt "same, by its generic name" python3-venv
    fi
    say "creating .venv with $("$python" --version)"
    rm -rf .venv
    "$python" -m venv .venv
}

check_python_version() {
    if ! command -v "$python" >/dev/null 2>&1; then
        say "no '$python' found: install Python 3.11 or newer (apt-get install python3)" >&2
        exit 1
    fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        say "chainrule needs Python 3.11 or newer; '$python' is $("$python" --version 2>&1)." >&2
        say "Install a newer one and run: PYTHON=python3.12 scripts/setup.sh" >&2
        exit 1
    fi
}

check_python_version
install_system_packages
create_venv
say "upgrading pip"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
say "installing chainrule[$extras] and its dependencies into .venv (this takes a few minutes)"
.venv/bin/python -m pip install --progress-bar off -e ".[$extras]" | grep --line-buffered -E '^(Collecting|Successfully installed)' || true
.venv/bin/python -c "import chainrule" || { say "the installation failed; see the messages above" >&2; exit 1; }
say "done (.venv ready with chainrule[$extras])"
say "to use chainrule and python without the .venv/bin/ prefix, run: source .venv/bin/activate"
