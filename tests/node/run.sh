#!/bin/sh
# ctest entry of the Node fidelity test: run.sh PATH_TO_MAILCHIMP_SIM
# Exits 77 (ctest: skipped) only when node is not installed; scripts/setup installs it and the
# npm packages (tests/node/node_modules).
command -v node >/dev/null 2>&1 || { echo "node is not installed: skipping the fidelity test"; exit 77; }
cd "$(dirname "$0")" || exit 1
if [ ! -d node_modules/@mailchimp/mailchimp_marketing ]; then
  echo "tests/node/node_modules is missing: run scripts/setup (it runs npm ci here)" >&2
  exit 1
fi
MAILCHIMP_SIM="$1" exec node --test fidelity.test.js
