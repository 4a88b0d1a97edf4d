#!/usr/bin/env bash
# tryon's two entry points, each installing what it needs on a fresh Debian machine:
#
#   ./run.sh demo [demo.py options]    the demo on the bundled sample clip -> demo_output.mp4
#   ./run.sh test [pytest options]     the test suite
#
# Installs the Debian GL libraries when they are missing (as root; otherwise says what to
# install), creates .venv with the pinned Python packages (requirements.lock), then runs.
set -euo pipefail
CALLER_DIR=$PWD  # the demo's --input/--output paths are relative to where it was called from
cd "$(dirname "$0")"
ROOT_DIR=$PWD

PYTHON=${PYTHON:-python3}
VENV=.venv
APT_PACKAGES=(libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri libglib2.0-0)

say() { printf '[run.sh] %s\n' "$*" >&2; }

have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }

apt_install() {
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing Debian packages: $*"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    else
        say "missing system packages; install them and run again:"
        say "    sudo apt-get install $*"
        exit 1
    fi
}

ensure_system() {
    local missing=()
    have_lib 'libGL.so.1' || missing+=(libgl1)
    have_lib 'libEGL.so.1' || missing+=(libegl1)
    have_lib 'libEGL_mesa.so.0' || missing+=(libegl-mesa0)
    [ -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so ] || [ -n "$(ls /usr/lib/*/dri/swrast_dri.so 2>/dev/null)" ] || missing+=(libgl1-mesa-dri)
    have_lib 'libglib-2.0.so.0' || missing+=(libglib2.0-0)
    if [ ${#missing[@]} -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
    if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        apt_install python3-venv
    fi
}

ensure_venv() {
    local stamp="$VENV/.tryon-installed"
    local want
    want=$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
        return
    fi
    "$PYTHON" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)' || {
        say "tryon needs Python 3.10-3.12 (mediapipe 0.10.21); found $("$PYTHON" --version 2>&1). Set PYTHON=python3.11"
        exit 1
    }
    say "creating $VENV with the pinned packages (first run only; a few minutes)"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -r requirements.lock
    "$VENV/bin/python" -m pip install -q --no-deps -e .
    # The frame path's compiled kernels (numba, cached): once here, not on a shopper's first frame.
    "$VENV/bin/python" -m tryon.warmup || say "warm-up failed: the kernels will compile on first use"
    echo "$want" > "$stamp"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    demo)
        ensure_system
        ensure_venv
        cd "$CALLER_DIR"
        exec "$ROOT_DIR/$VENV/bin/python" "$ROOT_DIR/demo.py" "$@"
        ;;
    test)
        ensure_system
        if ! command -v Xvfb >/dev/null 2>&1; then  # the mirror's real-window test
            if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
                apt_install xvfb
            else
                say "Xvfb is missing (sudo apt-get install xvfb): the mirror's window test will be skipped"
            fi
        fi
        ensure_venv
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    setup)
        ensure_system
        ensure_venv
        ;;
    *)
        sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
