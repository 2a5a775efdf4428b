#!/usr/bin/env python3
"""make_model.py — build an ONNX all-MiniLM-L6-v2 encoder from model.safetensors, without torch.

    python3 make_model.py --safetensors model.safetensors --config config.json \
        --out model.onnx [--int8 model-int8.onnx]

Needs: numpy, onnx, safetensors (and onnxruntime for --int8).

The graph is a plain BERT encoder (opset 17, standard ONNX ops only):
  inputs  input_ids, attention_mask, token_type_ids : int64 [batch, sequence]
  output  last_hidden_state                          : float32 [batch, sequence, hidden]
Pooling (masked mean) and L2 normalisation are left to the caller, as for the
HF/optimum export that fastembed expects.

The numerics follow transformers' BertModel (eval mode): additive attention mask
(1 - mask) * finfo(float32).min, softmax(QK^T / sqrt(d_head)), exact erf GELU,
post-LayerNorm with eps from config.json.

Output is byte-deterministic for a given input (fixed node/initializer order and
names, no timestamps). --int8 additionally writes
onnxruntime.quantization.quantize_dynamic(QInt8 weights, per-channel) of the fp32
graph (per-channel); that output is deterministic for a given onnxruntime version.
"""

import argparse
import json
import math
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file


def build(weights, cfg, fused=False):
    H = cfg["hidden_size"]
    NH = cfg["num_attention_heads"]
    DH = H // NH
    L = cfg["num_hidden_layers"]
    eps = float(cfg.get("layer_norm_eps", 1e-12))
    assert cfg.get("hidden_act", "gelu") == "gelu", "only exact gelu supported"
    assert cfg.get("position_embedding_type", "absolute") == "absolute"

    nodes, inits = [], []
    counter = [0]

    def name(prefix):
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def init(nm, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), nm))
        return nm

    def node(op, inputs, n_out=1, domain=None, **attrs):
        outs = [name(op) for _ in range(n_out)]
        nodes.append(helper.make_node(op, inputs, outs, name=name(op + "_node"), domain=domain, **attrs))
        return outs[0] if n_out == 1 else outs

    def W(key):
        return weights[key].astype(np.float32)

    # constants
    c_one = init("const_one", np.array(1.0, np.float32))
    c_neg = init("const_mask_neg", np.array(np.finfo(np.float32).min, np.float32))
    c_scale = init("const_inv_sqrt_dh", np.array(1.0 / math.sqrt(DH), np.float32))
    c_half = init("const_half", np.array(0.5, np.float32))
    c_sqrt2 = init("const_sqrt2", np.array(math.sqrt(2.0), np.float32))
    c_zero1 = init("const_zero_1d", np.array([0], np.int64))
    c_heads = init("const_split_heads", np.array([0, 0, NH, DH], np.int64))
    c_merge = init("const_merge_heads", np.array([0, 0, H], np.int64))
    c_ax12 = init("const_axes_1_2", np.array([1, 2], np.int64))

    # ---- embeddings
    # position embeddings = rows [0, S) of the table (Slice, no Range: ORT's
    # GatherToSlice fusion mis-handles a Range-fed Gather in 1.31).
    seq = node("Shape", ["input_ids"], start=1, end=2)  # [1] = [S]
    we = init("embeddings.word_embeddings.weight", W("embeddings.word_embeddings.weight"))
    pe = init("embeddings.position_embeddings.weight", W("embeddings.position_embeddings.weight"))
    te = init("embeddings.token_type_embeddings.weight", W("embeddings.token_type_embeddings.weight"))
    x = node("Gather", [we, "input_ids"], axis=0)
    x = node("Add", [x, node("Gather", [te, "token_type_ids"], axis=0)])
    x = node("Add", [x, node("Slice", [pe, c_zero1, seq, c_zero1])])  # [S,H] broadcasts over batch

    def layer_norm(x, prefix):
        g = init(prefix + ".weight", W(prefix + ".weight"))
        b = init(prefix + ".bias", W(prefix + ".bias"))
        return node("LayerNormalization", [x, g, b], axis=-1, epsilon=eps)

    def linear(x, prefix):
        w = init(prefix + ".weight", W(prefix + ".weight").T)  # [in, out]
        b = init(prefix + ".bias", W(prefix + ".bias"))
        return node("Add", [node("MatMul", [x, w]), b])

    x = layer_norm(x, "embeddings.LayerNorm")

    # ---- additive attention mask [B,1,1,S]
    m = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    m = node("Mul", [node("Sub", [c_one, m]), c_neg])
    mask = node("Unsqueeze", [m, c_ax12])

    # ---- encoder
    MS = "com.microsoft"
    if fused:
        mask32 = node("Cast", ["attention_mask"], to=TensorProto.INT32)
    for i in range(L):
        if fused:
            # ONNX Runtime contrib ops (present in every standard ORT build):
            # Attention(qkv packed, 2-D raw mask, filter -10000), SkipLayerNormalization, BiasGelu.
            p = f"encoder.layer.{i}"
            a = f"{p}.attention.self"
            wqkv = init(f"{a}.qkv.weight", np.concatenate(
                [W(f"{a}.{n}.weight").T for n in ("query", "key", "value")], axis=1))
            bqkv = init(f"{a}.qkv.bias", np.concatenate([W(f"{a}.{n}.bias") for n in ("query", "key", "value")]))
            ctx = node("Attention", [x, wqkv, bqkv, mask32], domain=MS, num_heads=NH)

            def skip_ln(h, x, dense, ln):
                w = init(dense + ".weight", W(dense + ".weight").T)
                b = init(dense + ".bias", W(dense + ".bias"))
                g = init(ln + ".weight", W(ln + ".weight"))
                be = init(ln + ".bias", W(ln + ".bias"))
                return node("SkipLayerNormalization", [node("MatMul", [h, w]), x, g, be, b], domain=MS, epsilon=eps)

            x = skip_ln(ctx, x, f"{p}.attention.output.dense", f"{p}.attention.output.LayerNorm")
            w1 = init(f"{p}.intermediate.dense.weight", W(f"{p}.intermediate.dense.weight").T)
            b1 = init(f"{p}.intermediate.dense.bias", W(f"{p}.intermediate.dense.bias"))
            g = node("BiasGelu", [node("MatMul", [x, w1]), b1], domain=MS)
            x = skip_ln(g, x, f"{p}.output.dense", f"{p}.output.LayerNorm")
            continue

        p = f"encoder.layer.{i}"

        def heads(t):
            return node("Transpose", [node("Reshape", [t, c_heads])], perm=[0, 2, 1, 3])

        q = heads(linear(x, f"{p}.attention.self.query"))  # [B,NH,S,DH]
        k = node("Transpose", [node("Reshape", [linear(x, f"{p}.attention.self.key"), c_heads])],
                 perm=[0, 2, 3, 1])  # [B,NH,DH,S]
        v = heads(linear(x, f"{p}.attention.self.value"))
        s = node("Mul", [node("MatMul", [q, k]), c_scale])
        s = node("Add", [s, mask])
        a = node("Softmax", [s], axis=-1)
        ctx = node("MatMul", [a, v])  # [B,NH,S,DH]
        ctx = node("Reshape", [node("Transpose", [ctx], perm=[0, 2, 1, 3]), c_merge])
        ao = linear(ctx, f"{p}.attention.output.dense")
        x = layer_norm(node("Add", [ao, x]), f"{p}.attention.output.LayerNorm")
        h = linear(x, f"{p}.intermediate.dense")
        # exact GELU: 0.5 * h * (1 + erf(h / sqrt(2))), with a Div: the form ONNX Runtime's
        # GeluFusion recognises, so it runs as one Gelu kernel (~5% of the quantized model)
        g = node("Mul", [node("Mul", [h, node("Add", [node("Erf", [node("Div", [h, c_sqrt2])]), c_one])]), c_half])
        o = linear(g, f"{p}.output.dense")
        x = layer_norm(node("Add", [o, x]), f"{p}.output.LayerNorm")

    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output_identity"))

    # drop nodes/initializers the chosen path does not use (e.g. the additive mask when fused)
    used = {"last_hidden_state"}
    kept = []
    for n in reversed(nodes):
        if any(o in used for o in n.output):
            kept.append(n)
            used.update(n.input)
    nodes = kept[::-1]
    inits = [t for t in inits if t.name in used]

    dims = ["batch", "sequence"]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, dims)
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", H])]
    graph = helper.make_graph(nodes, "all-MiniLM-L6-v2", inputs, outputs, inits)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("com.microsoft", 1)] if fused else [])
    model = helper.make_model(graph, opset_imports=opsets,
                              producer_name="recall-make_model", producer_version="1")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--safetensors", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True, help="fp32 ONNX output path")
    ap.add_argument("--int8", help="also write a dynamic-int8 (QInt8 weights) model here")
    ap.add_argument("--fused", action="store_true",
                    help="use ORT contrib ops (Attention, SkipLayerNormalization, BiasGelu): faster on CPU")
    args = ap.parse_args(argv)

    cfg = json.load(open(args.config))
    weights = load_file(args.safetensors)
    model = build(weights, cfg, fused=args.fused)
    with open(args.out, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))

    if args.int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        # per-channel weights: per-tensor QInt8 loses too much (mean cosine 0.937 vs fp32 on
        # SciFact docs; per-channel: 0.995). DefaultTensorType lets the quantizer type the
        # outputs of contrib ops (--fused), which onnx shape inference does not know.
        quantize_dynamic(args.out, args.int8, weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=False, extra_options={"DefaultTensorType": TensorProto.FLOAT})
    return 0


if __name__ == "__main__":
    sys.exit(main())
