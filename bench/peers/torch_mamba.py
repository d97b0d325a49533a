#!/usr/bin/env python3
"""Peer for `ssmtk bench`: the Mamba forward as transformers runs it without CUDA kernels
(MambaMixer's pure-PyTorch path: discretize into (batch, d_inner, L, d_state) tensors, then a Python
loop over time), in eager PyTorch on the CPU.

  torch_mamba.py check MODEL_DIR REFERENCE.safetensors   # proves this peer computes the same function
  torch_mamba.py bench PRESET L [--threads N]            # one timed forward; prints one JSON line

Written for ssmtk from the model's equations; needs torch and numpy (Debian: python3-torch).
"""
import json, math, resource, struct, sys, time

import numpy as np
import torch
import torch.nn.functional as F

PRESETS = {  # same shapes as ssmtk's ForwardBench presets
    "130m": dict(vocab_size=50280, hidden_size=768, state_size=16, num_hidden_layers=24),
    "dna": dict(vocab_size=16, hidden_size=256, state_size=16, num_hidden_layers=8),
    "tiny": dict(vocab_size=16, hidden_size=64, state_size=16, num_hidden_layers=2),
}


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    kinds = {"F64": "<f8", "F32": "<f4", "I64": "<i8", "I32": "<i4"}
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=kinds[e["dtype"]]).reshape(e["shape"]).copy())
    return out


def config_of(cfg):
    h = cfg["hidden_size"]
    c = dict(expand=2, conv_kernel=4, layer_norm_epsilon=1e-5, tie_word_embeddings=True, use_bias=False, use_conv_bias=True)
    c.update(cfg)
    c.setdefault("intermediate_size", c["expand"] * h)
    r = c.get("time_step_rank", "auto")
    c["time_step_rank"] = math.ceil(h / 16) if r == "auto" else r
    return c


def random_params(c, seed=1):
    g = torch.Generator().manual_seed(seed)
    h, di, n, r, k, v = c["hidden_size"], c["intermediate_size"], c["state_size"], c["time_step_rank"], c["conv_kernel"], c["vocab_size"]
    u = lambda *s, b: (torch.rand(*s, generator=g) * 2 - 1) * b
    p = {"backbone.embeddings.weight": torch.randn(v, h, generator=g) * 0.1, "backbone.norm_f.weight": torch.ones(h)}
    for i in range(c["num_hidden_layers"]):
        pre = f"backbone.layers.{i}."
        p[pre + "norm.weight"] = torch.ones(h)
        p[pre + "mixer.A_log"] = torch.log(torch.arange(1, n + 1, dtype=torch.float32)).repeat(di, 1)
        p[pre + "mixer.D"] = torch.ones(di)
        p[pre + "mixer.conv1d.weight"] = u(di, 1, k, b=k ** -0.5)
        p[pre + "mixer.conv1d.bias"] = u(di, b=k ** -0.5)
        p[pre + "mixer.in_proj.weight"] = u(2 * di, h, b=h ** -0.5)
        p[pre + "mixer.x_proj.weight"] = u(r + 2 * n, di, b=di ** -0.5)
        p[pre + "mixer.dt_proj.weight"] = u(di, r, b=r ** -0.5)
        dt = torch.exp(torch.rand(di, generator=g) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
        p[pre + "mixer.dt_proj.bias"] = dt + torch.log(-torch.expm1(-dt))
        p[pre + "mixer.out_proj.weight"] = u(h, di, b=di ** -0.5)
    return p


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def mixer(c, p, pre, x):
    b, L, _ = x.shape
    di, n, r = c["intermediate_size"], c["state_size"], c["time_step_rank"]
    proj = F.linear(x, p[pre + "in_proj.weight"], p.get(pre + "in_proj.bias")).transpose(1, 2)
    hs, gate = proj.chunk(2, dim=1)
    hs = F.conv1d(hs, p[pre + "conv1d.weight"], p.get(pre + "conv1d.bias"), padding=c["conv_kernel"] - 1, groups=di)[..., :L]
    hs = F.silu(hs)
    ssm = F.linear(hs.transpose(1, 2), p[pre + "x_proj.weight"])
    dt, B, C = torch.split(ssm, [r, n, n], dim=-1)
    dt = F.softplus(F.linear(dt, p[pre + "dt_proj.weight"], p[pre + "dt_proj.bias"])).transpose(1, 2)  # (b, di, L)
    A = -torch.exp(p[pre + "A_log"].to(x.dtype))
    dA = torch.exp(A[None, :, None, :] * dt[:, :, :, None])                       # (b, di, L, n)
    dBu = dt[:, :, :, None] * B[:, None, :, :] * hs[:, :, :, None]                # (b, di, L, n)
    state = torch.zeros(b, di, n, dtype=x.dtype)
    ys = []
    for t in range(L):
        state = dA[:, :, t] * state + dBu[:, :, t]
        ys.append(torch.matmul(state, C[:, t, :].unsqueeze(-1))[..., 0])
    y = torch.stack(ys, dim=-1) + hs * p[pre + "D"][None, :, None]
    y = y * F.silu(gate)
    return F.linear(y.transpose(1, 2), p[pre + "out_proj.weight"], p.get(pre + "out_proj.bias"))


@torch.no_grad()
def forward(c, p, ids, head_block=2048):
    x = p["backbone.embeddings.weight"][ids]
    eps = c["layer_norm_epsilon"]
    for i in range(c["num_hidden_layers"]):
        pre = f"backbone.layers.{i}."
        x = x + mixer(c, p, pre + "mixer.", rms_norm(x, p[pre + "norm.weight"], eps))
    x = rms_norm(x, p["backbone.norm_f.weight"], eps)
    head = p.get("lm_head.weight", p["backbone.embeddings.weight"])
    return [F.linear(x[:, s:s + head_block], head) for s in range(0, x.shape[1], head_block)]


def main():
    if sys.argv[1] == "check":
        c = config_of(json.load(open(sys.argv[2] + "/config.json")))
        p = {k: v.double() for k, v in read_safetensors(sys.argv[2] + "/model.safetensors").items()}
        ref = read_safetensors(sys.argv[3])
        logits = torch.cat(forward(c, p, ref["input_ids"]), dim=1)
        err = float((logits - ref["logits"]).norm() / ref["logits"].norm())
        print(json.dumps({"peer": "torch " + torch.__version__, "logits_relative_error": err}))
        sys.exit(0 if err < 1e-5 else 1)
    preset, L = sys.argv[2], int(sys.argv[3])
    if "--threads" in sys.argv:
        torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]))
    c = config_of(PRESETS[preset])
    p = random_params(c)
    ids = torch.randint(0, c["vocab_size"], (1, L))
    forward(c, p, torch.randint(0, c["vocab_size"], (1, 256)))  # warm-up
    t0 = time.perf_counter()
    forward(c, p, ids)
    s = time.perf_counter() - t0
    print(json.dumps({"peer": "torch " + torch.__version__, "model": preset, "L": L, "seconds": s,
                      "tokens_per_s": L / s, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
