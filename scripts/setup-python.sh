#!/usr/bin/env bash
# setup-python.sh — create the Python virtualenv that recall's MCP tests run their client in.
#
#   <venv>/bin/python        with the official MCP Python SDK (mcp, pinned below) and what it pulls in
#   <venv>/.recall-stamp     the requirements and interpreter version it was installed for
#
# <venv> = $RECALL_VENV, else .venv at the repository root (git-ignored).
#
# tests/mcp_client.py (a real MCP client: initialize, tools/list, tools/call against
# `recall mcp` over stdio, or `recall serve`'s /mcp over streamable HTTP) needs it.
#
# Idempotent and quick: when the stamp matches the requirements below and the venv's interpreter
# still runs, it prints the interpreter's path and exits 0 without touching the network. When the
# requirements change (or the venv is missing or broken) it (re)installs them and rewrites the
# stamp last, so an interrupted run is simply redone next time. A lock serialises concurrent runs.
#
# Needs: bash, python3 >= 3.10 (3.11 is what this project uses) with the venv module
# (Debian: apt-get install python3-venv), network access to PyPI (or pip configured via
# PIP_INDEX_URL / PIP_FIND_LINKS).
# Usage:  scripts/setup-python.sh   (prints the venv's python on stdout; messages go to stderr)
#
# Env:
#   RECALL_VENV   venv folder (see above)
#   PYTHON        interpreter to create the venv with (default: python3)
set -euo pipefail

die() { printf 'setup-python.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'setup-python.sh: %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Pins. mcp exactly (its API and wire behaviour are what the tests check against); its own
# dependencies are left to pip's resolver within mcp's declared ranges.
REQUIREMENTS=(
  "mcp==2.3.0"
)
MIN_PYTHON="3.10"
# ---------------------------------------------------------------------------------------------

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RECALL_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.recall-stamp"
VPY="$VENV/bin/python"

command -v "$PYTHON" >/dev/null 2>&1 ||
  die "'$PYTHON' not found; install Python >= $MIN_PYTHON (or set PYTHON to an interpreter)"
"$PYTHON" - "$MIN_PYTHON" <<'EOF' ||
import sys
want = tuple(int(x) for x in sys.argv[1].split("."))
sys.exit(0 if sys.version_info[:2] >= want else 1)
EOF
  die "$("$PYTHON" -V 2>&1) is too old: the MCP SDK needs Python >= $MIN_PYTHON (set PYTHON to a newer interpreter)"

# What the stamp must say: the requirements, one a line, then the interpreter version.
py_version="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
want_stamp="$(printf '%s\n' "${REQUIREMENTS[@]}" "python $py_version")"

venv_version() { "$VPY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || true; }
# Set up already: the stamp matches and the venv's interpreter runs and is the same version.
ready() {
  [[ -x "$VPY" && -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" && "$(venv_version)" == "$py_version" ]]
}

# Fast path (no lock needed: the stamp is written last, atomically).
if ready; then
  printf '%s\n' "$VPY"
  exit 0
fi

mkdir -p "$VENV" || die "cannot create $VENV (set RECALL_VENV to a writable folder)"
LOCK="$VENV/.recall-setup.lock"
exec 9>"$LOCK" || die "cannot open the lock file $LOCK"
if command -v flock >/dev/null 2>&1; then
  flock 9 || die "cannot lock $LOCK"
fi

# Another run may have finished while we waited for the lock.
if ready; then
  printf '%s\n' "$VPY"
  exit 0
fi

rm -f "$STAMP"
# A venv made by another interpreter (or half made) is rebuilt from scratch; the lock file stays.
have_version="$(venv_version)"
if [[ "$have_version" != "$py_version" ]] || ! "$VPY" -m pip --version >/dev/null 2>&1; then
  if [[ -n "$(find "$VENV" -mindepth 1 -maxdepth 1 ! -name .recall-setup.lock -print -quit)" ]]; then
    log "rebuilding $VENV (interpreter ${have_version:-missing or broken}, want $py_version)"
    find "$VENV" -mindepth 1 -maxdepth 1 ! -name .recall-setup.lock -exec rm -rf {} +
  fi
  log "creating a virtualenv in $VENV with $("$PYTHON" -V 2>&1)"
  venv_log="$("$PYTHON" -m venv "$VENV" 2>&1)" || {
    printf '%s\n' "$venv_log" >&2
    die "'$PYTHON -m venv $VENV' failed; on Debian/Ubuntu install the venv module: apt-get install python3-venv"
  }
fi

log "installing ${REQUIREMENTS[*]} into $VENV"
pip_log="$(mktemp)"
trap 'rm -f "$pip_log"' EXIT
if ! "$VPY" -m pip install --disable-pip-version-check --no-input --quiet "${REQUIREMENTS[@]}" >"$pip_log" 2>&1; then
  cat "$pip_log" >&2
  die "pip could not install ${REQUIREMENTS[*]} (see pip's output above); check network access to PyPI or PIP_INDEX_URL"
fi
"$VPY" -c 'import mcp.client.stdio, mcp.client.streamable_http, mcp.client.session' 2>"$pip_log" || {
  cat "$pip_log" >&2
  die "the MCP SDK installed but does not import in $VENV"
}

printf '%s\n' "$want_stamp" >"$STAMP.tmp"
mv -f "$STAMP.tmp" "$STAMP"
log "ready: $("$VPY" -m pip show mcp 2>/dev/null | sed -n 's/^Version: /mcp /p') in $VENV"
printf '%s\n' "$VPY"
