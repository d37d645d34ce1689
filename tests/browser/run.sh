#!/bin/sh
# ctest entry of the dashboard's browser test: run.sh PATH_TO_LINKSTACKED SCREENSHOT_DIR
# Exits 77 (ctest: skipped) only when node is not installed; scripts/setup installs it, Debian's
# chromium and the npm packages (tests/browser/node_modules).
command -v node >/dev/null 2>&1 || { echo "node is not installed: skipping the browser test"; exit 77; }
cd "$(dirname "$0")" || exit 1
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "$chromium is missing: run scripts/setup (it installs Debian's chromium package)" >&2
  exit 1
fi
if [ ! -d node_modules/playwright-core ]; then
  echo "tests/browser/node_modules is missing: run scripts/setup (it runs npm ci here)" >&2
  exit 1
fi
LINKSTACKED="$1" SCREENSHOTS="$2" CHROMIUM="$chromium" exec node --test --test-reporter=spec dashboard.test.js
