#!/usr/bin/env bash
# Debian's Chromium for the browser tests (and poppler's pdftoppm, which the poster test
# turns its PDF into a picture with); a no-op when both are already installed.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium or pdftoppm is missing; install them with: sudo apt-get install chromium" \
    "poppler-utils" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium fonts-noto-cjk poppler-utils >/dev/null
echo "installed $(chromium --version)"
