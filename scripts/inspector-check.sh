#!/usr/bin/env bash
# inspector-check.sh — list recall's MCP face with the official MCP Inspector's CLI mode.
#
# A second, independent MCP client (besides tests/mcp_client.py, the Python SDK): the
# Inspector (npm package @modelcontextprotocol/inspector, pinned below) connects to
#   1. `recall --index IDX mcp`                                  (stdio), then
#   2. /mcp of `recall --index IDX serve --listen 127.0.0.1:0`   (streamable HTTP, loopback only)
# and runs tools/list, resources/list, resources/templates/list and prompts/list on each. It checks:
#   - the tools search, related, read_note, recent, status and brief are listed (and not
#     remember or reinforce: these servers are started without --allow-write);
#   - the resource template recall://notes/{id} is listed;
#   - resources/list gives notes as recall://notes/<id> with mimeType text/markdown (all 16 of
#     examples/vault when the script built the index itself);
#   - the `briefing` prompt is listed, with its arguments topic and budget.
# Nothing is written to the vault; the servers only read.
#
# Usage:  bash scripts/inspector-check.sh [--index IDX]
#   --index IDX   an existing index to serve (default: a temporary index of examples/vault,
#                 built with `recall index --no-embed`, removed at the end)
#
# Env:
#   RECALL_BIN             the recall binary (default ./target/release/recall at the repository root)
#   RECALL_INSPECTOR_DIR   where the Inspector is installed (default .cache/inspector at the
#                          repository root, git-ignored); installed there with `npm install --prefix`
#                          on the first run, or when the pinned version changes, and reused after
#   STEP_TIMEOUT           seconds allowed for each Inspector call (default 60)
#
# Needs: bash, coreutils `timeout`, node and npm (the Inspector declares node >= 22.19; older
# versions get a warning), network access to the npm registry on the first run only.
# Every step has a time limit; the HTTP server listens on 127.0.0.1 only and is killed (by its
# pid) at the end, as is anything else this script started; the temporary files are removed.
# The Inspector's own state files (catalog, client config) go to the temporary folder, not ~.
#
# Output: one line per check (`ok` / `FAIL`), then a summary. Exit status: 0 every check
# passed, 1 a check or a step failed, 2 bad arguments or a missing tool.
set -euo pipefail

# ---------------------------------------------------------------------------------------------
INSPECTOR_PACKAGE="@modelcontextprotocol/inspector"
INSPECTOR_VERSION="2.12.0"     # exact: the CLI's flags and output format are what is parsed here
INSPECTOR_NODE_MIN="22.19.0"   # its package.json `engines`
EXPECTED_TOOLS="search related read_note recent status brief"
WRITE_TOOLS="remember reinforce"
# ---------------------------------------------------------------------------------------------

die() { printf 'inspector-check.sh: error: %s\n' "$*" >&2; exit 2; }
log() { printf 'inspector-check.sh: %s\n' "$*" >&2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${RECALL_BIN:-$ROOT/target/release/recall}"
DIR="${RECALL_INSPECTOR_DIR:-$ROOT/.cache/inspector}"
STEP_TIMEOUT="${STEP_TIMEOUT:-60}"
INDEX=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --index) [[ $# -ge 2 ]] || die "--index needs a folder"; INDEX="$2"; shift 2 ;;
    --index=*) INDEX="${1#--index=}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (usage: bash scripts/inspector-check.sh [--index IDX])" ;;
  esac
done
[[ "$STEP_TIMEOUT" =~ ^[0-9]+$ && "$STEP_TIMEOUT" -gt 0 ]] || die "STEP_TIMEOUT must be a whole number of seconds"
for tool in timeout node npm npx; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (install node and npm; coreutils for timeout)"
done
[[ -x "$BIN" ]] || die "no recall binary at $BIN (cargo build --release, or set RECALL_BIN)"
if [[ -n "$INDEX" ]]; then
  [[ -d "$INDEX" ]] || die "--index $INDEX: no such folder"
  INDEX="$(cd "$INDEX" && pwd)"
fi

node_version="$(node -p 'process.versions.node')"
if ! node -e '
  const [a, b] = process.argv.slice(1).map(v => v.split(".").map(Number));
  for (let i = 0; i < 3; i++) { if (a[i] !== b[i]) process.exit(a[i] > b[i] ? 0 : 1); }
' "$node_version" "$INSPECTOR_NODE_MIN"; then
  log "warning: node $node_version is older than the $INSPECTOR_NODE_MIN the Inspector $INSPECTOR_VERSION declares; trying anyway"
fi

# ---------------------------------------------------------------------------------------------
# Cleanup: the server this script started (by pid) and the temporary folder.
TMP="$(mktemp -d "${TMPDIR:-/tmp}/recall-inspector.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# The Inspector, installed once into $DIR at the pinned version.
installed_version() {
  node -p "require(process.argv[1]).version" "$DIR/node_modules/$INSPECTOR_PACKAGE/package.json" 2>/dev/null || true
}
if [[ "$(installed_version)" != "$INSPECTOR_VERSION" ]]; then
  mkdir -p "$DIR" || die "cannot create $DIR (set RECALL_INSPECTOR_DIR to a writable folder)"
  log "installing $INSPECTOR_PACKAGE@$INSPECTOR_VERSION into $DIR"
  if ! timeout 300 npm install --prefix "$DIR" --save-exact --no-audit --no-fund --loglevel=error \
      "$INSPECTOR_PACKAGE@$INSPECTOR_VERSION" >"$TMP/npm.log" 2>&1; then
    cat "$TMP/npm.log" >&2
    log "error: npm could not install $INSPECTOR_PACKAGE@$INSPECTOR_VERSION (network access to the npm registry?)"
    exit 1
  fi
  [[ "$(installed_version)" == "$INSPECTOR_VERSION" ]] || {
    log "error: after npm install, $DIR holds $INSPECTOR_PACKAGE '$(installed_version)', not $INSPECTOR_VERSION"
    exit 1
  }
fi
cli_version="$(timeout "$STEP_TIMEOUT" npx --no-install --prefix "$DIR" mcp-inspector --cli --version 2>/dev/null || true)"
echo "MCP Inspector $INSPECTOR_VERSION (CLI says: ${cli_version:-?}), node $node_version, npm $(npm --version)"

# Its state files go here, not to ~/.mcp-inspector.
export MCP_CATALOG_PATH="$TMP/inspector/mcp.json"
export MCP_CLIENT_CONFIG_PATH="$TMP/inspector/client.json"
mkdir -p "$TMP/inspector"
# The servers get their index from --index and need no token on loopback.
unset RECALL_INDEX RECALL_TOKEN

# ---------------------------------------------------------------------------------------------
# The index.
EXPECT_NOTES=""
if [[ -z "$INDEX" ]]; then
  INDEX="$TMP/index"
  log "indexing examples/vault into a temporary index"
  if ! timeout 120 "$BIN" --index "$INDEX" index "$ROOT/examples/vault" --no-embed --json >"$TMP/index.json" 2>"$TMP/index.err"; then
    cat "$TMP/index.err" >&2
    log "error: recall index failed"
    exit 1
  fi
  EXPECT_NOTES="$(find "$ROOT/examples/vault" -name '*.md' -not -path '*/.*' | wc -l | tr -d ' ')"
fi
echo "index: $INDEX"

# ---------------------------------------------------------------------------------------------
# Checks.
PASSED=0
FAILED=0
ok()   { PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s\n' "$*"; }

# inspect LABEL METHOD TARGET...: runs the Inspector's CLI, its JSON result in $TMP/LABEL-METHOD.json.
inspect() {
  local label="$1" method="$2"
  shift 2
  local out="$TMP/$label-${method//\//_}" code=0
  timeout "$STEP_TIMEOUT" npx --no-install --prefix "$DIR" mcp-inspector --cli --format json \
    --method "$method" "$@" >"$out.json" 2>"$out.err" || code=$?
  case $code in
    0) return 0 ;;
    124) fail "[$label] $method: no answer within $STEP_TIMEOUT s" ;;
    *) fail "[$label] $method: the Inspector exited $code: $(cat "$out.json" "$out.err" | head -c 600 | tr '\n' ' ')" ;;
  esac
  return 1
}

# verdict LABEL METHOD: checks the result of one call; prints one line per finding.
verdict() {
  local label="$1" method="$2"
  local out="$TMP/$label-${method//\//_}.json"
  node - "$method" "$out" "$EXPECTED_TOOLS" "$WRITE_TOOLS" "$EXPECT_NOTES" <<'EOF'
const fs = require("fs");
const [method, file, tools, writeTools, notes] = process.argv.slice(2);
let doc;
try {
  doc = JSON.parse(fs.readFileSync(file, "utf8"));
} catch (e) {
  console.log(`FAIL the output is not one JSON object: ${e.message}`);
  process.exit(0);
}
const r = doc.result;
const say = (cond, okText, failText) => console.log(cond ? `ok ${okText}` : `FAIL ${failText}`);
if (!r) {
  console.log(`FAIL no result: ${JSON.stringify(doc).slice(0, 400)}`);
  process.exit(0);
}
if (method === "tools/list") {
  const names = (r.tools || []).map(t => t.name);
  const missing = tools.split(" ").filter(t => !names.includes(t));
  say(!missing.length, `tools: ${names.join(", ")}`, `missing tools ${missing.join(", ")} (listed: ${names.join(", ")})`);
  const extra = writeTools.split(" ").filter(t => names.includes(t));
  say(!extra.length, "no write tools without --allow-write", `write tools listed without --allow-write: ${extra.join(", ")}`);
} else if (method === "resources/templates/list") {
  const uris = (r.resourceTemplates || []).map(t => t.uriTemplate);
  say(uris.includes("recall://notes/{id}"), `resource template recall://notes/{id}`,
      `no template recall://notes/{id} (listed: ${uris.join(", ") || "none"})`);
} else if (method === "resources/list") {
  const res = r.resources || [];
  const bad = res.filter(x => !String(x.uri).startsWith("recall://notes/") || x.mimeType !== "text/markdown");
  say(res.length > 0 && !bad.length, `${res.length} note resources (recall://notes/<id>, text/markdown), first ${res[0] && res[0].uri}`,
      res.length ? `resources not recall://notes/<id> text/markdown: ${JSON.stringify(bad.slice(0, 3))}` : "no resources listed");
  if (notes) say(res.length === Number(notes) && !r.nextCursor, `all ${notes} notes of examples/vault in one page`,
                 `${res.length} resources (nextCursor ${r.nextCursor}), expected the vault's ${notes}`);
} else if (method === "prompts/list") {
  const p = (r.prompts || []).find(x => x.name === "briefing");
  const args = p ? (p.arguments || []).map(a => a.name) : [];
  say(p && args.includes("topic") && args.includes("budget"), `prompt briefing (arguments ${args.join(", ")})`,
      p ? `briefing's arguments are ${args.join(", ")}, expected topic and budget` :
          `no briefing prompt (listed: ${(r.prompts || []).map(x => x.name).join(", ") || "none"})`);
}
EOF
}

METHODS=(tools/list resources/list resources/templates/list prompts/list)

# check LABEL TARGET...: every method against one target.
check() {
  local label="$1"
  shift
  local method line
  for method in "${METHODS[@]}"; do
    inspect "$label" "$method" "$@" || continue
    while IFS= read -r line; do
      case "$line" in
        ok\ *) ok "[$label] $method: ${line#ok }" ;;
        *) fail "[$label] $method: ${line#FAIL }" ;;
      esac
    done < <(verdict "$label" "$method")
  done
}

# 1. stdio: the Inspector starts `recall --index IDX mcp` itself (and ends it).
check stdio -- "$BIN" --index "$INDEX" mcp

# 2. streamable HTTP: `recall serve` on a free loopback port.
"$BIN" --index "$INDEX" serve --listen 127.0.0.1:0 --no-watch >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER_PID=$!
URL=""
for _ in $(seq 300); do   # 30 s
  line="$(head -n 1 "$TMP/serve.out" 2>/dev/null || true)"
  if [[ "$line" =~ ^listening\ on\ (http://127\.0\.0\.1:[0-9]+)$ ]]; then
    URL="${BASH_REMATCH[1]}/mcp"
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$URL" ]]; then
  fail "[http] recall serve did not say where it listens (it exited, or 30 s passed): $(cat "$TMP/serve.out" "$TMP/serve.err" | head -c 600 | tr '\n' ' ')"
else
  echo "server: $URL (pid $SERVER_PID)"
  check http --transport http "$URL"
fi

echo "inspector-check: $PASSED passed, $FAILED failed (MCP Inspector $INSPECTOR_VERSION)"
[[ $FAILED -eq 0 ]]
