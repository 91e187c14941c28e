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
