#!/usr/bin/env python3
"""How long a trained induction-heads model can hold the answer: runs the model (Mamba-1, HF layout,
float64 NumPy, no other dependency) on one induction-heads sequence and prints, per layer, the
channels that write most selectively (largest Δ within 4 tokens after the trigger over their median Δ
on the ignored tokens after it), with that Δ, the ignored tokens' Δ, and the memory horizon
1 / (mean ignored Δ x min |A|): the number of tokens over which the channel's slowest state decays by
e. A model can only extrapolate as far as the horizon of the channels that carry the answer.

    scripts/induction-memory.py MODEL_DIR [--length 4096] [--seed 3]
    scripts/induction-memory.py MODEL_DIR --length 65536 --accuracy 32

--accuracy N instead scores N fresh sequences drawn as InductionHeads.java draws them (trigger uniform
in the sequence) with this float64 forward and prints the accuracy: set beside ssmtk's fp32 accuracy
at the same length, it tells a failure of the numerics from a failure of the trained solution.
"""
import argparse
import json
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        if v["dtype"] != "F32":
            sys.exit(f"induction-memory.py: {path}: tensor {name} is {v['dtype']}, expected F32")
        a, b = v["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=np.float32).reshape(v["shape"]).astype(np.float64)
    return out


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def silu(x):
    return x / (1 + np.exp(-x))


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def run(weights, ids, eps):
    """Logits of the last position, and per layer the Δ (length x channels) and A (channels x state)."""
    layers = 1 + max(int(k.split(".")[2]) for k in weights if ".layers." in k)
    emb = weights["backbone.embeddings.weight"]
    residual = emb[ids]
    steps = len(ids)
    per_layer = []
    for i in range(layers):
        p = f"backbone.layers.{i}.mixer."
        x = rms_norm(residual, weights[f"backbone.layers.{i}.norm.weight"], eps)
        xz = x @ weights[p + "in_proj.weight"].T
        inner = xz.shape[1] // 2
        u, z = xz[:, :inner], xz[:, inner:]
        kernel = weights[p + "conv1d.weight"][:, 0, :]
        width = kernel.shape[1]
        padded = np.vstack([np.zeros((width - 1, inner)), u])
        conv = sum(padded[k:k + steps] * kernel[:, k] for k in range(width))
        if p + "conv1d.bias" in weights:
            conv = conv + weights[p + "conv1d.bias"]
        u = silu(conv)
        proj = u @ weights[p + "x_proj.weight"].T
        a = -np.exp(weights[p + "A_log"])
        n = a.shape[1]
        rank = proj.shape[1] - 2 * n
        dt = softplus(proj[:, :rank] @ weights[p + "dt_proj.weight"].T + weights[p + "dt_proj.bias"])
        b, c = proj[:, rank:rank + n], proj[:, rank + n:]
        h = np.zeros((inner, n))
        y = np.empty((steps, inner))
        for t in range(steps):
            h = np.exp(dt[t][:, None] * a) * h + (dt[t] * u[t])[:, None] * b[t][None, :]
            y[t] = h @ c[t]
        y = (y + u * weights[p + "D"]) * silu(z)
        residual = residual + y @ weights[p + "out_proj.weight"].T
        per_layer.append((dt, a))
    hidden = rms_norm(residual[-1], weights["backbone.norm_f.weight"], eps)
    return hidden @ emb.T, per_layer


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--length", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--accuracy", type=int, default=0, metavar="N")
    args = ap.parse_args()
    with open(f"{args.model}/config.json") as f:
        config = json.load(f)
    weights = load(f"{args.model}/model.safetensors")
    rng = np.random.default_rng(args.seed)
    eps = config.get("layer_norm_epsilon", 1e-5)
    if args.accuracy > 0:
        right, missed = 0, []
        for _ in range(args.accuracy):
            ids = rng.integers(2, 16, args.length)
            at = int(rng.integers(0, args.length - 2))
            answer = ids[at + 1]
            ids[at] = 1
            ids[-1] = 1
            logits, _ = run(weights, ids, eps)
            if int(np.argmax(logits[:16])) == answer:
                right += 1
            else:
                missed.append(args.length - at)
        print(f"length {args.length}: float64 accuracy {right}/{args.accuracy} ({100 * right / args.accuracy:.1f}%); "
              f"missed at distances {sorted(missed)}")
        return
    # the task of InductionHeads.java: tokens 2..15, trigger 1 early on, trigger again at the end
    ids = rng.integers(2, 16, args.length)
    at = 10
    answer = ids[at + 1]
    ids[at] = 1
    ids[-1] = 1
    logits, layers = run(weights, ids, eps)
    print(f"length {args.length}, trigger at {at}: predicted {int(np.argmax(logits[:16]))}, answer {answer}")
    for i, (dt, a) in enumerate(layers):
        ignored = dt[at + 6:-1]
        median = np.median(ignored, 0)
        write = dt[at:at + 4].max(0)
        horizon = 1 / (ignored.mean(0) * (-a).min(1))
        print(f"layer {i}: Δ on ignored tokens, all channels: median {np.median(ignored):.1e}, 1st percentile "
              f"{np.quantile(ignored, 0.01):.1e}")
        for ch in np.argsort(-(write / median))[:args.channels]:
            print(f"  channel {ch:3d}: Δ at trigger..+3 {np.array2string(dt[at:at + 4, ch], precision=2)}, ignored tokens "
                  f"median {median[ch]:.1e} max {ignored[:, ch].max():.1e}, min|A| {(-a[ch]).min():.2f}, "
                  f"memory horizon {horizon[ch]:.3g} tokens")


if __name__ == "__main__":
    main()
