#!/usr/bin/env bash
# Scale (issue 10, "an index that opens instantly at 50k notes"): the same measures at 5k,
# 50k and 200k notes, each against its target at 50k.
#
# Vaults: SciFact as memory notes, made by ../shared/tools/beir2vault.py with the test
# queries and judgments, in $BENCH_DIR/vaults/NAME (reused when NAME/.done exists):
#   5k    scifact-5k     5,183 notes (--copies 1)
#   50k   scifact-50k    51,830 notes (--copies 10)
#   200k  scifact-200k   207,320 notes (--copies 40), indexed with --no-embed: keyword rows only
# Indexes: $BENCH_DIR/scale/idx-SIZE, built once with
#   /usr/bin/time -v recall --index IDX index VAULT --json [--no-embed]
# into build-SIZE.json (the report) and build-SIZE.time (time's output, then a line "done").
# An index whose build-SIZE.json and build-SIZE.time (ending in "done") exist is reused; a
# vault folder without .done whose note count is the expected one is adopted (so an index
# built by hand under these names is reused as it is). Delete idx-SIZE or build-SIZE.json to
# rebuild. First run: ~5 min (5k) + ~8 min (50k) of embedding, a few minutes for 200k.
#
# Measures (every figure of the table comes from this run; sizes interleaved 5k, 50k, 200k,
# 5k, ... so they share the machine's state; one untimed warm-up per size first):
#   cold search   RUNS whole `recall --index IDX search --no-refresh -n 10 QUERY` processes per
#                 size: median wall time, median peak RSS (os.wait4 rusage of the child);
#                 hybrid (5k, 50k), lexical (all sizes), and hybrid without --no-refresh
#                 (the freshness check included)
#   cold related  RUNS `recall related --no-refresh -n 10 NOTE` processes (5k, 50k)
#   warm          `recall --index IDX eval --queries Q --qrels R --mode M --json` over the 300
#                 SciFact test queries: p50_ms, p99_ms (hybrid: 5k, 50k; lexical: all sizes)
#   index size    du -sb IDX (and the current generation alone), per 1k notes
#   freshness     CHECKS `recall status --json` runs per size: median check_ms (the stat walk), a
#                 Python os.stat loop over the same files as a peer, and query_check_ms while
#                 a `recall watch` process keeps the index current (the check a search makes)
#   update        EDITS times (after one untimed edit) per size (5k, 50k): append a unique line
#                 to a note, `recall update --json`: median whole-process wall time and took_ms.
#                 The updates run on a copy of the index ($BENCH_DIR/scale/upd-SIZE, written to
#                 disk with `sync` before the edits, removed afterwards), so the measured index is never modified; every edited note is
#                 restored with its contents and times (also on failure or interrupt), so the
#                 vaults stay as generated and their indexes fresh.
#   build RSS     "Maximum resident set size" of the build (build-SIZE.time)
# Targets at 50k: cold hybrid search <= 0.5 s and <= 400 MB, 50k/5k ratio <= 1.3; cold
# related <= 0.6 s; cold lexical <= 0.05 s; warm hybrid p50 <= 12 ms, p99 <= 40 ms; warm
# lexical p50 <= 3 ms; index <= 0.45 GB; update <= 0.6 s whole, <= 0.3 s inside; freshness
# check <= 30 ms; build peak RSS <= 1024 MB. Unmet targets are reported, not fatal.
#
# Usage: bash benches/scale.sh [--write]
#   --write  also replace the section between <!-- scale:begin --> and <!-- scale:end -->
#            in BENCHMARKS.md (created if missing).
# Env: BENCH_DIR (default /tmp/recall-bench), RECALL (default ./target/release/recall),
#      SHARED (default ../shared), DATA (default $SHARED/data/scifact: corpus.jsonl,
#      queries-test.jsonl, qrels-test.tsv), RECALL_COMMIT (the commit RECALL was built from),
#      RUNS (7 cold runs per size), EDITS (5), CHECKS (7), SIZES (default "5k 50k 200k"; a
#      subset leaves the other columns "not run"), TIME_LIMIT (5400 s for the whole run,
#      builds included), VAULT_5K / VAULT_50K / VAULT_200K (use this vault folder as it is
#      instead of generating one; then QUERIES, QRELS and NOTE may be needed too), QUERIES /
#      QRELS (judged queries for eval; default those beir2vault wrote next to the vault),
#      QUERY (cold search text; default the first query's words), NOTE (the note of
#      `related`; default topics/<first corpus id>), BUSY_OK=1 (measure even while another
#      `recall index` build runs; by default the script stops).
# Seeding by hand: an index of the 50k vault built as
#   /usr/bin/time -v recall --index $BENCH_DIR/scale/idx-50k index $BENCH_DIR/vaults/scifact-50k/vault \
#     --json >$BENCH_DIR/scale/build-50k.json 2>$BENCH_DIR/scale/build-50k.time; echo done >>$BENCH_DIR/scale/build-50k.time
# is reused (optionally with the binary's commit in build-50k.built).
set -euo pipefail


# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/common.sh"
bench_time_guard 5400 "$0" "$@"
bench_init "$@"
RUNS=${RUNS:-7}
EDITS=${EDITS:-5}
CHECKS=${CHECKS:-7}
SIZES=${SIZES:-5k 50k 200k}
DATA=${DATA:-$SHARED/data/scifact}
SCALE=$BENCH_DIR/scale
BACKUP=$SCALE/edit-backup

die() { echo "$SCRIPT: error: $*" >&2; exit 1; }
for v in RUNS EDITS CHECKS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number (it is '${!v}')"
done
read -r -a SIZE_LIST <<<"$SIZES"
((${#SIZE_LIST[@]} > 0)) || die "SIZES is empty"
for s in "${SIZE_LIST[@]}"; do
  [[ $s == 5k || $s == 50k || $s == 200k ]] || die "unknown size '$s' in SIZES (5k, 50k, 200k)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
mkdir -p "$BENCH_DIR/vaults" "$SCALE"

copies() { case $1 in 5k) echo 1 ;; 50k) echo 10 ;; 200k) echo 40 ;; esac; }
embeds() { [[ $1 != 200k ]]; }
# vault_of SIZE: the vault folder (VAULT_5K... when set, else the generated one).
vault_of() {
  local var="VAULT_${1^^}"
  if [[ -n ${!var:-} ]]; then echo "${!var}"; else echo "$BENCH_DIR/vaults/scifact-$1/vault"; fi
}
generated() { local var="VAULT_${1^^}"; [[ -z ${!var:-} ]]; }

# recall_builds: pids of running `recall ... index ...` processes (a build: the argument
# "index" that is not the value of --index), whatever the binary's path.
recall_builds() {
  local pid i prev
  local -a args
  for pid in $(pgrep -f recall || true); do
    mapfile -d '' -t args <"/proc/$pid/cmdline" 2>/dev/null || continue
    ((${#args[@]} > 1)) || continue
    [[ ${args[0]##*/} == recall* ]] || continue
    prev=""
    for ((i = 1; i < ${#args[@]}; i++)); do
      if [[ ${args[i]} == index && $prev != --index ]]; then echo "$pid"; break; fi
      prev=${args[i]}
    done
  done
}
ensure_idle() {  # ensure_idle WHAT: stop when another recall build runs (unless BUSY_OK=1)
  local busy
  busy=$(recall_builds | xargs)
  [[ -z $busy || ${BUSY_OK:-0} == 1 ]] && return 0
  die "another recall build is running (pid $busy); not $1 at the same time (wait, or BUSY_OK=1)"
}

# --- Vaults.
# make_vault SIZE: $BENCH_DIR/vaults/scifact-SIZE (vault/, queries.jsonl, qrels.tsv), made
# once; an existing one without .done is adopted when it has the expected number of notes.
make_vault() {
  local size=$1 out=$BENCH_DIR/vaults/scifact-$1 n want
  [[ -f $out/.done ]] && return 0
  want=$(($(grep -c . "$DATA/corpus.jsonl") * $(copies "$size")))
  if [[ -d $out/vault && -f $out/queries.jsonl && -f $out/qrels.tsv ]]; then
    n=$(find "$out/vault" -name '*.md' -type f | wc -l)
    if ((n == want)); then
      log "adopting the existing vault $out ($n notes, as beir2vault makes it)"
      touch "$out/.done"
      return 0
    fi
    log "the existing vault $out has $n notes, not $want: making it again"
  fi
  log "making vault scifact-$size ($want notes)"
  rm -rf "$out"
  python3 "$SHARED/tools/beir2vault.py" "$DATA" "$out" --copies "$(copies "$size")" \
    --queries "$DATA/queries-test.jsonl" --qrels "$DATA/qrels-test.tsv" >&2
  touch "$out/.done"
}

for s in "${SIZE_LIST[@]}"; do
  if generated "$s"; then
    [[ -f $DATA/corpus.jsonl ]] || die "$DATA/corpus.jsonl not found (set SHARED or DATA)"
    make_vault "$s"
  fi
  [[ -d $(vault_of "$s") ]] || die "vault $(vault_of "$s") not found"
done

# Judged queries: QUERIES/QRELS, else the ones next to the first generated vault.
if [[ -z ${QUERIES:-} || -z ${QRELS:-} ]]; then
  for s in "${SIZE_LIST[@]}"; do
    if generated "$s"; then
      QUERIES=${QUERIES:-$BENCH_DIR/vaults/scifact-$s/queries.jsonl}
      QRELS=${QRELS:-$BENCH_DIR/vaults/scifact-$s/qrels.tsv}
      break
    fi
  done
fi
[[ -f ${QUERIES:-} && -f ${QRELS:-} ]] || die "no judged queries: set QUERIES and QRELS (every vault is a VAULT_* override)"
if [[ -z ${QUERY:-} ]]; then
  QUERY=$(python3 -B benches/scale.py first-query "$QUERIES")
fi
[[ -n $QUERY ]] || die "the cold-search query is empty (set QUERY)"
if [[ -z ${NOTE:-} ]]; then
  [[ -f $DATA/corpus.jsonl ]] || die "set NOTE (the note of recall related): $DATA/corpus.jsonl not found"
  NOTE=topics/$(python3 -c 'import json,sys; print(json.loads(next(l for l in open(sys.argv[1]) if l.strip()))["_id"])' "$DATA/corpus.jsonl")
fi
for s in "${SIZE_LIST[@]}"; do
  if embeds "$s" && [[ ! -f $(vault_of "$s")/$NOTE.md ]]; then
    die "note $NOTE (recall related) is not in $(vault_of "$s") (set NOTE)"
  fi
done

# --- Indexes.
# build_index SIZE: $SCALE/idx-SIZE with build-SIZE.{json,time,built}, reused when done.
build_index() {
  local size=$1 vault idx=$SCALE/idx-$1 json=$SCALE/build-$1.json tfile=$SCALE/build-$1.time
  local -a flags=()
  vault=$(vault_of "$size")
  embeds "$size" || flags+=(--no-embed)
  if [[ -d $idx && -s $json && -f $tfile && $(tail -n 1 "$tfile") == "done" ]]; then
    log "reusing index $idx"
  else
    ensure_idle "building $idx"
    log "indexing $vault into $idx ${flags[*]:-with embeddings} (slow)"
    rm -rf "$idx" "$json" "$tfile" "$SCALE/build-$size.built"
    /usr/bin/time -v "$RECALL" --index "$idx" index "$vault" --json "${flags[@]}" \
      >"$json.tmp" 2>"$tfile.tmp" || die "the build of $idx failed: $(tail -n 30 "$tfile.tmp")"
    echo "done" >>"$tfile.tmp"
    mv "$tfile.tmp" "$tfile"
    mv "$json.tmp" "$json"
    built_from >"$SCALE/build-$size.built"
  fi
  python3 -B benches/scale.py check-build "$json" "$vault" "$size" "$SCRIPT"
}
for s in "${SIZE_LIST[@]}"; do
  build_index "$s"
done

# --- Undo every edit, whatever happens. The updates run on a copy of the index
# ($SCALE/upd-SIZE), so the measured index is never modified; the edited notes are put back
# with their contents and times (cp -p), which leaves that index fresh.
TMP=$(mktemp -d)
is_fresh() { "$RECALL" --index "$SCALE/idx-$1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["fresh"])'; }
restore() {  # restore SIZE: the edited notes back, the index copy gone, the index fresh
  local dir=$BACKUP/$1 vault f
  vault=$(vault_of "$1")
  if [[ -d $dir ]]; then
    (cd "$dir" && find . -type f -name '*.md' -print0) | while IFS= read -r -d '' f; do
      cp -p "$dir/$f" "$vault/$f"
    done
    rm -rf "$dir"
  fi
  rm -rf "$SCALE/upd-$1"
  if [[ $(is_fresh "$1") != True ]]; then
    log "index $1 is not fresh (its vault changed): recall update"
    "$RECALL" --index "$SCALE/idx-$1" update --json >/dev/null ||
      log "warning: could not update $SCALE/idx-$1"
  fi
}
cleanup() {
  local rc=$? s
  for s in "${SIZE_LIST[@]}"; do restore "$s" 2>/dev/null || true; done
  rmdir "$BACKUP" 2>/dev/null || true
  rm -rf "$TMP" "$SCALE/results.json.tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "stopped (signal, or TIME_LIMIT=${TIME_LIMIT:-5400} s reached)"; exit 143' TERM INT HUP

for s in "${SIZE_LIST[@]}"; do
  restore "$s"  # a killed run may have left edits behind; brings the index up to date
  [[ $(is_fresh "$s") == True ]] || die "index $SCALE/idx-$s is not fresh after recall update"
  printf '%s\t%s\t%s\t%s\t%s\n' "$s" "$(vault_of "$s")" "$SCALE/idx-$s" "$(embeds "$s" && echo 1 || echo 0)" \
    "$SCALE/upd-$s" >>"$TMP/sizes.tsv"
done
ensure_idle "measuring"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before measuring: $LOAD"

# --- Measurements (one process at a time), into $SCALE/results.json.
python3 -B benches/scale.py measure "$RECALL" "$TMP" "$RUNS" "$EDITS" "$CHECKS" "$QUERIES" "$QRELS" "$QUERY" "$NOTE" "$BACKUP" "$SCRIPT" \
  >"$SCALE/results.json.tmp"
mv "$SCALE/results.json.tmp" "$SCALE/results.json"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY=$(recall_builds | xargs)
[[ -z $BUSY ]] || log "warning: a recall build (pid $BUSY) was running at the end of the measurements: the figures are disturbed"
for s in "${SIZE_LIST[@]}"; do
  restore "$s"
  du -sb "$SCALE/idx-$s" | cut -f1 >"$TMP/size-$s"
  du -sb "$SCALE/idx-$s/$(cat "$SCALE/idx-$s/CURRENT")" | cut -f1 >"$TMP/gen-size-$s"
done
rmdir "$BACKUP" 2>/dev/null || true
log "edited notes restored, index copies removed"

# --- The section.
python3 -B benches/scale.py report "$SCALE" "$TMP" "$RECALL" "$WRITE" "$BENCH_DIR" "$LOAD" "$LOAD_AFTER" "$SIZES" "$BUSY" >"$SCALE/scale.md"

cat "$SCALE/scale.md"
write_section scale "$SCALE/scale.md"
