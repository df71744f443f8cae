//===- HostInputs.h - An attention call's inputs on the host ----*- C++ -*-===//
//
// What `maskc run`, the tests and the benchmarks share to set up a call and
// hold its results to a reference: the shape, random BSHD inputs that are
// the same for a seed whatever the machine, and the reference mask of a
// head. Plain host code over the front end's evaluator; no GPU needed.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_HARNESS_HOSTINPUTS_H
#define MASKJIT_HARNESS_HOSTINPUTS_H

#include "maskjit/dsl/Evaluator.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace maskjit::harness {

/// An attention call's shape: Q [batch, lq, heads, headDim], K and V
/// [batch, lk, kvHeads, headDim] (BSHD), bf16 or fp16.
struct AttentionShape {
  int64_t batch = 1, heads = 1, kvHeads = 1, lq = 0, lk = 0, headDim = 128;
  bool fp16 = false;
  size_t qElements() const { return size_t(batch * lq * heads * headDim); }
  size_t kElements() const { return size_t(batch * lk * kvHeads * headDim); }
  /// Element index of (b, row, head, 0) in a BSHD tensor of `rows` rows.
  static int64_t at(int64_t b, int64_t row, int64_t h, int64_t rows, int64_t nh,
                    int64_t d) {
    return ((b * rows + row) * nh + h) * d;
  }
};

/// Q, K, V as their bf16/fp16 bits, BSHD.
struct HostInputs {
  std::vector<uint16_t> q, k, v;
};

/// How the inputs are drawn: standard normal, or normal with the
/// positional structure of trained models (see addPositionalStructure).
enum class InputKind { Random, Positional };

/// `n` standard-normal values rounded to the dtype: blocks of 2^20 values
/// each from its own generator seeded from `seed` and the block's index,
/// filled on up to 16 threads — the same values for a seed whatever the
/// thread count, and seconds rather than a minute at 128k tokens.
std::vector<uint16_t> randomHalf(size_t n, uint64_t seed, bool fp16);

/// Q, K, V for `shape` from `seed` (the tensors' seeds are the first three
/// draws of a mt19937_64 seeded with it).
HostInputs randomInputs(const AttentionShape &shape, uint64_t seed,
                        InputKind kind = InputKind::Random);

/// Adds what random inputs lack and trained models have: rotary-like terms
/// on the first 32 dimensions of Q and K (local "slash" lines) and a shared
/// direction strong in every Q row and in a few "heavy" K rows (vertical
/// lines, attention sinks). V is untouched.
void addPositionalStructure(HostInputs &in, const AttentionShape &shape,
                            uint64_t seed);

/// The rows of Q and of K (its KV head) of head h of sequence b, as float.
std::pair<std::vector<float>, std::vector<float>>
headRows(const HostInputs &in, const AttentionShape &shape, int64_t b,
         int64_t h);

/// The reference mask of head h of sequence b (under the sets the call
/// used).
using HeadEvaluator =
    std::function<std::unique_ptr<dsl::MaskEvaluator>(int64_t h, int64_t b)>;

/// The allowed (q, k) pairs of one sequence: every head when `perHead`
/// (else head 0 times the heads), counted with the evaluator over every row
/// up to 2^31 pairs in all, else over evenly spaced rows and scaled
/// (`rowStep` says which), heads on several threads.
int64_t usefulPairs(const AttentionShape &shape, bool perHead,
                    const HeadEvaluator &evaluator, int64_t *rowStep = nullptr);

} // namespace maskjit::harness

#endif
