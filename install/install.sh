#!/usr/bin/env bash
# Install xlclv for Excel on macOS (also runs on Linux, where it skips the Excel parts).
#
#   1. finds Python 3.11 or newer,
#   2. makes a private Python environment in ~/.xlclv/venv (reused when it is already there),
#   3. installs xlclv into it with pip -- from THIS folder: the xlclv wheel next to this script
#      (the unzipped release) or the clone this script sits in -- or from --source,
#   4. runs `xlclv install`: the xlclv ribbon add-in, the templates in ~/Documents/xlclv.
#
# Usage:  bash install.sh [--source PATH-or-URL] [--dry-run | --status | --force]
#         --source: a wheel, a folder with xlclv's pyproject.toml, or a URL of either;
#         other options go to `xlclv install` (with --dry-run, steps 1-3 still run, inside
#         ~/.xlclv only, and step 4 only prints)
#
# Settings (environment variables), all optional:
#   XLCLV_PYTHON        the Python to use (default: python3)
#   XLCLV_VENV          where the environment goes (default: ~/.xlclv/venv)
#   XLCLV_SOURCE        same as --source
#   XLCLV_PIP_OPTIONS   extra pip options, e.g. "--no-index --find-links /path/to/wheels"
#   XLCLV_SKIP_PIP=1    skip step 3 (xlclv is already in the environment)
set -euo pipefail

say() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nxlclv install stopped: %s\n' "$*" >&2; exit 1; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${XLCLV_PYTHON:-python3}"
VENV="${XLCLV_VENV:-$HOME/.xlclv/venv}"
SOURCE="${XLCLV_SOURCE:-}"

ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --source) [ $# -ge 2 ] || fail "--source needs a path or URL"; SOURCE="$2"; shift 2 ;;
    --source=*) SOURCE="${1#--source=}"; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done

# What to install: --source, else the newest xlclv wheel next to this script (the unzipped
# release), else the clone this script sits in (install/ is one level below pyproject.toml).
find_source() {
  local wheel
  wheel="$(find "$HERE" -maxdepth 1 -name 'xlclv-*.whl' 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$wheel" ]; then
    printf '%s\n' "$wheel"
  elif [ -f "$HERE/../pyproject.toml" ] && grep -q '^name = "xlclv"' "$HERE/../pyproject.toml"; then
    (cd "$HERE/.." && pwd)
  fi
}
if [ -z "$SOURCE" ] && [ "${XLCLV_SKIP_PIP:-0}" != "1" ]; then
  SOURCE="$(find_source)"
  [ -n "$SOURCE" ] || fail "there is no xlclv next to this script ($HERE): run the install.sh of the unzipped xlclv release or of a clone of the xlclv repository, or give --source with a wheel, a folder or a URL."
fi
case "$SOURCE" in
  ""|http://*|https://*|git+*) ;;
  *) [ -e "$SOURCE" ] || fail "--source $SOURCE does not exist: give a wheel (.whl), a folder with xlclv's pyproject.toml, or a URL." ;;
esac

say "1/4 Looking for Python 3.11 or newer ($PYTHON)"
command -v "$PYTHON" >/dev/null 2>&1 \
  || fail "Python 3 was not found. Install it from https://www.python.org/downloads/macos/ and run this again."
if [ "$(uname -s)" = "Darwin" ] && [ "$(command -v "$PYTHON")" = "/usr/bin/python3" ] \
   && ! xcode-select -p >/dev/null 2>&1; then
  fail "/usr/bin/python3 is Apple's placeholder: it only offers to install the Command Line Tools. Install Python from https://www.python.org/downloads/macos/ (then open a new Terminal window) and run this again."
fi
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || fail "$("$PYTHON" --version 2>&1) is too old: xlclv needs Python 3.11 or newer (https://www.python.org/downloads/macos/)."
"$PYTHON" --version

if [ "$(uname -s)" = "Darwin" ]; then
  echo "Note: the first time Excel runs xlclv, macOS asks once to let Excel run the xlwings"
  echo "script and to open files in the xlclv folders: allow it (Excel > Settings > Security"
  echo "and the System Settings > Privacy & Security pane list what you allowed)."
fi

say "2/4 Python environment $VENV"
if [ -x "$VENV/bin/python" ]; then
  echo "already there, reused"
else
  "$PYTHON" -m venv "$VENV" || fail "could not create $VENV"
  echo "created"
fi

# pip's messages tell a missing network apart from a missing package.
pip_failure() {
  local log="$1" what="$2"
  if grep -Eqi 'Failed to establish a new connection|Temporary failure in name resolution|Name or service not known|nodename nor servname|Network is unreachable|getaddrinfo failed|Max retries exceeded|ConnectTimeout|ReadTimeout|Connection (refused|reset)|SSLError|ProxyError' "$log"; then
    fail "no network: pip could not reach the package index for xlclv's dependencies (numpy, pandas, scipy, xlwings...). Check the internet connection (or the proxy: HTTPS_PROXY), then run this again. pip said: $(grep -Ei 'connection|resolution|unreachable|timeout|ssl|proxy' "$log" | tail -n 1)"
  elif grep -Eqi 'No matching distribution found|Could not find a version that satisfies' "$log"; then
    fail "package not found: $(grep -Ei 'No matching distribution|Could not find a version' "$log" | tail -n 1). $what is there, but pip found no matching version of that package for this Python ($("$VENV/bin/python" --version 2>&1)); xlclv needs Python 3.11 or newer on a platform numpy, pandas and scipy publish wheels for."
  else
    fail "pip could not install $what: $(tail -n 3 "$log" | tr '\n' ' ')"
  fi
}

if [ "${XLCLV_SKIP_PIP:-0}" = "1" ]; then
  say "3/4 Installing xlclv: skipped (XLCLV_SKIP_PIP=1)"
else
  say "3/4 Installing xlclv from $SOURCE with pip"
  LOG="$(mktemp "${TMPDIR:-/tmp}/xlclv-pip.XXXXXX")"
  # shellcheck disable=SC2086  # XLCLV_PIP_OPTIONS is a list of options
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade ${XLCLV_PIP_OPTIONS:-} "$SOURCE" 2>&1 | tee "$LOG"; then
    pip_failure "$LOG" "$SOURCE"
  fi
  rm -f "$LOG"
fi

say "4/4 Setting Excel up: xlclv install ${ARGS[*]:-}"
"$VENV/bin/python" -m xlclv install "${ARGS[@]+"${ARGS[@]}"}"
