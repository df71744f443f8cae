"""maskjit as an attention backend of Hugging Face transformers.

    import maskjit.hf
    from transformers import AutoModelForCausalLM
    maskjit.hf.register("maskjit", mask="sliding_window", window=4096)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="maskjit")

register() adds an attention function to transformers' AttentionInterface
(and a mask function to its AttentionMaskInterface) under `name`. The
pattern is the mask: `mask` is a shipped pattern's name, source text, a
`.mask` path, a compiled maskjit.Kernel, or a callable taking the attention
module (it has `layer_idx`) and returning one of those, for models whose
layers differ. Compile-time params are keyword arguments. Left at its
default ("causal"), a layer that transformers gives a `sliding_window`
runs the shipped sliding-window pattern with that window.

What transformers would otherwise mask is checked, not dropped: a padding
mask with padded positions raises (pack sequences as documents instead),
and so do attention dropout, soft-capping, and a query shorter than its
keys (decode with a KV cache: run with use_cache=False).
"""
import torch

import maskjit

_DTYPES = {torch.bfloat16: "bf16", torch.float16: "fp16"}


class _Backend:
    """One registered name: how its layers choose and compile kernels."""

    def __init__(self, mask, constants):
        self.mask, self.constants = mask, constants
        self.kernels = {}

    def kernel(self, module, query, sliding_window):
        mask = self.mask(module) if callable(self.mask) and not isinstance(
            self.mask, maskjit.Kernel) else self.mask
        if isinstance(mask, maskjit.Kernel):
            return mask
        constants = dict(self.constants)
        if mask == "causal" and sliding_window:
            mask, constants = "sliding_window", {"window": int(sliding_window)}
        dtype = _DTYPES.get(query.dtype)
        if dtype is None:
            raise ValueError(f"maskjit: the model runs in {query.dtype}; maskjit's kernels "
                             "take bfloat16 or float16 (load the model in one of them)")
        key = (mask, tuple(sorted(constants.items())), query.shape[-1], dtype)
        kernel = self.kernels.get(key)
        if kernel is None:
            kernel = self.kernels[key] = maskjit.compile(
                mask, head_dim=query.shape[-1], dtype=dtype, **constants)
        return kernel

    def forward(self, module, query, key, value, attention_mask, dropout=0.0,
                scaling=None, sliding_window=None, softcap=None, **kwargs):
        """transformers' attention call: BHSD query/key/value (key/value
        with the KV heads), returns ([B, S, H, D] output, None)."""
        if dropout:
            raise ValueError("maskjit: attention dropout is not supported (model.eval(), "
                             "or set the config's attention_dropout to 0)")
        if softcap:
            raise ValueError("maskjit: attention logit soft-capping is not supported")
        if kwargs.get("output_attentions"):
            raise ValueError("maskjit: output_attentions needs the eager backend")
        if query.shape[2] != key.shape[2]:
            raise ValueError(
                f"maskjit: {query.shape[2]} queries against {key.shape[2]} keys; decode "
                "with a KV cache is not supported yet (run with use_cache=False)")
        _check_padding(attention_mask)
        kernel = self.kernel(module, query, sliding_window)
        b, h, s, d = query.shape
        # The kernel writes [B, S, H, D] directly, through a BHSD view.
        out = query.new_empty((b, s, h, d))
        kernel(query, key, value, scale=scaling, out=out.transpose(1, 2))
        return out, None


def _check_padding(mask):
    """The padding mask transformers hands over (see _mask): none, or one
    that pads nothing."""
    if mask is None:
        return
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2:
        raise ValueError("maskjit: the pattern is the mask; got a "
                         f"{getattr(mask, 'dim', lambda: '?')()}-D attention mask "
                         "(give none, or a 2-D padding mask without padding)")
    if torch.compiler.is_compiling():
        torch._assert_async(mask.all(), "maskjit: padded positions in the attention mask")
    elif not bool(mask.all()):
        raise ValueError("maskjit: the attention mask pads positions, which maskjit's "
                         "pattern does not know; pack the sequences as documents "
                         "(the `document` pattern) or batch sequences of one length")


def _mask(batch_size=None, cache_position=None, kv_length=None, kv_offset=0,
          mask_function=None, attention_mask=None, **kwargs):
    """transformers' mask hook: the pattern decides the mask, so only the
    2-D padding mask (or None) is passed on, for the attention to check."""
    if attention_mask is None:
        return None
    return attention_mask.to(torch.bool)


def register(name="maskjit", mask="causal", **constants):
    """Registers `name` as an attn_implementation of transformers, running
    `mask` (see the module's docstring) with compile-time `constants`."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface
    backend = _Backend(mask, constants)
    AttentionInterface.register(name, backend.forward)
    AttentionMaskInterface.register(name, _mask)
    return backend
