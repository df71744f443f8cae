#!/usr/bin/env python3
"""A small Llama-style model (random weights, nothing downloaded) run with
maskjit as its attention backend, its logits compared with SDPA's under the
same mask: causal, and a sliding window of 128 (SDPA gets the window as a
4-D boolean mask).

    python3 examples/python/transformers_llama.py    # needs a GPU, torch, transformers

The check: maskjit's bf16 logits are no further from an fp32 SDPA model's
than twice the distance of SDPA's own bf16 model.
"""
import copy

import torch
from transformers import AutoModelForCausalLM, LlamaConfig

import maskjit
import maskjit.hf

CONFIG = dict(vocab_size=1024, hidden_size=1024, intermediate_size=2048,
              num_hidden_layers=2, num_attention_heads=8, num_key_value_heads=2,
              head_dim=128, max_position_embeddings=4096)


def models(attn, reference):
    """A bf16 model with `attn` sharing the weights of `reference`."""
    config = LlamaConfig(**CONFIG)
    model = AutoModelForCausalLM.from_config(config, attn_implementation=attn)
    model.load_state_dict(reference.state_dict())
    return model.to(device="cuda", dtype=torch.bfloat16).eval()


def compare(mask="causal", batch=2, seq=1000, **constants):
    """Max |logits - fp32 SDPA logits| of maskjit and of bf16 SDPA."""
    name = "maskjit" if mask == "causal" else f"maskjit_{mask}"
    maskjit.hf.register(name, mask=mask, **constants)
    torch.manual_seed(0)
    reference = AutoModelForCausalLM.from_config(LlamaConfig(**CONFIG),
                                                 attn_implementation="sdpa")
    reference = reference.to("cuda").eval()
    ours = models(name, reference)
    sdpa_bf16 = copy.deepcopy(reference).to(torch.bfloat16)
    ids = torch.randint(0, CONFIG["vocab_size"], (batch, seq), device="cuda")
    sdpa_mask = None
    if mask != "causal":  # the same mask for SDPA, as a 4-D boolean mask
        allowed = maskjit.Pattern(mask).mask(seq, **constants)
        sdpa_mask = torch.as_tensor(allowed, device="cuda")[None, None].expand(batch, 1, -1, -1)
    with torch.no_grad():
        want = reference(ids, attention_mask=sdpa_mask, use_cache=False).logits
        same = sdpa_bf16(ids, attention_mask=sdpa_mask, use_cache=False).logits.float()
        got = ours(ids, use_cache=False).logits.float()
    return (got - want).abs().max().item(), (same - want).abs().max().item()


def main():
    ok = True
    for mask, constants in (("causal", {}), ("sliding_window", {"window": 128})):
        err, sdpa_err = compare(mask, **constants)
        good = err <= 2 * sdpa_err
        ok &= good
        print(f"{mask:16s} max |logits - fp32 SDPA|: maskjit {err:.4f}, bf16 SDPA "
              f"{sdpa_err:.4f} -> {'OK' if good else 'FAIL'}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
