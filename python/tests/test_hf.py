"""transformers with maskjit as its attention backend: the example's small
Llama model (examples/python/transformers_llama.py) against SDPA under the
same mask. Needs a GPU, torch and transformers (skipped without them); run
on the lent H100."""
import importlib.util
import os

import pytest

import maskjit

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and maskjit.gpu_available()),
                                reason="no GPU")

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python",
                       "transformers_llama.py")


def example():
    spec = importlib.util.spec_from_file_location("transformers_llama", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("mask,constants", [("causal", {}),
                                            ("sliding_window", {"window": 128})])
def test_logits_match_sdpa(mask, constants):
    err, sdpa_err = example().compare(mask, **constants)
    assert err <= 2 * sdpa_err, f"{mask}: maskjit {err}, bf16 SDPA {sdpa_err}"


def test_what_the_pattern_cannot_say_is_an_error():
    import maskjit.hf
    backend = maskjit.hf.register("maskjit_test_errors")
    q = torch.randn(1, 4, 64, 128, device="cuda", dtype=torch.bfloat16)
    kv = torch.randn(1, 2, 64, 128, device="cuda", dtype=torch.bfloat16)
    module = torch.nn.Module()
    padded = torch.ones(1, 64, dtype=torch.bool, device="cuda")
    padded[0, :5] = False
    with pytest.raises(ValueError, match="pads positions"):
        backend.forward(module, q, kv, kv, padded)
    with pytest.raises(ValueError, match="dropout"):
        backend.forward(module, q, kv, kv, None, dropout=0.1)
    with pytest.raises(ValueError, match="KV cache"):
        backend.forward(module, q[:, :, :1], kv, kv, None)
    # A padding mask that pads nothing is fine, and the output is BSHD.
    out, weights = backend.forward(module, q, kv, kv, torch.ones_like(padded))
    assert weights is None and out.shape == (1, 64, 4, 128)
