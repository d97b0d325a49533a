#!/usr/bin/env python3
"""PyTorch's fp32 matrix products on the shapes of a 130m-mamba2 training step (8 x 2048 rows), as
ModelBench's profile=N names them, in the precision PyTorch runs by default and with TF32 allowed:
is the reference's end-to-end lead over ssmtk in its products (TF32, or a faster sgemm) or elsewhere?
Prints TFLOP/s per shape and the flags PyTorch ran with.

usage: sgemm_shapes.py [ROWS]
"""
import sys, time
import torch

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 16384
print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}; defaults: matmul.allow_tf32="
      f"{torch.backends.cuda.matmul.allow_tf32}, float32_matmul_precision={torch.get_float32_matmul_precision()}")
# (what, out features, in features): in_proj's z and x, B, C, dt; out_proj; the LM head
shapes = [("in_proj z|x", 1536, 768), ("in_proj B|C", 128, 768), ("in_proj dt", 24, 768), ("in_proj whole", 3352, 768),
          ("out_proj", 768, 1536), ("lm_head", 50280, 768)]


def timed(fn, n=20):
    fn(); torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / n


for tf32 in (False, True):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    for what, n, k in shapes:
        x = torch.randn(rows, k, device="cuda"); w = torch.randn(n, k, device="cuda"); dy = torch.randn(rows, n, device="cuda")
        fwd = timed(lambda: x @ w.t())
        dx = timed(lambda: dy @ w)
        dw = timed(lambda: dy.t() @ x)
        fl = 2.0 * rows * n * k
        print(f"tf32={int(tf32)} {what:14s} {rows}x{k} -> {n}: fwd {fwd * 1e3:7.3f} ms {fl / fwd / 1e12:5.1f} TFLOP/s, "
              f"dx {dx * 1e3:7.3f} ms {fl / dx / 1e12:5.1f}, dW {dw * 1e3:7.3f} ms {fl / dw / 1e12:5.1f}", flush=True)
        del x, w, dy
