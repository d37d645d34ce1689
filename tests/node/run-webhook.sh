#!/bin/sh
# ctest entry of the webhook signature test: run-webhook.sh PATH_TO_LINKSTACKED
# Exits 77 (ctest: skipped) only when node is not installed; scripts/setup installs it and the
# npm packages (tests/node/node_modules).
command -v node >/dev/null 2>&1 || { echo "node is not installed: skipping the webhook test"; exit 77; }
cd "$(dirname "$0")" || exit 1
if [ ! -d node_modules/standardwebhooks ]; then
  echo "tests/node/node_modules is missing standardwebhooks: run scripts/setup (it runs npm ci here)" >&2
  exit 1
fi
LINKSTACKED="$1" exec node --test webhook.test.js
