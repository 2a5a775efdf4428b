#!/usr/bin/env bash
# Serving: `recall serve` (HTTP API) under load, a soak while notes change, and `recall mcp`
# (MCP over stdio) round trips.
#
# Vault: SciFact plain (5,183 notes), made as quality.sh makes it, then copied ONCE to
# $BENCH_DIR/serve-vault and indexed into $BENCH_DIR/index/serve-scifact. Every phase runs
# on this private copy: the server watches its vault and the soak edits notes, and
# vaults/scifact-plain must stay as quality.sh, hnsw_recall and embed_throughput expect it.
# The copy's index starts as a copy of index/scifact-plain, re-indexed for the copy's path,
# so its embeddings are reused (seconds, not the ~2 min of embedding ~10k chunks). Both are
# kept for later runs; the notes the soak edits are restored, and the index updated back,
# at the end of every run (and at the start, after a run that was killed).
#
# Load: wrk (installed from Debian when missing), against 127.0.0.1 only, with
# benches/serve_load.lua: GET /v1/search?q=Q&mode=M&limit=10 round robin over the 809
# SciFact TRAIN claims reduced to their words (URL-encoded), keep-alive connections.
#   warm-up  WARMUP s, both modes, 8 connections (not reported)
#   load     hybrid and lexical at 1, 8 and 32 connections (wrk -t1 -c1, -t2 -cN), DURATION s
#            each: req/s, p50/p90/p99/max, errors (connect/read/write errors, timeouts over
#            5 s, non-2xx, non-JSON bodies), server CPU, server RSS before/after/peak
#   soak     SOAK s at 8 connections, hybrid and lexical alternating, while a note of the
#            served vault gets a line appended every EDIT_EVERY s: errors, RSS at start and
#            end (and at each edit), growth, whether the last edit became searchable
#   mcp      benches/mcp_roundtrip.py (official Python MCP SDK, from the venv that
#            scripts/setup-python.sh makes) spawns `recall --index IDX mcp` and times
#            MCP_CALLS `search` tool calls per mode (hybrid, lexical): p50/p90/p99
# Targets (2 cores; wrk shares them with the server): hybrid at 8 connections >= 100 req/s
# with p99 <= 150 ms; lexical at 8 connections >= 800 req/s with p99 <= 25 ms (both with no
# errors); soak: 0 errors and RSS growth < 10 %. Unmet targets are reported, not fatal.
#
# Usage: bash benches/serve.sh [--write]
#   --write  also replace the section between <!-- serve:begin --> and <!-- serve:end -->
#            in BENCHMARKS.md (created if missing).
# Env: BENCH_DIR (default /tmp/recall-bench), RECALL (default ./target/release/recall),
#      SHARED (default ../shared), RECALL_COMMIT (the commit RECALL was built from, for the
#      report), RECALL_VENV (the Python venv, default .venv), DURATION (15 s per load phase),
#      WARMUP (5 s), SOAK (60 s), EDIT_EVERY (5 s), MCP_CALLS (200 per mode; 0 skips MCP),
#      TIME_LIMIT (1800 s: the whole run, index building included, is stopped after that).
# Needs: the index of SciFact plain (built here, with embeddings, if quality.sh has not).
set -euo pipefail


# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/common.sh"
bench_time_guard 1800 "$0" "$@"
bench_init "$@"
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-5}
SOAK=${SOAK:-60}
EDIT_EVERY=${EDIT_EVERY:-5}
MCP_CALLS=${MCP_CALLS:-200}
CONNS="1 8 32"
WRK_TIMEOUT=5
VENV_PY=${RECALL_VENV:-.venv}/bin/python
LUA=benches/serve_load.lua
DATA=$SHARED/data/scifact
SRC=$BENCH_DIR/vaults/scifact-plain
SVAULT=$BENCH_DIR/serve-vault
SINDEX=$BENCH_DIR/index/serve-scifact
BACKUP=$BENCH_DIR/serve-backup

die() { echo "$SCRIPT: error: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

for v in DURATION WARMUP SOAK EDIT_EVERY MCP_CALLS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (it is '${!v}')"
done
((DURATION > 0 && SOAK >= EDIT_EVERY && EDIT_EVERY > 0)) || die "need DURATION > 0 and SOAK >= EDIT_EVERY > 0"
[[ -d $DATA ]] || die "$DATA not found (set SHARED)"
"$RECALL" serve --help >/dev/null 2>&1 || die "$RECALL has no serve command (rebuild: cargo build --release)"
if ((MCP_CALLS > 0)); then
  "$RECALL" mcp --help >/dev/null 2>&1 || die "$RECALL has no mcp command (rebuild: cargo build --release)"
fi

# --- Tools: wrk, and the Python MCP SDK (early, so a missing one fails before the long parts).
if ! command -v wrk >/dev/null; then
  log "wrk not found; installing it (apt-get install wrk)"
  SUDO=()
  [[ $(id -u) -eq 0 ]] || SUDO=(sudo)
  "${SUDO[@]}" apt-get install -y wrk >/dev/null 2>&1 ||
    { "${SUDO[@]}" apt-get update >/dev/null && "${SUDO[@]}" apt-get install -y wrk >/dev/null; }
fi
if ((MCP_CALLS > 0)); then
  if [[ -f scripts/setup-python.sh ]]; then
    log "Python venv: bash scripts/setup-python.sh"
    py=$(bash scripts/setup-python.sh) || die "scripts/setup-python.sh failed"
    [[ -z $py ]] || VENV_PY=$(tail -n 1 <<<"$py")  # it prints the venv's python
  else
    log "warning: scripts/setup-python.sh not found; using $VENV_PY as it is"
  fi
  "$VENV_PY" -c 'import mcp' 2>/dev/null ||
    die "$VENV_PY cannot import the MCP SDK (mcp); run bash scripts/setup-python.sh (or set RECALL_VENV)"
fi

# --- Everything this run starts is stopped on exit; the edited notes are put back.
TMP=$(mktemp -d)
SERVER_PID=""
WRK_PID=""
RESTORE=0

alive() {  # alive PID: running (not a zombie waiting to be reaped)
  local st
  [[ -n $1 && -r /proc/$1/stat ]] || return 1
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $st && $st != Z ]]
}

stop_server() {  # TERM, up to 10 s, then KILL; sets STOP_MS and STOP_STATUS
  STOP_MS=""
  STOP_STATUS=""
  [[ -n $SERVER_PID ]] || return 0
  local t0 i
  t0=$(now_ms)
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive "$SERVER_PID" || break
    sleep 0.1
  done
  if alive "$SERVER_PID"; then
    log "warning: the server did not stop within 10 s of SIGTERM; killing it"
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  STOP_STATUS=0
  wait "$SERVER_PID" 2>/dev/null || STOP_STATUS=$?
  STOP_MS=$(($(now_ms) - t0))
  SERVER_PID=""
}

# restore_vault: put back the notes the soak edited, then bring the index up to date.
restore_vault() {
  local f
  if [[ -d $BACKUP ]]; then
    for f in "$BACKUP"/*.md; do
      [[ -e $f ]] && cp -p "$f" "$SVAULT/${f##*/}"
    done
    rm -rf "$BACKUP"
  fi
  "$RECALL" --index "$SINDEX" update --json >/dev/null
}

cleanup() {
  local rc=$?
  if [[ -n $WRK_PID ]]; then
    kill -TERM "$WRK_PID" 2>/dev/null || true
    wait "$WRK_PID" 2>/dev/null || true
  fi
  stop_server
  if [[ $RESTORE -eq 1 ]]; then
    restore_vault 2>/dev/null || log "warning: could not update $SINDEX after restoring the edited notes"
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "stopped (signal, or TIME_LIMIT=${TIME_LIMIT:-1800} s reached)"; exit 143' TERM INT HUP

# --- The vault, its private copy and the copy's index.
mkdir -p "$BENCH_DIR"/{vaults,index,results}
if [[ ! -f $SRC/.done ]]; then
  log "building vault scifact-plain"
  rm -rf "$SRC"
  python3 "$SHARED/tools/beir2vault.py" "$DATA" --plain --queries "$DATA/queries-test.jsonl" \
    --qrels "$DATA/qrels-test.tsv" "$SRC" >&2
  touch "$SRC/.done"
fi
index_once scifact-plain "$SRC/vault"

if [[ ! -f $RES/serve-vault.done ]]; then
  log "copying $SRC/vault to $SVAULT (the copy the server watches and the soak edits)"
  rm -rf "$SVAULT" "$SINDEX" "$BACKUP" "$RES/serve-scifact.index.json"
  cp -r "$SRC/vault" "$SVAULT"
  touch "$RES/serve-vault.done"
fi
if [[ ! -f $RES/serve-scifact.index.json || ! -d $SINDEX ]]; then
  log "indexing $SVAULT into $SINDEX, reusing the embeddings of $BENCH_DIR/index/scifact-plain"
  rm -rf "$SINDEX"
  cp -r "$BENCH_DIR/index/scifact-plain" "$SINDEX"
  "$RECALL" --index "$SINDEX" index "$SVAULT" --json >"$RES/serve-scifact.index.json.tmp"
  mv "$RES/serve-scifact.index.json.tmp" "$RES/serve-scifact.index.json"
  built_from >"$RES/serve-scifact.built"
fi
python3 -B benches/serve.py check-index "$RES/serve-scifact.index.json"
RESTORE=1
restore_vault  # a killed run may have left edits behind
"$RECALL" --index "$SINDEX" status --json >"$TMP/status-cli.json"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j.get("fresh") else "serve.sh: error: index not fresh after update: %s" % j)' \
  "$TMP/status-cli.json"

# --- Queries: SciFact train claims reduced to their words (no query-language operators, so
# none is malformed), URL-encoded into request paths.
python3 -B benches/serve.py queries "$DATA/queries-train.jsonl" "$TMP"
log "$(wc -l <"$TMP/queries.txt") queries (SciFact train)"

# --- Server process facts: RSS and peak RSS (kB), CPU ticks.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }
cpu_ticks() { sed 's/.*) //' "/proc/$SERVER_PID/stat" | awk '{ print $12 + $13 }'; }
# Resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0), so each phase has its own peak.
reset_peak() { { echo 5 >"/proc/$SERVER_PID/clear_refs"; } 2>/dev/null && echo 1 || echo 0; }
TICKS=$(getconf CLK_TCK)

server_ok() {
  alive "$SERVER_PID" || die "the server exited ($1); its last stderr lines:
$(tail -n 20 "$TMP/server.err")"
}

# http GET URL OUT: the status code on stdout, the body in OUT ("000" when no answer).
http() {
  python3 -B benches/serve.py http "$1" "$2"
}

start_server() {
  local t0 line="" i code
  t0=$(now_ms)
  : >"$TMP/server.out"
  "$RECALL" --index "$SINDEX" serve --listen 127.0.0.1:0 >"$TMP/server.out" 2>"$TMP/server.err" &
  SERVER_PID=$!
  for ((i = 0; i < 1200; i++)); do  # 120 s
    IFS= read -r line <"$TMP/server.out" && break
    server_ok "before printing its address"
    sleep 0.1
  done
  [[ $line =~ ^listening\ on\ http://([^/[:space:]]+):([0-9]+) ]] ||
    die "the server's first line is not 'listening on http://HOST:PORT': '$line'"
  [[ ${BASH_REMATCH[1]} == 127.0.0.1 ]] || die "the server listens on ${BASH_REMATCH[1]}, not 127.0.0.1"
  BASE="http://127.0.0.1:${BASH_REMATCH[2]}"
  LISTEN_MS=$(($(now_ms) - t0))
  for ((i = 0; i < 600; i++)); do  # 60 s
    code=$(http "$BASE/healthz" "$TMP/healthz.json")
    [[ $code == 200 ]] && break
    server_ok "while waiting for /healthz"
    sleep 0.1
  done
  [[ $code == 200 ]] || die "$BASE/healthz still answers $code after 60 s"
  grep -Eq '"ok"[[:space:]]*:[[:space:]]*true' "$TMP/healthz.json" ||
    die "/healthz answered $(head -c 200 "$TMP/healthz.json")"
  READY_MS=$(($(now_ms) - t0))
  log "server pid $SERVER_PID at $BASE: listening after $LISTEN_MS ms, healthy after $READY_MS ms"
}

# Phases: phase_begin NAME; wrk_start NAME PATHS CONNS SECONDS; wrk_wait; phase_end NAME MODE CONNS
phase_begin() {
  server_ok "before $1"
  P_RESET=$(reset_peak)
  P_RSS0=$(rss_kb)
  P_CPU0=$(cpu_ticks)
  P_T0=$(now_ms)
}

wrk_start() {
  local name=$1 paths=$2 conns=$3 secs=$4 threads=2
  ((conns > 1)) || threads=1
  log "$name: wrk -t$threads -c$conns -d${secs}s"
  wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout "${WRK_TIMEOUT}s" -s "$LUA" "$BASE" -- "$paths" \
    >"$TMP/$name.wrk" 2>&1 &
  WRK_PID=$!
  P_THREADS=$threads
}

wrk_wait() {
  local rc=0
  wait "$WRK_PID" || rc=$?
  WRK_PID=""
  return "$rc"
}

phase_end() {
  local name=$1 mode=$2 conns=$3
  server_ok "during $name"
  local rss1 hwm cpu1 t1
  rss1=$(rss_kb)
  hwm=$(hwm_kb)
  cpu1=$(cpu_ticks)
  t1=$(now_ms)
  python3 -B benches/serve.py phase-end "$TMP/$name.wrk" "$TMP/phases/$name.json" "$name" "$mode" "$conns" "$P_THREADS" \
    "$P_RSS0" "$rss1" "$hwm" "$P_RESET" "$((cpu1 - P_CPU0))" "$TICKS" "$((t1 - P_T0))"
}

run_phase() {  # run_phase NAME MODE PATHS CONNS SECONDS
  phase_begin "$1"
  wrk_start "$1" "$3" "$4" "$5"
  wrk_wait || die "wrk failed in $1: $(tail -n 5 "$TMP/$1.wrk")"
  phase_end "$1" "$2" "$4"
}

mkdir -p "$TMP/phases"
start_server

# One request per mode first: a wrong answer here stops the run before any load.
for mode in hybrid lexical; do
  code=$(http "$BASE$(head -n 1 "$TMP/paths-$mode.txt")" "$TMP/probe-$mode.json")
  python3 -B benches/serve.py probe "$TMP/probe-$mode.json" "$code" "$mode"
done
code=$(http "$BASE/v1/status" "$TMP/status.json")
[[ $code == 200 ]] || die "/v1/status answered $code: $(head -c 300 "$TMP/status.json")"

phase_begin warmup
wrk_start warmup "$TMP/paths-mixed.txt" 8 "$WARMUP"
wrk_wait || die "wrk failed in the warm-up: $(tail -n 5 "$TMP/warmup.wrk")"
phase_end warmup mixed 8

for mode in hybrid lexical; do
  for c in $CONNS; do
    run_phase "$mode-c$c" "$mode" "$TMP/paths-$mode.txt" "$c" "$DURATION"
  done
done

# Soak: load in the background, edits in the foreground (a bounded number, the last one at
# least EDIT_EVERY s before the end), RSS at every edit.
NONCE=$(printf '%x' "$(date +%s)")
EDITS=$((SOAK / EDIT_EVERY - 1))
((EDITS >= 1)) || EDITS=1
mapfile -t EDIT_NOTES < <(find "$SVAULT" -maxdepth 1 -name '*.md' -printf '%f\n' | sort | awk 'NR % 1200 == 1' | head -n 4)
((${#EDIT_NOTES[@]} > 0)) || die "no notes at the top of $SVAULT to edit"
mkdir -p "$BACKUP"
: >"$TMP/soak-edits.tsv"
phase_begin soak
wrk_start soak "$TMP/paths-mixed.txt" 8 "$SOAK"
for ((i = 1; i <= EDITS; i++)); do
  sleep "$EDIT_EVERY"
  alive "$WRK_PID" || break
  note=${EDIT_NOTES[$(((i - 1) % ${#EDIT_NOTES[@]}))]}
  [[ -f $BACKUP/$note ]] || cp -p "$SVAULT/$note" "$BACKUP/$note"
  token="soakedit${NONCE}n$i"
  printf '\nA follow-up observation recorded during the serving soak (edit %d): %s.\n' "$i" "$token" \
    >>"$SVAULT/$note"
  printf '%d\t%d\t%s\t%s\t%s\n' "$i" "$(($(now_ms) - P_T0))" "${note%.md}" "$token" "$(rss_kb)" >>"$TMP/soak-edits.tsv"
done
wrk_wait || die "wrk failed in the soak: $(tail -n 5 "$TMP/soak.wrk")"
phase_end soak mixed 8
log "soak: $(wc -l <"$TMP/soak-edits.tsv") edits of ${#EDIT_NOTES[@]} notes"

# Did the watcher take the last edit in? Poll a keyword search for its token (up to 20 s).
python3 -B benches/serve.py soak-visible "$BASE" "$TMP/soak-edits.tsv" "$TMP/soak-visible.json"
http "$BASE/v1/status" "$TMP/status-after.json" >/dev/null

stop_server
log "server stopped in $STOP_MS ms (exit status $STOP_STATUS)"
printf '{"listen_ms": %d, "ready_ms": %d, "stop_ms": %d, "stop_status": %d}\n' \
  "$LISTEN_MS" "$READY_MS" "$STOP_MS" "$STOP_STATUS" >"$TMP/server.json"
restore_vault
RESTORE=0
log "edited notes restored, $SINDEX updated"

if ((MCP_CALLS > 0)); then
  log "MCP over stdio: $MCP_CALLS search calls per mode"
  "$VENV_PY" benches/mcp_roundtrip.py --queries "$TMP/queries.txt" --calls "$MCP_CALLS" \
    --modes hybrid,lexical --server-log "$TMP/mcp-server.err" -- "$RECALL" --index "$SINDEX" mcp \
    >"$TMP/mcp.json" || die "the MCP round trip failed; the server's stderr ends with:
$(tail -n 20 "$TMP/mcp-server.err" 2>/dev/null)"
else
  echo '{}' >"$TMP/mcp.json"
fi

# --- The report.
WRK_VERSION=$(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }' || true)
SETTINGS="DURATION=$DURATION WARMUP=$WARMUP SOAK=$SOAK EDIT_EVERY=$EDIT_EVERY MCP_CALLS=$MCP_CALLS"
python3 -B benches/serve.py report "$TMP" "$RES" "$RECALL" "$WRITE" "$BENCH_DIR" "$WRK_VERSION" "$SETTINGS" "$CONNS" >"$TMP/section.md"

cat "$TMP/section.md"
write_section serve "$TMP/section.md"
