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
// 1. mj_bt_pool: one thread per (block, dimension) sums x / n over the block
//    (K stored dimension-major, so that a score's threads read along blocks).
// 2. mj_bt_select: one CTA per (query block, head): the scores in shared
//    memory, `keep` rounds of a block-wide arg-max, then the chosen blocks
//    sorted into a list and set in the head's bitmap row.
// A batch is estimated in the same launches: grid.y runs over (sequence,
// head) rows, row = b * heads + h, and every output is per row.

#define MJ_BT_THREADS 128

struct mj_bt_params {
  const uint16_t *q, *k;
  int64_t q_sb, q_ss, q_sh, k_sb, k_ss, k_sh; // element strides
  int lq, lk, heads, kv_heads, block, keep, q_blocks, k_blocks, row_words;
  float scale;
  float *pooled_q; // [batch][heads][q_blocks][D]
  float *pooled_k; // [batch][kv_heads][D][k_blocks]: a score's threads read along blocks
  int *chosen;     // [batch][heads][q_blocks][keep], ascending, -1 padded
  unsigned *bits;  // [batch][heads][q_blocks][row_words]
};

static __device__ __forceinline__ float mj_bt_load(const uint16_t *p) {
#if MJ_FP16
  float f;
  asm("cvt.f32.f16 %0, %1;\n" : "=f"(f) : "h"(*p));
  return f;
#else
  return __uint_as_float((unsigned)*p << 16);
#endif
}

// Grid (q_blocks + k_blocks, batch * heads): blocks of Q first, then of K
// (heads past kv_heads have nothing to pool in K).
extern "C" __global__ void __launch_bounds__(MJ_BT_THREADS) mj_bt_pool(const mj_bt_params p) {
  const int seq = blockIdx.y / p.heads, h = blockIdx.y % p.heads;
  const bool isQ = blockIdx.x < (unsigned)p.q_blocks;
  const int b = isQ ? blockIdx.x : blockIdx.x - p.q_blocks;
  if (!isQ && h >= p.kv_heads)
    return;
  const int rows = isQ ? p.lq : p.lk;
  const int lo = b * p.block, hi = min(rows, lo + p.block);
  const uint16_t *x =
      isQ ? p.q + seq * p.q_sb + h * p.q_sh : p.k + seq * p.k_sb + h * p.k_sh;
  const int64_t ss = isQ ? p.q_ss : p.k_ss;
  const float n = (float)(hi - lo);
  for (int c = threadIdx.x; c < MJ_D; c += MJ_BT_THREADS) {
    // Rows read 8 at a time (independent loads), added in row order.
    float acc = 0.f;
    for (int i0 = lo; i0 < hi; i0 += 8) {
      float v[8];
#pragma unroll
      for (int j = 0; j < 8; ++j)
        v[j] = i0 + j < hi ? mj_bt_load(x + (int64_t)(i0 + j) * ss + c) : 0.f;
#pragma unroll
      for (int j = 0; j < 8; ++j)
        if (i0 + j < hi)
          acc = __fadd_rn(acc, __fdiv_rn(v[j], n));
    }
    if (isQ)
      p.pooled_q[((int64_t)blockIdx.y * p.q_blocks + b) * MJ_D + c] = acc;
    else
      p.pooled_k[(((int64_t)seq * p.kv_heads + h) * MJ_D + c) * p.k_blocks + b] = acc;
  }
}

// Grid (q_blocks, batch * heads), MJ_BT_THREADS threads, dynamic shared memory of
// k_blocks floats.
extern "C" __global__ void __launch_bounds__(MJ_BT_THREADS) mj_bt_select(const mj_bt_params p) {
  extern __shared__ float sScore[];
  __shared__ float sQ[MJ_D];
  __shared__ float sBest[MJ_BT_THREADS / 32];
  __shared__ int sBestAt[MJ_BT_THREADS / 32];
  __shared__ int sTaken[64]; // chosen so far (keep <= 64)
  const int bq = blockIdx.x, hb = blockIdx.y, tid = threadIdx.x, lane = tid % 32,
            warp = tid / 32;
  const int seq = hb / p.heads, kvh = hb % p.heads / (p.heads / p.kv_heads);
  unsigned *row = p.bits + ((int64_t)hb * p.q_blocks + bq) * p.row_words;
  int *chosen = p.chosen + ((int64_t)hb * p.q_blocks + bq) * p.keep;
  for (int w = tid; w < p.row_words; w += MJ_BT_THREADS)
    row[w] = 0u;
  for (int c = tid; c < MJ_D; c += MJ_BT_THREADS)
    sQ[c] = p.pooled_q[((int64_t)hb * p.q_blocks + bq) * MJ_D + c];
  // The last query of the block sees keys up to this one (bottom-right).
  const int lastKey = min(p.lk - 1, min(p.lq - 1, (bq + 1) * p.block - 1) + (p.lk - p.lq));
  const int n = lastKey < 0 ? 0 : lastKey / p.block + 1;
  __syncthreads();
  const float *pk = p.pooled_k + ((int64_t)seq * p.kv_heads + kvh) * MJ_D * p.k_blocks;
  // Four scores a thread at once (independent sums), each in the order
  // of the reference.
  for (int base = tid; base < n; base += 4 * MJ_BT_THREADS) {
    float s[4] = {0.f, 0.f, 0.f, 0.f};
    for (int c = 0; c < MJ_D; ++c) {
      const float qc = sQ[c];
      const float *row = pk + (int64_t)c * p.k_blocks;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int bk = base + j * MJ_BT_THREADS;
        if (bk < n)
          s[j] = __fadd_rn(s[j], __fmul_rn(qc, row[bk]));
      }
    }
#pragma unroll
    for (int j = 0; j < 4; ++j)
      if (base + j * MJ_BT_THREADS < n)
        sScore[base + j * MJ_BT_THREADS] = __fmul_rn(s[j], p.scale);
  }
  __syncthreads();
  const int take = min(p.keep, n);
  for (int r = 0; r < take; ++r) {
    // Arg-max, ties to the smaller index: per thread, per warp, per block.
    float best = -__int_as_float(0x7f800000);
    int at = 0x7fffffff;
    for (int bk = tid; bk < n; bk += MJ_BT_THREADS) {
      const float v = sScore[bk];
      if (v > best || (v == best && bk < at)) {
        best = v;
        at = bk;
      }
    }
    for (int off = 16; off > 0; off >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, best, off);
      const int oa = __shfl_xor_sync(0xffffffffu, at, off);
      if (ov > best || (ov == best && oa < at)) {
        best = ov;
        at = oa;
      }
    }
    if (lane == 0) {
      sBest[warp] = best;
      sBestAt[warp] = at;
    }
    __syncthreads();
    if (tid == 0) {
      for (int w = 1; w < MJ_BT_THREADS / 32; ++w)
        if (sBest[w] > sBest[0] || (sBest[w] == sBest[0] && sBestAt[w] < sBestAt[0])) {
          sBest[0] = sBest[w];
          sBestAt[0] = sBestAt[w];
        }
      sTaken[r] = sBestAt[0];
      sScore[sBestAt[0]] = -__int_as_float(0x7f800000); // taken
    }
    __syncthreads();
  }
  if (tid == 0) {
    // Insertion sort of the few chosen, then the list and the bitmap row.
    for (int i = 1; i < take; ++i) {
      const int v = sTaken[i];
      int j = i - 1;
      for (; j >= 0 && sTaken[j] > v; --j)
        sTaken[j + 1] = sTaken[j];
      sTaken[j + 1] = v;
    }
    for (int i = 0; i < p.keep; ++i)
      chosen[i] = i < take ? sTaken[i] : -1;
    for (int i = 0; i < take; ++i)
      atomicOr(&row[sTaken[i] >> 5], 1u << (sTaken[i] & 31));
  }
}
