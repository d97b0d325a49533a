#!/usr/bin/env python3
"""Caduceus parity fixtures, made by Caduceus's own modeling code in float64 on the CPU.

usage: /usr/bin/python3 test-data/make-caduceus-fixtures.py CADUCEUS_SRC MAMBA_SRC [OUT_DIR]

  CADUCEUS_SRC  a source tree of kuleshov-group/caduceus (the folder holding caduceus/modeling_caduceus.py)
  MAMBA_SRC     a source tree of state-spaces/mamba at tag v1.2.0.post1, the mamba-ssm version
                caduceus_env.yml pins (the folder holding mamba_ssm/)
  OUT_DIR       default: test-data/fixtures (one caduceus-*/ folder per case)
  CADUCEUS_REV, MAMBA_REV (environment): the trees' revisions, recorded in each README.json

Needs torch (Debian's python3-torch 1.13 made the committed files) and nothing else: this script
imports Caduceus's and mamba_ssm's modules from the two trees at run time and copies none of their
code. What it substitutes, so that they run on a CPU without the packages they were written for:

  * transformers is not installed: a minimal shim module written here provides the base classes
    modeling_caduceus.py uses (PretrainedConfig, PreTrainedModel with post_init = init weights then
    tie the LM head to the input embeddings as transformers 4.38 does when tie_word_embeddings is
    true, the default; BaseModelOutputWithNoAttention, MaskedLMOutput, SequenceClassifierOutput).
  * einops is not installed: a minimal shim written here implements rearrange/repeat for the
    patterns mamba_ssm uses (named axes, parenthesised groups, "1").
  * CUDA kernels: selective_scan_cuda is a stub that is never called; mamba_ssm's pure-PyTorch
    selective_scan_ref replaces selective_scan_fn in mamba_simple (causal_conv1d is absent, so the
    Mamba mixer takes its nn.Conv1d path, and use_fast_path never applies).
  * Triton kernels: mamba_ssm/ops/triton/layernorm.py is imported with a stub triton module (its
    kernels are defined but never run) and its pure-PyTorch layer_norm_ref / rms_norm_ref replace
    layer_norm_fn / rms_norm_fn, which RMSNorm and the fused add+norm paths call.
  * float64: Tensor.float() is the identity on float64 tensors while the model is built and run,
    so mamba_ssm's fp32 casts (A_log, D, the dt bias, selective_scan_ref's upcast, the logits) keep
    the reference in float64; residual_in_fp32 is false in every config for the same reason.

Every model is random: transformers-style init, then every parameter that is not a matrix (A_log, D,
conv weights and biases, dt_proj.bias, norm weights) is perturbed by N(0, 0.1^2) so that a wrong
formula cannot hide behind a 0 or a 1. The checkpoint is stored in float32 (as save_pretrained
writes it: tied tensors once, under their first name; buffers included) and the reference is
computed in float64 from exactly those float32 values.
"""
import importlib
import json
import math
import os
import re
import struct
import sys
import types
from collections import OrderedDict

import torch
import torch.nn as nn

if len(sys.argv) < 3:
    sys.exit(__doc__)
CADUCEUS_SRC, MAMBA_SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
OUT = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


# ---- shim: transformers (only what modeling_caduceus.py / configuration_caduceus.py use) ---------
class PretrainedConfig:
    model_type = ""

    def __init__(self, **kwargs):
        self.output_hidden_states = kwargs.pop("output_hidden_states", False)
        self.return_dict = kwargs.pop("return_dict", True)
        self.tie_word_embeddings = kwargs.pop("tie_word_embeddings", True)
        self.pad_token_id = kwargs.pop("pad_token_id", None)
        for k, v in kwargs.items():
            setattr(self, k, v)

    @property
    def use_return_dict(self):
        return self.return_dict

    def to_dict(self):
        d = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        d["model_type"] = self.model_type
        return d


class PreTrainedModel(nn.Module):
    config_class = None
    base_model_prefix = ""

    def __init__(self, config, *args, **kwargs):
        super().__init__()
        self.config = config

    def get_input_embeddings(self):
        return None

    def get_output_embeddings(self):
        return None

    def post_init(self):
        self.apply(self._init_weights)
        self.tie_weights()

    def tie_weights(self):
        if getattr(self.config, "tie_word_embeddings", True):
            out, inp = self.get_output_embeddings(), self.get_input_embeddings()
            if out is not None and inp is not None:
                out.weight = inp.weight


class ModelOutput(OrderedDict):
    """Attribute and index access over the fields that are not None, in declaration order."""
    fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__()
        values = dict(zip(self.fields, args))
        values.update(kwargs)
        for f in self.fields:
            v = values.get(f)
            object.__setattr__(self, f, v)
            if v is not None:
                self[f] = v

    def __getitem__(self, k):
        if isinstance(k, str):
            return super().__getitem__(k)
        return tuple(self.values())[k]


def output_class(name, fields):
    return type(name, (ModelOutput,), {"fields": fields})


transformers = types.ModuleType("transformers")
transformers.PretrainedConfig = PretrainedConfig
transformers.PreTrainedModel = PreTrainedModel
transformers.__version__ = "shim (make-caduceus-fixtures.py)"
modeling_outputs = types.ModuleType("transformers.modeling_outputs")
modeling_outputs.BaseModelOutputWithNoAttention = output_class("BaseModelOutputWithNoAttention", ("last_hidden_state", "hidden_states"))
modeling_outputs.MaskedLMOutput = output_class("MaskedLMOutput", ("loss", "logits", "hidden_states", "attentions"))
modeling_outputs.SequenceClassifierOutput = output_class("SequenceClassifierOutput", ("loss", "logits", "hidden_states", "attentions"))
transformers.modeling_outputs = modeling_outputs
sys.modules["transformers"] = transformers
sys.modules["transformers.modeling_outputs"] = modeling_outputs


# ---- shim: einops.rearrange / repeat -----------------------------------------------------------
def _parse(side):
    groups = []
    for m in re.finditer(r"\(([^)]*)\)|(\S+)", side):
        groups.append(m.group(1).split() if m.group(1) is not None else ([] if m.group(2) == "1" else [m.group(2)]))
    return groups


def _einops(x, pattern, sizes, allow_new):
    lhs, rhs = (s.strip() for s in pattern.split("->"))
    lg, rg = _parse(lhs), _parse(rhs)
    assert len(lg) == x.dim(), (pattern, tuple(x.shape))
    size = dict(sizes)
    for g, n in zip(lg, x.shape):
        unknown = [a for a in g if a not in size]
        known = math.prod(size[a] for a in g if a in size)
        assert len(unknown) <= 1, pattern
        if unknown:
            size[unknown[0]] = n // known
        assert math.prod(size[a] for a in g) == n or (not g and n == 1), (pattern, tuple(x.shape))
    names = [a for g in lg for a in g]
    x = x.reshape([size[a] for a in names])
    out_names = [a for g in rg for a in g]
    kept = [a for a in out_names if a in names]
    assert sorted(kept) == sorted(names), pattern
    x = x.permute([names.index(a) for a in kept])
    new = [a for a in out_names if a not in names]
    assert allow_new or not new, pattern
    for i, a in enumerate(out_names):
        if a in new:
            x = x.unsqueeze(i)
    if new:
        x = x.expand([size[a] for a in out_names])
    return x.reshape([math.prod(size[a] for a in g) for g in rg])


einops = types.ModuleType("einops")
einops.rearrange = lambda x, pattern, **s: _einops(x, pattern, s, False)
einops.repeat = lambda x, pattern, **s: _einops(x, pattern, s, True)
sys.modules["einops"] = einops


# ---- stubs for the GPU-only modules mamba_ssm imports ------------------------------------------
class _Anything:
    """Stands in for triton: every attribute and call gives itself, so kernel definitions import."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __getitem__(self, k):
        return self


triton = types.ModuleType("triton")
triton.__getattr__ = lambda name: _Anything()
triton_language = types.ModuleType("triton.language")
triton_language.__getattr__ = lambda name: _Anything()
sys.modules["triton"] = triton
sys.modules["triton.language"] = triton_language
sys.modules["selective_scan_cuda"] = types.ModuleType("selective_scan_cuda")  # imported, never called here
sys.modules["mamba_ssm.ops.triton.selective_state_update"] = None  # -> ImportError -> None (decoding only)


def _package(name, path):
    """A package object whose submodules load from path, without running its __init__.py."""
    m = types.ModuleType(name)
    m.__path__ = [path]
    sys.modules[name] = m
    return m


for pkg in ("mamba_ssm", "mamba_ssm.ops", "mamba_ssm.ops.triton", "mamba_ssm.modules", "mamba_ssm.utils"):
    _package(pkg, os.path.join(MAMBA_SRC, *pkg.split(".")))
_package("caduceus", os.path.join(CADUCEUS_SRC, "caduceus"))

_float = torch.Tensor.float
torch.Tensor.float = lambda self, *a, **k: self if self.dtype == torch.float64 else _float(self, *a, **k)

layernorm = importlib.import_module("mamba_ssm.ops.triton.layernorm")


def rms_norm_fn(x, weight, bias, residual=None, prenorm=False, residual_in_fp32=False, eps=1e-6):
    return layernorm.rms_norm_ref(x, weight, bias, residual=residual, eps=eps, prenorm=prenorm)


def layer_norm_fn(x, weight, bias, residual=None, eps=1e-6, prenorm=False, residual_in_fp32=False, is_rms_norm=False):
    ref = layernorm.rms_norm_ref if is_rms_norm else layernorm.layer_norm_ref
    return ref(x, weight, bias, residual=residual, eps=eps, prenorm=prenorm)


CALLS = {"scan": 0, "norm": 0}


def selective_scan(u, delta, A, *args, **kwargs):
    # counted and checked: the substitute must run, and in float64
    CALLS["scan"] += 1
    assert u.dtype == delta.dtype == A.dtype == torch.float64, (u.dtype, delta.dtype, A.dtype)
    return ssi.selective_scan_ref(u, delta, A, *args, **kwargs)


def counted(fn):
    def run(x, weight, *args, **kwargs):
        CALLS["norm"] += 1
        assert x.dtype == weight.dtype == torch.float64, (x.dtype, weight.dtype)
        return fn(x, weight, *args, **kwargs)
    return run


# before mamba_simple and Caduceus import them by name
layernorm.rms_norm_fn, layernorm.layer_norm_fn = counted(rms_norm_fn), counted(layer_norm_fn)
ssi = importlib.import_module("mamba_ssm.ops.selective_scan_interface")
mamba_simple = importlib.import_module("mamba_ssm.modules.mamba_simple")
mamba_simple.selective_scan_fn = selective_scan
assert mamba_simple.causal_conv1d_fn is None, "causal_conv1d is installed: the Mamba mixer would take the CUDA fast path"
configuration = importlib.import_module("caduceus.configuration_caduceus")
modeling = importlib.import_module("caduceus.modeling_caduceus")


# ---- safetensors, written by hand (the format is a JSON header and little-endian raw data) -------
def save_safetensors(tensors, path, metadata=None):
    header, blobs, offset = {}, [], 0
    codes = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(path + ".tmp", path)


# ---- the cases --------------------------------------------------------------------------------
# The character tokenizer of tokenization_caduceus.py: 7 specials, then A C G T N; vocab 12 padded to 16.
VOCAB = {"[CLS]": 0, "[SEP]": 1, "[BOS]": 2, "[MASK]": 3, "[PAD]": 4, "[RESERVED]": 5, "[UNK]": 6, "A": 7, "C": 8, "G": 9, "T": 10, "N": 11}
COMPLEMENT = {i: i for i in range(12)}
COMPLEMENT.update({7: 10, 8: 9, 9: 8, 10: 7})
PAD, MASK = VOCAB["[PAD]"], VOCAB["[MASK]"]
SSM = {"d_state": 4, "d_conv": 4, "expand": 2, "dt_rank": "auto", "dt_min": 0.001, "dt_max": 0.1, "dt_init": "random",
       "dt_scale": 1.0, "dt_init_floor": 1e-4, "conv_bias": True, "bias": False, "use_fast_path": True}
CASES = [
    # name, rcps, strategy, fused_add_norm
    ("caduceus-ph-add", False, "add", True),
    ("caduceus-ph-ewm", False, "ew_multiply", True),
    ("caduceus-ps-add", True, "add", True),
    ("caduceus-ps-ewm", True, "ew_multiply", True),
    # RCPSMambaBlock's fused add+norm path reads the channel halves the other way round from its
    # unfused path (a different function of the same weights): both are pinned
    ("caduceus-ps-add-unfused", True, "add", False),
]
BATCH, LENGTH, D_MODEL, N_LAYER, SEED = 2, 37, 24, 2, 20261129


def make(name, rcps, strategy, fused, seed):
    torch.manual_seed(seed)
    cfg = configuration.CaduceusConfig(
        d_model=D_MODEL, n_layer=N_LAYER, vocab_size=len(VOCAB), ssm_cfg=dict(SSM), rms_norm=True, residual_in_fp32=False,
        fused_add_norm=fused, pad_vocab_size_multiple=8, norm_epsilon=1e-5, initializer_cfg={"initializer_range": 0.02,
        "rescale_prenorm_residual": True, "n_residuals_per_layer": 1}, bidirectional=True, bidirectional_strategy=strategy,
        bidirectional_weight_tie=True, rcps=rcps, complement_map={str(k): v for k, v in COMPLEMENT.items()}, pad_token_id=PAD)
    model = modeling.CaduceusForMaskedLM(cfg)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() != 2:
                p.add_(0.1 * torch.randn_like(p))
    # save_pretrained's file: state_dict order, a tensor shared by several names only under the first
    seen, stored, tied = {}, OrderedDict(), {}
    for n, t in model.state_dict().items():
        key = t.data_ptr()
        if key in seen:
            tied[n] = seen[key]
            continue
        seen[key] = n
        stored[n] = t.float() if t.is_floating_point() else t
    model = model.double()
    model.train(False)
    for t in stored.values():
        assert t.dtype in (torch.float32, torch.int64)

    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(7, 12, (BATCH, LENGTH), generator=g)  # A C G T N
    masked = torch.rand(BATCH, LENGTH, generator=g) < 0.15
    masked[:, 0] = True  # the first and last positions are masked too: both ends of the flipped passes
    masked[:, -1] = True
    labels = torch.where(masked, ids, torch.full_like(ids, PAD))  # [PAD] labels are ignored by the loss
    input_ids = torch.where(masked, torch.full_like(ids, MASK), ids)
    CALLS.update(scan=0, norm=0)
    out = model(input_ids=input_ids, labels=labels, output_hidden_states=True, return_dict=True)
    # two scans (forward and flipped) per layer, and per strand for PS; norms: one per layer and norm_f (x 2 strands for PS)
    strands = 2 if rcps else 1
    assert CALLS["scan"] == 2 * N_LAYER * strands and CALLS["norm"] == (N_LAYER + 1) * strands, CALLS
    assert out.logits.dtype == torch.float64
    out.loss.backward()
    params = dict(model.named_parameters())
    ref = OrderedDict()
    ref["input_ids"], ref["labels"] = input_ids, labels
    ref["logits"] = out.logits.detach()
    ref["loss"] = out.loss.detach().reshape(1)
    for i, h in enumerate(out.hidden_states or []):
        ref[f"hidden_states.{i}"] = h.detach()
    ref["last_hidden_state"] = model.caduceus(input_ids=input_ids, return_dict=True).last_hidden_state.detach()
    for n in stored:
        if n in params:
            ref[f"grad.{n}"] = params[n].grad.detach()

    # the reverse complement: PS is equivariant by construction (logits of rc(x) = complemented, flipped logits of x)
    comp = torch.tensor([COMPLEMENT.get(i, i) for i in range(cfg.vocab_size)])
    rc_ids = comp[input_ids.flip(-1)]
    with torch.no_grad():
        rc_logits = model(input_ids=rc_ids, return_dict=True).logits
    rc_gap = float((rc_logits.flip(1)[..., comp] - out.logits.detach()).abs().max())
    ref["rc.input_ids"], ref["rc.logits"] = rc_ids, rc_logits

    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    conf = cfg.to_dict()
    conf.update({"architectures": ["CaduceusForMaskedLM"], "model_type": "caduceus", "torch_dtype": "float32"})
    conf = {k: conf[k] for k in sorted(conf)}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(conf, f, indent=2)
        f.write("\n")
    save_safetensors(stored, os.path.join(d, "model.safetensors"), {"format": "pt"})
    save_safetensors(ref, os.path.join(d, "reference.safetensors"))
    facts = {
        "made_by": "test-data/make-caduceus-fixtures.py", "torch": torch.__version__, "seed": seed,
        "caduceus": "kuleshov-group/caduceus " + os.environ.get("CADUCEUS_REV", "(revision not given)"),
        "mamba_ssm": "state-spaces/mamba " + os.environ.get("MAMBA_REV", "(revision not given)"), "reference_dtype": "float64",
        "tokenizer": VOCAB, "tied": tied,
        "loss": "cross-entropy of logits against labels, ignore_index = pad_token_id (4): the mean over masked positions",
        "hidden_states": "hidden_states.i = what enters layer i (i = 0: the embeddings; else layer i-1's mixer output, "
                         "not the residual stream); with fused_add_norm a last entry is norm_f's output",
        "last_hidden_state": "norm_f(residual stream), the backbone's output (2 * d_model channels for PS)",
        "rc": "rc.input_ids = complement(flip(input_ids)); rc.logits = logits of rc.input_ids; "
              f"max |flip(rc.logits)[complement] - logits| = {rc_gap:.3g}",
    }
    with open(os.path.join(d, "README.json"), "w") as f:
        json.dump(facts, f, indent=1)
        f.write("\n")
    print(f"{name}: loss {float(out.loss):.6f}, {sum(t.numel() for t in stored.values())} stored values, "
          f"{len(ref)} reference tensors, rc gap {rc_gap:.3g}, tied {tied}")
    return model, input_ids


models = {}
for i, (name, rcps, strategy, fused) in enumerate(CASES):
    models[name] = make(name, rcps, strategy, fused, SEED + 10 * i)

# What the fused/unfused note above rests on: the same weights in an unfused twin give other logits
# for PS (RCPSAddNormWrapper renames the norms' weights to *.submodule.weight) and the same for Ph.
for name in ("caduceus-ph-add", "caduceus-ps-add"):
    fused_model, ids = models[name]
    twin = modeling.CaduceusForMaskedLM(configuration.CaduceusConfig(**{**fused_model.config.to_dict(), "fused_add_norm": False})).double()
    rename = fused_model.config.rcps
    twin.load_state_dict({(re.sub(r"(norm|norm_f)\.weight$", r"\1.submodule.weight", k) if rename else k): v
                          for k, v in fused_model.state_dict().items()})
    twin.train(False)
    with torch.no_grad():
        gap = float((twin(input_ids=ids, return_dict=True).logits - fused_model(input_ids=ids, return_dict=True).logits).abs().max())
    print(f"{name}'s weights, fused vs unfused add+norm: max |logit difference| {gap:.3g}")
torch.Tensor.float = _float
