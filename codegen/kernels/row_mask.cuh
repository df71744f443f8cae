// maskjit row masks: a pattern's mask for one query row over a tile of keys,
// as W 32-bit words (bit j of word w: key k0 + 32 w + j). maskjit emits these
// helpers, and a `maskjit_row_mask` built from the pattern's DNF, when every
// atom of that DNF has one of the forms below; the kernels then mask a
// PARTIAL tile with a few word operations per row instead of evaluating the
// predicate at each of its elements (sets are read 32 bits at a time from
// their bitmaps, a diagonal set reversed with one `brev`). The unit tests
// compile these helpers on the host too (tests/unit/RowMaskHelpersTest.cpp).

template <int W> static __device__ __forceinline__ void mj_rm_fill(uint32_t (&m)[W], uint32_t v) {
#pragma unroll
  for (int w = 0; w < W; ++w)
    m[w] = v;
}

template <int W>
static __device__ __forceinline__ void mj_rm_or(uint32_t (&m)[W], const uint32_t (&c)[W]) {
#pragma unroll
  for (int w = 0; w < W; ++w)
    m[w] |= c[w];
}

// Keeps the keys in [lo, hi].
template <int W>
static __device__ __forceinline__ void mj_rm_keep_range(uint32_t (&m)[W], int64_t k0, int64_t lo,
                                                        int64_t hi) {
  // Clamped first, so that the differences below fit in 32 bits.
  lo = lo < k0 ? k0 : (lo > k0 + 32 * W ? k0 + 32 * W : lo);
  hi = hi < k0 - 1 ? k0 - 1 : (hi > k0 + 32 * W ? k0 + 32 * W : hi);
  const int a = (int)(lo - k0), e = (int)(hi - k0 + 1); // keep bits [a, e)
#pragma unroll
  for (int w = 0; w < W; ++w) {
    const int aw = a - 32 * w < 0 ? 0 : (a - 32 * w > 32 ? 32 : a - 32 * w);
    const int ew = e - 32 * w < 0 ? 0 : (e - 32 * w > 32 ? 32 : e - 32 * w);
    const uint32_t below = ew >= 32 ? 0xffffffffu : ((1u << ew) - 1u);
    const uint32_t from = aw >= 32 ? 0u : (0xffffffffu << aw);
    m[w] &= below & from;
  }
}

// `a*q + b*k <= rhs` for this row, with `rest` = rhs - a*q: keeps the keys
// with b*k <= rest.
template <int W>
static __device__ __forceinline__ void mj_rm_keep_linear(uint32_t (&m)[W], int64_t k0, int64_t b,
                                                         int64_t rest) {
  const int64_t far = (int64_t)1 << 62;
  if (b == 0) {
    if (rest < 0)
      mj_rm_fill(m, 0u);
  } else if (b > 0) {
    mj_rm_keep_range(m, k0, -far, maskjit_floordiv(rest, b));
  } else {
    mj_rm_keep_range(m, k0, -maskjit_floordiv(-rest, b), far);
  }
}

// `b*k + bK*floor((k + kOff) / kDiv) <= rest` (rest = rhs - a*q - the row's
// own block term): on each key block the tile spans the block term is a
// constant, and the atom a range of that block's keys. (maskjit emits this
// only for blocks of at least 32 keys: at most 32 W / 32 + 2 pieces.)
template <int W>
static __device__ __forceinline__ void mj_rm_keep_linear_blocked(uint32_t (&m)[W], int64_t k0,
                                                                 int64_t b, int64_t rest,
                                                                 int64_t bK, int64_t kDiv,
                                                                 int64_t kOff) {
  uint32_t keep[W];
  mj_rm_fill(keep, 0u);
  const int64_t last = maskjit_floordiv(k0 + 32 * W - 1 + kOff, kDiv);
#pragma unroll 1
  for (int64_t kb = maskjit_floordiv(k0 + kOff, kDiv); kb <= last; ++kb) {
    uint32_t piece[W];
    mj_rm_fill(piece, 0xffffffffu);
    mj_rm_keep_range(piece, k0, kb * kDiv - kOff, (kb + 1) * kDiv - kOff - 1);
    mj_rm_keep_linear(piece, k0, b, rest - bK * kb);
    mj_rm_or(keep, piece);
  }
#pragma unroll
  for (int w = 0; w < W; ++w)
    m[w] &= keep[w];
}

// Bits [s, s + 32) of a bitmap of n bits, zero outside it.
static __device__ __forceinline__ uint32_t mj_rm_bits32(const uint32_t *bits, int64_t n, int64_t s) {
  if (s >= n || s <= -32)
    return 0u;
  const int64_t wi = s >> 5; // floor(s / 32)
  const int sh = (int)(s & 31);
  const int64_t words = (n + 31) >> 5;
  const uint32_t lo = wi >= 0 ? bits[wi] : 0u;
  const uint32_t hi = wi + 1 < words ? bits[wi + 1] : 0u;
  return sh == 0 ? lo : (lo >> sh) | (hi << (32 - sh));
}

static __device__ __forceinline__ uint32_t mj_rm_brev(uint32_t x) {
#ifdef __CUDA_ARCH__
  uint32_t r;
  asm("brev.b32 %0, %1;\n" : "=r"(r) : "r"(x));
  return r;
#else // The host build of the unit tests.
  uint32_t r = 0;
  for (int i = 0; i < 32; ++i)
    r |= ((x >> i) & 1u) << (31 - i);
  return r;
#endif
}

// `k in set` (negated: `not in`). Sets with no bitmap (spanning more than
// 2^27 values) are searched key by key.
template <int W>
static __device__ __forceinline__ void
mj_rm_keep_key_set(uint32_t (&m)[W], int64_t k0, const int64_t *vals, int64_t n,
                   const uint32_t *bits, int64_t lo, int64_t hi, bool negated) {
#pragma unroll
  for (int w = 0; w < W; ++w) {
    uint32_t x = 0;
    if (bits) {
      x = mj_rm_bits32(bits, hi - lo, k0 + 32 * w - lo);
    } else {
#pragma unroll 1
      for (int j = 0; j < 32; ++j)
        x |= (maskjit_contains(vals, n, bits, lo, hi, k0 + 32 * w + j) ? 1u : 0u) << j;
    }
    m[w] &= negated ? ~x : x;
  }
}

// `q - k in set` (negated: `not in`): key k0 + j has diagonal q - k0 - j, so
// a word's keys read 32 consecutive diagonals backwards.
template <int W>
static __device__ __forceinline__ void
mj_rm_keep_diagonal_set(uint32_t (&m)[W], int64_t q, int64_t k0, const int64_t *vals, int64_t n,
                        const uint32_t *bits, int64_t lo, int64_t hi, bool negated) {
#pragma unroll
  for (int w = 0; w < W; ++w) {
    const int64_t top = q - k0 - 32 * w; // diagonal of the word's first key
    uint32_t x = 0;
    if (bits) {
      x = mj_rm_brev(mj_rm_bits32(bits, hi - lo, top - 31 - lo));
    } else {
#pragma unroll 1
      for (int j = 0; j < 32; ++j)
        x |= (maskjit_contains(vals, n, bits, lo, hi, top - j) ? 1u : 0u) << j;
    }
    m[w] &= negated ? ~x : x;
  }
}

// `k / block in set(q / block)` (negated: `not in`): the key blocks chosen
// for the row's query block, a bitmap row of `row_words` words for each of
// `rows` query blocks (topk_blocks). A tile's keys span a few blocks.
template <int W>
static __device__ __forceinline__ void
mj_rm_keep_block_set(uint32_t (&m)[W], int64_t q, int64_t k0, const uint32_t *bits, int64_t rows,
                     int64_t row_words, int64_t block, bool negated) {
  uint32_t keep[W];
  mj_rm_fill(keep, 0u);
  const int64_t qb = maskjit_floordiv(q, block);
  if (qb >= 0 && qb < rows) {
    const uint32_t *row = bits + qb * row_words;
    const int64_t last = maskjit_floordiv(k0 + 32 * W - 1, block);
    for (int64_t kb = maskjit_floordiv(k0, block); kb <= last; ++kb) {
      if (kb < 0 || kb >= 32 * row_words || !((row[kb >> 5] >> (kb & 31)) & 1u))
        continue;
      uint32_t r[W];
      mj_rm_fill(r, 0xffffffffu);
      mj_rm_keep_range(r, k0, kb * block, kb * block + block - 1);
      mj_rm_or(keep, r);
    }
  }
#pragma unroll
  for (int w = 0; w < W; ++w)
    m[w] &= negated ? ~keep[w] : keep[w];
}

// Keys k == residue (mod modulus).
template <int W>
static __device__ __forceinline__ void mj_rm_keep_progression(uint32_t (&m)[W], int64_t k0,
                                                              int64_t residue, int64_t modulus) {
#pragma unroll
  for (int w = 0; w < W; ++w) {
    uint32_t x = 0;
    const int64_t base = k0 + 32 * w;
#pragma unroll 1
    for (int64_t j = maskjit_floormod(residue - base, modulus); j < 32; j += modulus)
      x |= 1u << j;
    m[w] &= x;
  }
}

// Keys k with values[k] == values[q] (`!=` when negated), positions past n
// reading a value no position holds (as the predicate's loads do): with a
// run table (first and last position of each position's run of equal
// values, non-decreasing arrays) one range, else key by key.
template <int W>
static __device__ __forceinline__ void mj_rm_keep_run(uint32_t (&m)[W], int64_t k0, int64_t q,
                                                      const int64_t *values, int64_t n,
                                                      const int *run, bool negated) {
  if (run && !negated && q >= 0 && q < n) {
    mj_rm_keep_range(m, k0, run[2 * q], run[2 * q + 1]);
    return;
  }
  const bool qIn = q >= 0 && q < n;
  const int64_t v = qIn ? values[q] : 0;
#pragma unroll
  for (int w = 0; w < W; ++w) {
    uint32_t x = 0;
#pragma unroll 1
    for (int j = 0; j < 32; ++j) {
      const int64_t k = k0 + 32 * w + j;
      const bool kIn = k >= 0 && k < n;
      const bool equal = qIn && kIn ? values[k] == v : qIn == kIn;
      x |= (uint32_t)(equal != negated) << j;
    }
    m[w] &= x;
  }
}

// The 2 x (32 W / 4) bits of a row mask one thread of an mma/wgmma
// accumulator holds: bit 2i + c is key 8i + 2 t4 + c.
template <int W>
static __device__ __forceinline__ uint32_t mj_rm_thread_bits(const uint32_t (&m)[W], int t4) {
  uint32_t out = 0;
#pragma unroll
  for (int w = 0; w < W; ++w) {
    uint32_t x = (m[w] >> (2 * t4)) & 0x03030303u;
    x = (x | (x >> 6)) & 0x000F000Fu;
    x = (x | (x >> 12)) & 0xFFu;
    out |= x << (8 * w);
  }
  return out;
}
