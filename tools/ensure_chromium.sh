#!/usr/bin/env bash
# The browser tests drive Debian's Chromium with Playwright (no browser download: Playwright is
# pointed at /usr/bin/chromium). Install it when we can (root with apt-get, as in CI); otherwise
# say how, and the browser tests skip with that reason (in CI they fail instead).
set -u
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests..."
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || echo "warning: could not install chromium; the browser tests will not run" >&2
else
  echo "note: chromium is not installed, so the browser tests will be skipped (sudo apt-get install chromium)" >&2
fi
exit 0
