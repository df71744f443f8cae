// maskjit's GPU estimator of `topk_blocks(keep, block)`: Q and K mean-pooled
// over blocks of `block` positions, for each query block the scores of the
// key blocks causal lets it reach (a key block whose first key the block's
// last query may attend), and the `keep` best (ties to the smaller index).
// Compiled by NVRTC after a prelude that defines MJ_D, MJ_FP16 and the
// integer types.
//
// The arithmetic is the CPU reference's (runtime/Estimators.cpp), operation
// for operation and in the same order, each rounded (no fused multiply-add):
// the pooled vectors, the scores and so the chosen blocks are the same bits.
// 1. mj_bt_pool: one thread per (block, 8 dimensions) sums x / n over the
//    block (K stored dimension-major, so that a score's threads read along
//    blocks).
// 2. mj_bt_select: one CTA per (up to 4 query blocks, head): the scores in
//    shared memory, then per query block (a warp each) `keep` rounds of a
//    warp-wide arg-max, the chosen blocks sorted into a list and set in
//    the head's bitmap row.
// A batch is estimated in the same launches: grid.y runs over (sequence,
// head) rows, row = b * heads + h, and every output is per row.

#define MJ_BT_THREADS 128
#ifndef MJ_BT_DYNAMIC_SHARED // (the host shim of the unit tests has its own)
#define MJ_BT_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

struct mj_bt_params {
  const uint16_t *q, *k;
  int64_t q_sb, q_ss, q_sh, k_sb, k_ss, k_sh; // element strides
  int lq, lk, heads, kv_heads, block, keep, q_blocks, k_blocks, row_words;
  int qb; // query blocks a select CTA scores (1..4)
  float scale;
  float *pooled_q; // [batch][heads][q_blocks][D]
  float *pooled_k; // [batch][kv_heads][D][k_blocks]: a score's threads read along blocks
  int *chosen;     // [batch][heads][q_blocks][keep], ascending, -1 padded
  unsigned *bits;  // [batch][heads][q_blocks][row_words]
};

static __device__ __forceinline__ float mj_bt_cvt(uint16_t bits) {
#if MJ_FP16
  float f;
  asm("cvt.f32.f16 %0, %1;\n" : "=f"(f) : "h"(bits));
  return f;
#else
  return __uint_as_float((unsigned)bits << 16);
#endif
}

// Grid (ceil(q_blocks / B) + ceil(k_blocks / B), batch * heads), B =
// MJ_BT_POOL_BLOCKS (8 at D = 128, 16 at 64): blocks of Q first, then of K
// (heads past kv_heads have nothing to pool in K). A CTA pools B blocks; a
// thread 8 dimensions of one, a 16-byte load per row.
#define MJ_BT_POOL_BLOCKS (MJ_BT_THREADS / (MJ_D / 8))
extern "C" __global__ void __launch_bounds__(MJ_BT_THREADS) mj_bt_pool(const mj_bt_params p) {
  const int seq = blockIdx.y / p.heads, h = blockIdx.y % p.heads;
  const int qCtas = (p.q_blocks + MJ_BT_POOL_BLOCKS - 1) / MJ_BT_POOL_BLOCKS;
  const bool isQ = blockIdx.x < (unsigned)qCtas;
  if (!isQ && h >= p.kv_heads)
    return;
  const int b = (isQ ? blockIdx.x : blockIdx.x - qCtas) * MJ_BT_POOL_BLOCKS +
                threadIdx.x / (MJ_D / 8);
  const int c0 = threadIdx.x % (MJ_D / 8) * 8;
  if (b >= (isQ ? p.q_blocks : p.k_blocks))
    return;
  const int rows = isQ ? p.lq : p.lk;
  const int lo = b * p.block, hi = min(rows, lo + p.block);
  const uint16_t *x =
      (isQ ? p.q + seq * p.q_sb + h * p.q_sh : p.k + seq * p.k_sb + h * p.k_sh) + c0;
  const int64_t ss = isQ ? p.q_ss : p.k_ss;
  const int count = hi - lo;
  const float n = (float)count;
  // x / n is x * (1 / n) exactly when n is a power of two (both are the
  // correctly rounded x * 2^-k): the division only for other counts.
  const bool pow2 = (count & (count - 1)) == 0;
  const float inv = 1.f / n;
  float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  // Rows read 4 at a time (independent loads), added in row order.
  for (int i0 = lo; i0 < hi; i0 += 4) {
    uint4 v[4];
#pragma unroll
    for (int j = 0; j < 4; ++j)
      v[j] = i0 + j < hi ? *reinterpret_cast<const uint4 *>(x + (int64_t)(i0 + j) * ss)
                         : make_uint4(0u, 0u, 0u, 0u);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      if (i0 + j >= hi)
        break;
      const unsigned w[4] = {v[j].x, v[j].y, v[j].z, v[j].w};
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const float f = mj_bt_cvt((uint16_t)(w[e / 2] >> (16 * (e % 2))));
        acc[e] = __fadd_rn(acc[e], pow2 ? __fmul_rn(f, inv) : __fdiv_rn(f, n));
      }
    }
  }
#pragma unroll
  for (int e = 0; e < 8; ++e) {
    const int c = c0 + e;
    if (isQ)
      p.pooled_q[((int64_t)blockIdx.y * p.q_blocks + b) * MJ_D + c] = acc[e];
    else
      p.pooled_k[(((int64_t)seq * p.kv_heads + h) * MJ_D + c) * p.k_blocks + b] = acc[e];
  }
}

// Grid (ceil(q_blocks / qb), batch * heads), MJ_BT_THREADS threads, dynamic
// shared memory of qb * k_blocks floats. A CTA scores qb (<= 4) neighbouring
// query blocks together, so each pooled K value read from L2 serves all
// of them; warp w then picks query block w's `keep` best on its own
// (shuffles, no block-wide barrier per round).
extern "C" __global__ void __launch_bounds__(MJ_BT_THREADS) mj_bt_select(const mj_bt_params p) {
  constexpr int kMaxQb = MJ_BT_THREADS / 32;
  MJ_BT_DYNAMIC_SHARED(float, sScore); // [qb][k_blocks]
  __shared__ float sQ[kMaxQb][MJ_D];
  __shared__ int sTaken[kMaxQb][64]; // chosen so far (keep <= 64)
  const int hb = blockIdx.y, tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int bq0 = blockIdx.x * p.qb, qb = min(p.qb, p.q_blocks - bq0);
  const int seq = hb / p.heads, kvh = hb % p.heads / (p.heads / p.kv_heads);
  // Key blocks query block bq may score: those whose first key its last
  // query sees (bottom-right causal).
  auto reach = [&](int bq) {
    const int lastKey = min(p.lk - 1, min(p.lq - 1, (bq + 1) * p.block - 1) + (p.lk - p.lq));
    return lastKey < 0 ? 0 : lastKey / p.block + 1;
  };
  for (int i = tid; i < qb * MJ_D; i += MJ_BT_THREADS)
    sQ[i / MJ_D][i % MJ_D] = p.pooled_q[((int64_t)hb * p.q_blocks + bq0) * MJ_D + i];
  const int nAll = reach(bq0 + qb - 1); // later query blocks reach as far
  __syncthreads();
  const float *pk = p.pooled_k + ((int64_t)seq * p.kv_heads + kvh) * MJ_D * p.k_blocks;
  // Two key blocks a thread for every query block of the CTA: each score
  // summed in the reference's order (independent sums).
  for (int base = tid; base < nAll; base += 2 * MJ_BT_THREADS) {
    float s[2][kMaxQb];
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int i = 0; i < kMaxQb; ++i)
        s[j][i] = 0.f;
    for (int c = 0; c < MJ_D; ++c) {
      const float *row = pk + (int64_t)c * p.k_blocks;
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const int bk = base + j * MJ_BT_THREADS;
        const float kv = bk < nAll ? row[bk] : 0.f;
#pragma unroll
        for (int i = 0; i < kMaxQb; ++i)
          s[j][i] = __fadd_rn(s[j][i], __fmul_rn(sQ[i][c], kv));
      }
    }
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int i = 0; i < kMaxQb; ++i) {
        const int bk = base + j * MJ_BT_THREADS;
        if (i < qb && bk < reach(bq0 + i))
          sScore[i * p.k_blocks + bk] = __fmul_rn(s[j][i], p.scale);
      }
  }
  __syncthreads();
  if (warp >= qb)
    return;
  const int bq = bq0 + warp, nw = reach(bq);
  float *score = sScore + warp * p.k_blocks;
  unsigned *row = p.bits + ((int64_t)hb * p.q_blocks + bq) * p.row_words;
  int *chosen = p.chosen + ((int64_t)hb * p.q_blocks + bq) * p.keep;
  for (int w = lane; w < p.row_words; w += 32)
    row[w] = 0u;
  const int take = min(p.keep, nw);
  for (int r = 0; r < take; ++r) {
    // Arg-max, ties to the smaller index: per lane, then across the warp.
    float best = -__int_as_float(0x7f800000);
    int at = 0x7fffffff;
    for (int bk = lane; bk < nw; bk += 32) {
      const float v = score[bk];
      if (v > best || (v == best && bk < at)) {
        best = v;
        at = bk;
      }
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, best, off);
      const int oa = __shfl_xor_sync(0xffffffffu, at, off);
      if (ov > best || (ov == best && oa < at)) {
        best = ov;
        at = oa;
      }
    }
    // Every lane holds the winner now.
    if (lane == 0) {
      sTaken[warp][r] = at;
      score[at] = -__int_as_float(0x7f800000); // taken
    }
    __syncwarp();
  }
  if (lane == 0) {
    // Insertion sort of the few chosen, then the list and the bitmap row
    // (zeroed above by this warp's lanes: the warp barrier orders them).
    int *taken = sTaken[warp];
    for (int i = 1; i < take; ++i) {
      const int v = taken[i];
      int j = i - 1;
      for (; j >= 0 && taken[j] > v; --j)
        taken[j + 1] = taken[j];
      taken[j + 1] = v;
    }
    for (int i = 0; i < p.keep; ++i)
      chosen[i] = i < take ? taken[i] : -1;
  }
  __syncwarp();
  for (int i = lane; i < take; i += 32)
    atomicOr(&row[sTaken[warp][i] >> 5], 1u << (sTaken[warp][i] & 31));
}
