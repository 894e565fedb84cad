#!/bin/sh
# Installs node_modules when missing or older than package-lock.json; otherwise does nothing.
# Works from any directory: the repo root is derived from this script's location.
set -eu

root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"

# npm writes node_modules/.package-lock.json on every install, so its age is the install's age.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: installing (npm ci from package-lock.json) because node_modules is missing or older than the lock"
  # `npm ci`: exactly the locked versions, and it never rewrites the lock (it fails instead when
  # package.json and the lock disagree). The lock lists every platform's optional packages
  # (@swc/core-darwin-*, -win32-*, ...), so it is complete for macOS and Windows users too;
  # `npm install --package-lock-only` leaves it unchanged (checked 2026-12-03).
  npm ci --no-audit --no-fund
else
  echo "deps: node_modules is up to date with package-lock.json"
fi
