#!/usr/bin/env bash
# Installs what building and testing Cochlea needs on Debian/Ubuntu, or says exactly what to run.
# Sourced by ./run; safe to run again (it only installs what is missing).

COCHLEA_APT_PACKAGES=(pkg-config libasound2-dev libjack-jackd2-dev)

cochlea_need_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "Cochlea needs Rust (cargo). Install it with:" >&2
        echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh" >&2
        return 1
    fi
}

cochlea_missing_apt_packages() {
    local p
    for p in "${COCHLEA_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}

cochlea_need_system_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        # Not Debian: check the libraries themselves.
        if ! pkg-config --exists alsa jack 2>/dev/null; then
            echo "Cochlea needs pkg-config and the ALSA and JACK development files (alsa, jack)." >&2
            return 1
        fi
        return 0
    fi
    local missing
    missing=$(cochlea_missing_apt_packages | tr '\n' ' ')
    [ -z "${missing// /}" ] && return 0
    echo "Installing system packages: $missing" >&2
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
        echo "Cannot install them without root. Run:" >&2
        echo "  sudo apt-get install -y $missing" >&2
        return 1
    fi
}

# The VST3 hosts the plugin's tests load Cochlea.vst3 in (plugin/tests/vst3_hosts.rs): JUCE-based
# hosts from PyPI, pinned to the versions the tests were written against, in a virtual
# environment under target/ (where the tests look for it, or set COCHLEA_PYTHON).
COCHLEA_HOST_VENV=${COCHLEA_HOST_VENV:-${CARGO_TARGET_DIR:-target}/host-venv}
COCHLEA_PYPI_HOSTS=(numpy==2.4.6 pedalboard==0.9.26 minihost==0.11.0)

cochlea_need_vst3_hosts() {
    local python="$COCHLEA_HOST_VENV/bin/python"
    local check='import importlib.metadata as m, sys
want = dict(a.split("==") for a in sys.argv[1:])
sys.exit(any(m.version(p) != v for p, v in want.items()))'
    if [ -x "$python" ] && "$python" -c "$check" "${COCHLEA_PYPI_HOSTS[@]}" 2>/dev/null; then
        return 0
    fi
    local system_python
    system_python=$(command -v python3 || true)
    if [ -z "$system_python" ]; then
        echo "Cochlea's plugin tests need Python 3 (with venv and pip) for their VST3 hosts." >&2
        return 1
    fi
    echo "Installing the VST3 test hosts into $COCHLEA_HOST_VENV: ${COCHLEA_PYPI_HOSTS[*]}" >&2
    "$system_python" -m venv "$COCHLEA_HOST_VENV" &&
        "$python" -m pip install --quiet --disable-pip-version-check "${COCHLEA_PYPI_HOSTS[@]}" &&
        "$python" -c "import numpy, pedalboard, minihost" || {
        echo "Could not install ${COCHLEA_PYPI_HOSTS[*]} from PyPI into $COCHLEA_HOST_VENV." >&2
        return 1
    }
}
