#!/usr/bin/env bash
# Install xlclv for Excel on macOS (also runs on Linux, where it skips the Excel parts).
#
#   1. finds Python 3.11 or newer,
#   2. makes a private Python environment in ~/.xlclv/venv (reused when it is already there),
#   3. installs xlclv into it with pip,
#   4. runs `xlclv install`: xlwings config and add-in, the xlclv ribbon add-in, the templates
#      in ~/Documents/xlclv.
#
# Usage:  bash install.sh [--dry-run | --status | --force]   (options go to `xlclv install`;
#         with --dry-run, steps 1-3 still run, inside ~/.xlclv only, and step 4 only prints)
#
# Settings (environment variables), all optional:
#   XLCLV_PYTHON        the Python to use (default: python3)
#   XLCLV_VENV          where the environment goes (default: ~/.xlclv/venv)
#   XLCLV_SOURCE        what pip installs (default: xlclv from PyPI; a folder or .whl works too)
#   XLCLV_PIP_OPTIONS   extra pip options, e.g. "--no-deps --no-build-isolation --no-index"
#   XLCLV_SKIP_PIP=1    skip step 3 (xlclv is already in the environment)
set -euo pipefail

say() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nxlclv install stopped: %s\n' "$*" >&2; exit 1; }

PYTHON="${XLCLV_PYTHON:-python3}"
VENV="${XLCLV_VENV:-$HOME/.xlclv/venv}"
SOURCE="${XLCLV_SOURCE:-xlclv}"

say "1/4 Looking for Python 3.11 or newer ($PYTHON)"
command -v "$PYTHON" >/dev/null 2>&1 \
  || fail "Python 3 was not found. Install it from https://www.python.org/downloads/macos/ and run this again."
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || fail "$("$PYTHON" --version 2>&1) is too old: xlclv needs Python 3.11 or newer (https://www.python.org/downloads/macos/)."
"$PYTHON" --version

say "2/4 Python environment $VENV"
if [ -x "$VENV/bin/python" ]; then
  echo "already there, reused"
else
  "$PYTHON" -m venv "$VENV" || fail "could not create $VENV"
  echo "created"
fi

if [ "${XLCLV_SKIP_PIP:-0}" = "1" ]; then
  say "3/4 Installing xlclv: skipped (XLCLV_SKIP_PIP=1)"
else
  say "3/4 Installing xlclv ($SOURCE) with pip"
  # shellcheck disable=SC2086  # XLCLV_PIP_OPTIONS is a list of options
  "$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade ${XLCLV_PIP_OPTIONS:-} "$SOURCE" \
    || fail "pip could not install $SOURCE (is the computer online?)"
fi

say "4/4 Setting Excel up: xlclv install $*"
"$VENV/bin/python" -m xlclv install "$@"
