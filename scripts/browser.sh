#!/usr/bin/env bash
# Debian's chromium and chromium-driver for the console's browser tests (tests/console): installed with
# apt-get when missing and this runs as root; otherwise says the browser tests will be skipped.
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi
if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "browser.sh: installing Debian's chromium and chromium-driver for the console's browser tests"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver
else
    echo "browser.sh: chromium and chromium-driver are missing and need root to install" \
        "(apt-get install chromium chromium-driver); the console's browser tests will be skipped"
fi
