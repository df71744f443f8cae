// maskjit attention backward kernels (portable path, sm_80+).
//
// dQ, dK and dV from Q, K, V, O, dO and the forward's LSE, FlashAttention-2
// style, key-tile major: one CTA per 64 keys of a KV head (and class of
// positions of a dilated pattern), eight warps, holding dK and dV in fp32
// registers (16 keys x half the head dimension a warp) while it walks, for
// each query head of the KV
// head's group, the query tiles the forward schedule pairs with its keys
// (the key-major visit list: FULL tiles run no predicate, PARTIAL ones the
// pattern's, EMPTY pairs are never loaded). dQ accumulates in fp32 with
// atomics and is written by a last pass.
//
//   P^T  = exp2(K Q^T * scale log2 e - LSE log2 e)   (0 where not allowed)
//   dV  += P^T dO
//   dS^T = P^T * (V dO^T - Delta),  Delta = rowsum(dO * O)
//   dK  += scale * dS^T Q,  dQ += scale * dS K
//
// Three launches: maskjit_attention_bwd_prep (Delta, LSE in base 2, dQ's
// accumulator zeroed), maskjit_attention_bwd, maskjit_attention_bwd_dq.
// Rows with no allowed key (LSE = -inf) get zero gradients.
//
// It follows attention_common.cuh and mma_sync.cuh in the generated
// source, after the pattern's prelude (its predicate and arguments).

#define MJB_BM 64 // query rows per step
#define MJB_BN 64 // keys per CTA
#define MJB_THREADS 256
#define MJB_ROW (MJ_D + 8) // padded shared-memory row, in elements
#define MJB_SROW (MJB_BM + 8)

// The backward's own parameters, after the forward's maskjit_params; every
// field is 8 bytes (runtime/KernelAbi.h, BackwardParams, in this order).
struct maskjit_bwd_params {
  const uint16_t *dout;
  int64_t do_sb, do_ss, do_sh;
  uint16_t *dq, *dk, *dv;
  int64_t dq_sb, dq_ss, dq_sh;
  int64_t dk_sb, dk_ss, dk_sh;
  int64_t dv_sb, dv_ss, dv_sh;
  float *dq_accum; // [batch][heads][lq][D], fp32
  float *lse_log2; // [batch][heads][lq]: LSE in base 2; +inf: no key
  float *delta;    // [batch][heads][lq]: rowsum(dO * O)
  // The forward schedule read by key tile: for schedule s and forward key
  // tile t, visits[visit_ptr[s * key_tiles + t] .. [s * key_tiles + t + 1])
  // are its query tiles, each (tile << 1) | full, in query order.
  const int *visit_ptr;
  const int *visits;
  int64_t key_tiles;  // forward key tiles per schedule
  int64_t fwd_tile_m; // the forward's tiles (64 or 128)
  int64_t fwd_tile_n;
  int64_t sub_tiles; // CTAs of 64 keys per class
  float scale;       // the softmax scale (dK and dQ)
  float unused_pad;
};
static_assert(sizeof(maskjit_bwd_params) == 26 * 8,
              "maskjit_bwd_params is not laid out as runtime/KernelAbi.h says");

static __device__ __forceinline__ float mj_to_float(uint16_t x) {
#if MASKJIT_DTYPE_FP16
  float f;
  asm("cvt.f32.f16 %0, %1;\n" : "=f"(f) : "h"(x));
  return f;
#else
  return __uint_as_float(static_cast<unsigned>(x) << 16);
#endif
}

// Positions in the class `cls` of a dilated pattern (all of them without
// dilation): how many there are of n, and the position of index i.
static __device__ __forceinline__ int mj_class_len(int n, int cls) {
  return MASKJIT_DILATION == 1 ? n
                               : (n > cls ? (n - cls - 1) / MASKJIT_DILATION + 1 : 0);
}
static __device__ __forceinline__ int mj_class_pos(int i, int cls) {
  return cls + MASKJIT_DILATION * i;
}

// One warp per query row: Delta, the LSE in base 2 (+inf for rows that saw
// no key, so that their P is 0) and dQ's accumulator zeroed.
extern "C" __global__ void __launch_bounds__(128)
    maskjit_attention_bwd_prep(const maskjit_params p, const maskjit_bwd_params g) {
  const int row = blockIdx.x * 4 + threadIdx.x / 32, lane = threadIdx.x % 32;
  const int h = blockIdx.y, b = blockIdx.z;
  if (row >= p.lq)
    return;
  const uint16_t *o = p.o + b * p.o_sb + h * p.o_sh + (int64_t)row * p.o_ss;
  const uint16_t *d = g.dout + b * g.do_sb + h * g.do_sh + (int64_t)row * g.do_ss;
  float sum = 0.f;
  for (int c = lane; c < MJ_D; c += 32)
    sum += mj_to_float(o[c]) * mj_to_float(d[c]);
#pragma unroll
  for (int s = 16; s > 0; s /= 2)
    sum += __shfl_xor_sync(0xffffffff, sum, s);
  const int64_t at = ((int64_t)b * p.heads + h) * p.lq + row;
  float *acc = g.dq_accum + at * MJ_D;
  for (int c = lane; c < MJ_D; c += 32)
    acc[c] = 0.f;
  if (lane == 0) {
    const float lse = p.lse[at];
    g.delta[at] = sum;
    g.lse_log2[at] = lse == mj_neg_inf() ? __int_as_float(0x7f800000)
                                         : lse * 1.4426950408889634f;
  }
}

// dQ = scale * its accumulator, in the dtype.
extern "C" __global__ void __launch_bounds__(128)
    maskjit_attention_bwd_dq(const maskjit_params p, const maskjit_bwd_params g) {
  const int row = blockIdx.x * 4 + threadIdx.x / 32, lane = threadIdx.x % 32;
  const int h = blockIdx.y, b = blockIdx.z;
  if (row >= p.lq)
    return;
  const float *acc = g.dq_accum + (((int64_t)b * p.heads + h) * p.lq + row) * MJ_D;
  uint16_t *dq = g.dq + b * g.dq_sb + h * g.dq_sh + (int64_t)row * g.dq_ss;
  for (int c = 2 * lane; c < MJ_D; c += 64)
    *reinterpret_cast<unsigned *>(dq + c) = mj_pack(acc[c] * g.scale, acc[c + 1] * g.scale);
}

// 16 rows x 64 columns of A B^T for this warp: A's rows from `a` (row
// major, rows a0 ..), B's from `bmat` (row major, its 64 rows are the
// product's columns); both MJB_ROW-strided, MJ_D deep.
static __device__ __forceinline__ void mj_bwd_abt(float (&c)[MJB_BM / 8][4], const uint16_t *a,
                                                  const uint16_t *bmat, int lane) {
#pragma unroll
  for (int j = 0; j < MJB_BM / 8; ++j)
    c[j][0] = c[j][1] = c[j][2] = c[j][3] = 0.f;
#pragma unroll 2
  for (int kk = 0; kk < MJ_D / 16; ++kk) {
    unsigned af[4];
    mj_ldsm_x4(af, a + (lane % 16) * MJB_ROW + kk * 16 + (lane / 16) * 8);
#pragma unroll
    for (int j = 0; j < MJB_BM / 16; ++j) {
      unsigned bf[4];
      mj_ldsm_x4(bf, bmat + (j * 16 + (lane % 8) + (lane / 16) * 8) * MJB_ROW + kk * 16 +
                         ((lane / 8) % 2) * 8);
      mj_mma(c[2 * j], af, bf[0], bf[1]);
      mj_mma(c[2 * j + 1], af, bf[2], bf[3]);
    }
  }
}

// acc (16 x MJ_D / 2) += X (16 x 64, read as A fragments from `x`: its 16
// rows, row major, MJB_SROW-strided) times columns [col0, col0 + MJ_D / 2)
// of the 64 rows of `rows` (row major, MJB_ROW-strided).
static __device__ __forceinline__ void mj_bwd_accumulate(float (&acc)[MJ_D / 16][4],
                                                         const uint16_t *x,
                                                         const uint16_t *rows, int col0,
                                                         int lane) {
#pragma unroll
  for (int j = 0; j < MJB_BM / 16; ++j) {
    unsigned xa[4];
    mj_ldsm_x4(xa, x + (lane % 16) * MJB_SROW + j * 16 + (lane / 16) * 8);
#pragma unroll
    for (int dp = 0; dp < MJ_D / 32; ++dp) {
      unsigned bf[4];
      mj_ldsm_x4_t(bf, rows + (j * 16 + (lane % 8) + ((lane / 8) % 2) * 8) * MJB_ROW + col0 +
                           dp * 16 + (lane / 16) * 8);
      mj_mma(acc[2 * dp], xa, bf[0], bf[1]);
      mj_mma(acc[2 * dp + 1], xa, bf[2], bf[3]);
    }
  }
}

// Element e of accumulator tile j of a 16 x 64 block, stored as a
// packed pair in `rows` (MJB_SROW-strided): the pair's address.
static __device__ __forceinline__ unsigned *mj_bwd_pair(uint16_t *rows, int j, int e, int gr,
                                                        int t4) {
  return reinterpret_cast<unsigned *>(rows + (gr + 8 * (e / 2)) * MJB_SROW + j * 8 + 2 * t4);
}

extern "C" __global__ void __launch_bounds__(MJB_THREADS)
    maskjit_attention_bwd(const maskjit_params p, const maskjit_bwd_params g) {
  extern __shared__ __align__(16) uint16_t mj_shared[];
  uint16_t *sK = mj_shared;
  uint16_t *sV = sK + MJB_BN * MJB_ROW;
  uint16_t *sQ = sV + MJB_BN * MJB_ROW;
  uint16_t *sdO = sQ + MJB_BM * MJB_ROW;
  uint16_t *sP = sdO + MJB_BM * MJB_ROW; // P^T: [key][query]
  uint16_t *sdS = sP + MJB_BN * MJB_SROW; // dS^T: [key][query]
  __shared__ float sLse[MJB_BM], sDelta[MJB_BM];

  // blockIdx.x: 64 keys of the class, then the class.
  const int sub = blockIdx.x % g.sub_tiles, cls = blockIdx.x / g.sub_tiles;
  const int kvh = blockIdx.y, b = blockIdx.z;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int gr = lane / 4, t4 = lane % 4;
  // Warps 0-3 compute P^T and warps 4-7 dP^T for keys 16 (warp % 4) on;
  // then each warp accumulates dK and dV of those keys for one half of the
  // head dimension, and dQ of queries 16 (warp % 4) on for that half.
  const int kw = warp % 4, half = warp / 4, col0 = half * (MJ_D / 2);
  const int lkc = mj_class_len(p.lk, cls), lqc = mj_class_len(p.lq, cls);
  const int k0 = sub * MJB_BN;
  if (k0 >= lkc)
    return;
  const int group = p.heads / p.kv_heads;
  const uint16_t *Kg = p.k + b * p.k_sb + kvh * p.k_sh;
  const uint16_t *Vg = p.v + b * p.v_sb + kvh * p.v_sh;
  constexpr int chunks = MJ_D / 8; // 16-byte pieces per row
  for (int c = tid; c < MJB_BN * chunks; c += MJB_THREADS) {
    const int r = c / chunks, col = (c % chunks) * 8;
    const bool ok = k0 + r < lkc;
    const int64_t kk = ok ? mj_class_pos(k0 + r, cls) : 0;
    mj_cp_async16(sK + r * MJB_ROW + col, Kg + kk * p.k_ss + col, ok);
    mj_cp_async16(sV + r * MJB_ROW + col, Vg + kk * p.v_ss + col, ok);
  }
  mj_cp_commit();

  float dk[MJ_D / 16][4], dv[MJ_D / 16][4];
#pragma unroll
  for (int i = 0; i < MJ_D / 16; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e)
      dk[i][e] = dv[i][e] = 0.f;
  // This thread's keys in the P^T / dP^T fragments (class indices).
  const int kr0 = k0 + kw * 16 + gr, kr1 = kr0 + 8;
  const int fwdTile = k0 / (int)g.fwd_tile_n;
  const int subRows = (int)g.fwd_tile_m / MJB_BM;

  for (int hh = 0; hh < group; ++hh) {
    const int h = kvh * group + hh;
    const int schedRow = p.sched_heads == 1         ? 0
                         : p.sched_heads == p.heads ? h
                                                    : b * p.heads + h;
    const int64_t cell =
        (int64_t)(schedRow * MASKJIT_DILATION + cls) * g.key_tiles + fwdTile;
    const int vBegin = g.visit_ptr[cell], vEnd = g.visit_ptr[cell + 1];
    const uint16_t *Qg = p.q + b * p.q_sb + h * p.q_sh;
    const uint16_t *dOg = g.dout + b * g.do_sb + h * g.do_sh;
    const int64_t rowBase = ((int64_t)b * p.heads + h) * p.lq;
    for (int step = 0; step < (vEnd - vBegin) * subRows; ++step) {
      const int visit = g.visits[vBegin + step / subRows];
      const bool full = visit & 1;
      const int q0 = (visit >> 1) * (int)g.fwd_tile_m + (step % subRows) * MJB_BM;
      if (q0 >= lqc)
        continue;
      __syncthreads(); // the last step is done with sQ, sdO, sP, sdS
      for (int c = tid; c < MJB_BM * chunks; c += MJB_THREADS) {
        const int r = c / chunks, col = (c % chunks) * 8;
        const bool ok = q0 + r < lqc;
        const int64_t qq = ok ? mj_class_pos(q0 + r, cls) : 0;
        mj_cp_async16(sQ + r * MJB_ROW + col, Qg + qq * p.q_ss + col, ok);
        mj_cp_async16(sdO + r * MJB_ROW + col, dOg + qq * g.do_ss + col, ok);
      }
      mj_cp_commit();
      if (tid < MJB_BM) {
        const bool ok = q0 + tid < lqc;
        const int64_t at = rowBase + mj_class_pos(q0 + tid, cls);
        sLse[tid] = ok ? g.lse_log2[at] : __int_as_float(0x7f800000);
        sDelta[tid] = ok ? g.delta[at] : 0.f;
      }
      mj_cp_wait<0>();
      __syncthreads();

      // P^T (warps 0-3) and dP^T = V dO^T (warps 4-7) for 16 keys and the
      // 64 queries.
      float s[MJB_BM / 8][4];
      mj_bwd_abt(s, (half ? sV : sK) + kw * 16 * MJB_ROW, half ? sdO : sQ, lane);
      uint16_t *myP = sP + kw * 16 * MJB_SROW;
      if (half == 0) {
#pragma unroll
        for (int j = 0; j < MJB_BM / 8; ++j)
#pragma unroll
          for (int e = 0; e < 4; e += 2) {
            float pr[2];
#pragma unroll
            for (int x = 0; x < 2; ++x) {
              const int col = j * 8 + 2 * t4 + x;
              const int kr = e < 2 ? kr0 : kr1;
              bool ok = kr < lkc && q0 + col < lqc;
              if (ok && !full)
                ok = MASKJIT_ALLOWED(mj_class_pos(q0 + col, cls), mj_class_pos(kr, cls), h, b,
                                     p.lq, p.lk, &p.args);
              pr[x] = ok ? mj_exp2(s[j][e + x] * p.scale_log2 - sLse[col]) : 0.f;
            }
            *mj_bwd_pair(myP, j, e, gr, t4) = mj_pack(pr[0], pr[1]);
          }
      }
      __syncthreads();
      // dS^T = P^T (dP^T - Delta), in the dtype as the GEMMs read it.
      if (half == 1) {
        uint16_t *myDs = sdS + kw * 16 * MJB_SROW;
#pragma unroll
        for (int j = 0; j < MJB_BM / 8; ++j)
#pragma unroll
          for (int e = 0; e < 4; e += 2) {
            const unsigned pw = *mj_bwd_pair(myP, j, e, gr, t4);
            const int col = j * 8 + 2 * t4;
            const float d0 = mj_to_float((uint16_t)pw) * (s[j][e] - sDelta[col]);
            const float d1 = mj_to_float((uint16_t)(pw >> 16)) * (s[j][e + 1] - sDelta[col + 1]);
            *mj_bwd_pair(myDs, j, e, gr, t4) = mj_pack(d0, d1);
          }
      }
      __syncthreads();
      mj_bwd_accumulate(dv, myP, sdO, col0, lane);
      mj_bwd_accumulate(dk, sdS + kw * 16 * MJB_SROW, sQ, col0, lane);

      // dQ (64 queries x MJ_D) += dS K: each warp 16 queries, half of D,
      // 32 columns at a time.
      unsigned dsa[MJB_BN / 16][4];
#pragma unroll
      for (int kk = 0; kk < MJB_BN / 16; ++kk)
        mj_ldsm_x4_t(dsa[kk], sdS + (kk * 16 + (lane % 8) + (lane / 16) * 8) * MJB_SROW +
                                  kw * 16 + ((lane / 8) % 2) * 8);
      const int qr0 = q0 + kw * 16 + gr, qr1 = qr0 + 8;
      float *acc0 = g.dq_accum + (rowBase + mj_class_pos(qr0, cls)) * MJ_D;
      float *acc1 = g.dq_accum + (rowBase + mj_class_pos(qr1, cls)) * MJ_D;
#pragma unroll 1
      for (int c32 = 0; c32 < MJ_D / 64; ++c32) {
        float dq[4][4];
#pragma unroll
        for (int n = 0; n < 4; ++n)
          dq[n][0] = dq[n][1] = dq[n][2] = dq[n][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < MJB_BN / 16; ++kk)
#pragma unroll
          for (int dp = 0; dp < 2; ++dp) {
            unsigned bf[4];
            mj_ldsm_x4_t(bf, sK + (kk * 16 + (lane % 8) + ((lane / 8) % 2) * 8) * MJB_ROW +
                                 col0 + c32 * 32 + dp * 16 + (lane / 16) * 8);
            mj_mma(dq[2 * dp], dsa[kk], bf[0], bf[1]);
            mj_mma(dq[2 * dp + 1], dsa[kk], bf[2], bf[3]);
          }
#pragma unroll
        for (int n = 0; n < 4; ++n) {
          const int col = col0 + c32 * 32 + n * 8 + 2 * t4;
          if (qr0 < lqc) {
            atomicAdd(acc0 + col, dq[n][0]);
            atomicAdd(acc0 + col + 1, dq[n][1]);
          }
          if (qr1 < lqc) {
            atomicAdd(acc1 + col, dq[n][2]);
            atomicAdd(acc1 + col + 1, dq[n][3]);
          }
        }
      }
    }
  }

  mj_cp_wait<0>(); // (K and V, when no query tile came)
  // dK (scaled) and dV of this warp's keys and half of D.
  uint16_t *dKg = g.dk + b * g.dk_sb + kvh * g.dk_sh;
  uint16_t *dVg = g.dv + b * g.dv_sb + kvh * g.dv_sh;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int kr = r == 0 ? kr0 : kr1;
    if (kr >= lkc)
      continue;
    const int64_t kp = mj_class_pos(kr, cls);
    uint16_t *dkRow = dKg + kp * g.dk_ss, *dvRow = dVg + kp * g.dv_ss;
#pragma unroll
    for (int i = 0; i < MJ_D / 16; ++i) {
      const int col = col0 + i * 8 + 2 * t4;
      *reinterpret_cast<unsigned *>(dkRow + col) =
          mj_pack(dk[i][2 * r] * g.scale, dk[i][2 * r + 1] * g.scale);
      *reinterpret_cast<unsigned *>(dvRow + col) = mj_pack(dv[i][2 * r], dv[i][2 * r + 1]);
    }
  }
}
