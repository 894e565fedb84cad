#!/bin/sh
# Installs node_modules when missing or older than package-lock.json; otherwise does nothing.
# Works from any directory: the repo root is derived from this script's location.
set -eu

root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"

# npm writes node_modules/.package-lock.json on every install, so its age is the install's age.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: installing (npm install from package-lock.json) because node_modules is missing or older than the lock"
  # Not `npm ci`: its strict sync check fails where a registry mirror lacks other platforms'
  # optional packages (e.g. @swc/core-darwin-*), which then never enter the lock. `npm install`
  # with the committed lock installs exactly the locked versions and leaves the lock as it is.
  npm install --no-audit --no-fund
else
  echo "deps: node_modules is up to date with package-lock.json"
fi
