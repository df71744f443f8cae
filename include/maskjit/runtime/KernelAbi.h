//===- KernelAbi.h - The attention kernels' parameters, host side -*- C++
//-*-===//
//
// The parameter block of maskjit's attention kernels as the host builds it:
// the layout of `maskjit_params` in codegen/kernels/attention_common.cuh,
// followed by the pattern's `maskjit_args` (8-byte words), and the Hopper
// kernel's second parameter, the K/V tensor maps. Plain C++: the JIT
// launcher uses it, and so does the code `maskc aot` writes (installed).
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_RUNTIME_KERNELABI_H
#define MASKJIT_RUNTIME_KERNELABI_H

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace maskjit::runtime {

struct KernelParams {
  uint64_t q, k, v, o, lse; ///< Device pointers.
  int64_t qStrides[3], kStrides[3], vStrides[3], oStrides[3];
  int lq, lk, heads, kvHeads;
  float scaleLog2;
  uint64_t segPtr, segs, gatherPtr, gatherKeys; ///< Schedule tables.
  uint64_t workCounter; ///< One int, zeroed before each launch (Hopper).
  int schedHeads, numQTiles;
  int tmaSeqDim, tmaHeadDim, tmaBatchDim;
  int batch;
  /// PARTIAL tiles' bits (kernels with tile bits): per segment of `segs`
  /// the slot of its first tile's bits (-1: none), and the bits; 0 when
  /// the launch has none (the predicate then decides per element).
  uint64_t segBits, tileBits;
};

/// The call's fields of the parameter block (tensors, element strides,
/// shape, scale), from a call of any type with these members: the JIT's
/// AttentionCall and the call type `maskc aot` writes. The schedule's
/// fields are each launcher's own.
template <typename Call>
void setCallParams(KernelParams &p, const Call &c, float softmaxScale) {
  p.q = c.q;
  p.k = c.k;
  p.v = c.v;
  p.o = c.o;
  p.lse = c.lse;
  for (int i = 0; i < 3; ++i) {
    p.qStrides[i] = c.qStrides[i];
    p.kStrides[i] = c.kStrides[i];
    p.vStrides[i] = c.vStrides[i];
    p.oStrides[i] = c.oStrides[i];
  }
  p.lq = static_cast<int>(c.lq);
  p.lk = static_cast<int>(c.lk);
  p.heads = static_cast<int>(c.heads);
  p.kvHeads = static_cast<int>(c.kvHeads);
  p.batch = static_cast<int>(c.batch);
  p.scaleLog2 = softmaxScale * 1.4426950408889634f; // log2(e)
}

/// The backward kernels' second parameter (`maskjit_bwd_params` in
/// codegen/kernels/attention_bwd.cuh, which checks its size): 8-byte
/// fields in the kernel's order.
struct BackwardParams {
  uint64_t dout;
  int64_t doStrides[3];
  uint64_t dq, dk, dv;
  int64_t dqStrides[3], dkStrides[3], dvStrides[3];
  uint64_t dqAccum, lseLog2, delta; ///< Scratch, per query row.
  uint64_t visitPtr, visits;        ///< mask::KeyTileVisits on the device.
  int64_t keyTiles, fwdTileM, fwdTileN, subTiles;
  float scale;
  float unusedPad;
};
static_assert(sizeof(BackwardParams) == 26 * 8,
              "BackwardParams must match maskjit_bwd_params");

/// Two CUtensorMap (128 opaque bytes, 64-byte aligned).
struct KernelTensorMaps {
  alignas(64) unsigned char k[128];
  alignas(64) unsigned char v[128];
};

/// A set of indices as the kernels test membership: bit i of `words` says
/// whether lo + i is in the set, for [lo, hi). Empty (no words) when the
/// set spans more than 2^27 values; the kernel then searches the sorted
/// values instead.
struct SetBits {
  std::vector<uint32_t> words;
  int64_t lo = 0, hi = 0;
};
inline SetBits setBits(const std::vector<int64_t> &sorted) {
  SetBits b;
  if (sorted.empty() || sorted.back() - sorted.front() >= (int64_t{1} << 27))
    return b;
  b.lo = sorted.front();
  b.hi = sorted.back() + 1;
  b.words.assign(static_cast<size_t>((b.hi - b.lo + 31) / 32), 0u);
  for (int64_t v : sorted)
    b.words[static_cast<size_t>((v - b.lo) >> 5)] |= 1u << ((v - b.lo) & 31);
  return b;
}

/// For an array of document ids (`doc[q] == doc[k]`): for each position i,
/// the first and the last position holding doc[i], as int32 pairs, so that
/// a row's keys are one range. Empty when the array is not non-decreasing
/// (the kernels then compare values key by key) or too long for int32.
inline std::vector<int32_t> runBounds(const std::vector<int64_t> &values) {
  std::vector<int32_t> out;
  const size_t n = values.size();
  if (n >= (size_t{1} << 31))
    return out;
  for (size_t i = 1; i < n; ++i)
    if (values[i] < values[i - 1])
      return out;
  out.resize(2 * n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && values[j + 1] == values[i])
      ++j;
    for (size_t x = i; x <= j; ++x) {
      out[2 * x] = static_cast<int32_t>(i);
      out[2 * x + 1] = static_cast<int32_t>(j);
    }
    i = j + 1;
  }
  return out;
}

/// The chosen sets of one selector, a bitmap of [lo, hi) per head, heads
/// `headWords` words apart (0: one bitmap shared by all heads). Values
/// outside [lo, hi) are dropped: no (q, k) of the launch reaches them.
struct SelectorBits {
  std::vector<uint32_t> words;
  int64_t lo = 0, hi = 0, headWords = 0;
};

inline SelectorBits
selectorBits(const std::vector<const std::vector<int64_t> *> &perHead,
             int64_t lo, int64_t hi) {
  SelectorBits b;
  b.lo = lo;
  b.hi = hi;
  const int64_t words = (hi - lo + 31) / 32;
  b.headWords = perHead.size() > 1 ? words : 0;
  b.words.assign(static_cast<size_t>(words * int64_t(perHead.size())), 0u);
  for (size_t h = 0; h < perHead.size(); ++h)
    for (int64_t v : *perHead[h])
      if (v >= lo && v < hi)
        b.words[h * words + static_cast<size_t>((v - lo) >> 5)] |=
            1u << ((v - lo) & 31);
  return b;
}

/// The kinds of a pattern's kernel arguments (`maskjit_args`).
enum class ArgKind {
  Scalar,        ///< A runtime int.
  HeadArray,     ///< `int[heads]`: one value per head.
  Array,         ///< `int[]`: one value per position (document ids, ...).
  SelectorSet,   ///< topk_columns / topk_diagonals: bitmaps per head.
  SelectorBlocks ///< topk_blocks: key-block bitmap rows per query block.
};

/// One 8-byte field of `maskjit_args`: its C type and name.
struct ArgWord {
  const char *type;
  std::string name;
};

/// The fields an argument of `kind` named `name` takes, in order. The
/// kernel source declares `maskjit_args` from this list, and both launchers
/// (the JIT's and the one `maskc aot` writes) fill the words in this order
/// through the pack functions below: the layout is written here only.
inline std::vector<ArgWord> argWords(ArgKind kind, const std::string &n) {
  switch (kind) {
  case ArgKind::Scalar:
    return {{"int64_t", n}};
  case ArgKind::HeadArray:
    return {{"const int64_t *", n}, {"int64_t", n + "_len"}};
  case ArgKind::Array:
    // The values; their sorted set and its bitmap over [lo, hi) (null when
    // too wide); per position, the first and last position of its run of
    // equal values (null when the array is not non-decreasing: the row mask
    // of `name[q] == name[k]`).
    return {{"const int64_t *", n},
            {"int64_t", n + "_len"},
            {"const int64_t *", n + "_set"},
            {"int64_t", n + "_set_len"},
            {"const uint32_t *", n + "_bits"},
            {"int64_t", n + "_lo"},
            {"int64_t", n + "_hi"},
            {"const int *", n + "_run"}};
  case ArgKind::SelectorSet:
    return {{"const uint32_t *", n + "_bits"},
            {"int64_t", n + "_lo"},
            {"int64_t", n + "_hi"},
            {"int64_t", n + "_head_words"},
            {"int64_t", n + "_seq_words"}};
  case ArgKind::SelectorBlocks:
    return {{"const uint32_t *", n + "_bits"},
            {"int64_t", n + "_rows"},
            {"int64_t", n + "_row_words"},
            {"int64_t", n + "_head_words"},
            {"int64_t", n + "_seq_words"}};
  }
  return {};
}

/// The words of an `int[heads]` argument. `upload(data, bytes, address)`
/// copies to the device (false on failure).
template <typename Upload>
bool packHeadArray(const std::vector<int64_t> &values, Upload &&upload,
                   std::vector<uint64_t> &words) {
  uint64_t p = 0;
  if (!upload(values.data(), values.size() * 8, p))
    return false;
  words.push_back(p);
  words.push_back(values.size());
  return true;
}

/// The words of an `int[]` argument (see argWords), uploading through
/// `upload` as packHeadArray does.
template <typename Upload>
bool packArray(const std::vector<int64_t> &values, Upload &&upload,
               std::vector<uint64_t> &words) {
  if (!packHeadArray(values, upload, words))
    return false;
  std::vector<int64_t> set = values;
  std::sort(set.begin(), set.end());
  set.erase(std::unique(set.begin(), set.end()), set.end());
  if (!packHeadArray(set, upload, words))
    return false;
  const SetBits bits = setBits(set);
  uint64_t p = 0;
  if (!bits.words.empty() &&
      !upload(bits.words.data(), bits.words.size() * 4, p))
    return false;
  words.push_back(p);
  words.push_back(static_cast<uint64_t>(bits.lo));
  words.push_back(static_cast<uint64_t>(bits.hi));
  const std::vector<int32_t> runs = runBounds(values);
  p = 0;
  if (!runs.empty() && !upload(runs.data(), runs.size() * 4, p))
    return false;
  words.push_back(p);
  return true;
}

} // namespace maskjit::runtime

#endif
