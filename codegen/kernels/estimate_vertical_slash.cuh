// maskjit's GPU estimator of `topk_columns(n, last_q)` and
// `topk_diagonals(n, last_q)` (MInference's vertical-slash estimate): the
// softmax (fp32) of the last `last_q` queries of each head against the keys
// causal lets them see, summed per key column and per diagonal q - k, and
// the n largest of each (ties to the smaller index). Compiled by NVRTC after
// a prelude that defines MJ_D, MJ_FP16 and the integer types.
//
// Three passes over key chunks of 64 (scores are recomputed rather than
// stored: last_q x Lk x heads floats would not fit at long lengths):
// 1. mj_vs_chunk_stats: per chunk and query row, the max score and the sum
//    of exp(score - max).
// 2. mj_vs_row_stats: per row, those combined into the softmax max and sum.
// 3. mj_vs_mass: probabilities, summed per column (each chunk owns its
//    columns) and per diagonal (in shared memory, then one global atomic per
//    diagonal and chunk).
// Then mj_vs_topk selects per head, with a radix select on the float bits
// (masses are >= 0, so their bits order like the values).

#define MJ_EST_KEYS 64
#define MJ_EST_MAX_Q 64
#define MJ_EST_THREADS 256

struct mj_est_params {
  const uint16_t *q, *k;
  int64_t q_sb, q_ss, q_sh, k_ss, k_sh; // element strides (batch 0 only)
  int lq, lk, heads, kv_heads, last_q, chunks;
  float scale_log2;
  float *chunk_max, *chunk_sum; // [heads][chunks][last_q]
  float *row_max, *row_sum;     // [heads][last_q]
  float *columns;               // [heads][lk]
  float *diagonals;             // [heads][lq + lk - 1], diagonal d at d + lk - 1
};

static __device__ __forceinline__ float mj_est_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

static __device__ __forceinline__ float mj_est_to_float(unsigned x) {
#if MJ_FP16
  float f;
  asm("{ .reg .b16 h; cvt.u16.u32 h, %1; cvt.f32.f16 %0, h; }" : "=f"(f) : "r"(x));
  return f;
#else
  return __uint_as_float(x << 16);
#endif
}

// Q's last rows and a chunk of K, as 16-bit values in shared memory (rows
// padded to an odd number of words: conflict-free column reads).
#define MJ_EST_ROW (MJ_D + 2)
struct mj_est_tiles {
  uint16_t q[MJ_EST_MAX_Q][MJ_EST_ROW];
  uint16_t k[MJ_EST_KEYS][MJ_EST_ROW];
};

static __device__ void mj_est_load(const mj_est_params &p, int h, int chunk, mj_est_tiles &t) {
  const int tid = threadIdx.x, q0 = p.lq - p.last_q, k0 = chunk * MJ_EST_KEYS;
  const int kvh = h / (p.heads / p.kv_heads);
  for (int i = tid; i < p.last_q * (MJ_D / 2); i += MJ_EST_THREADS) {
    const int r = i / (MJ_D / 2), c = 2 * (i % (MJ_D / 2));
    *(unsigned *)&t.q[r][c] = *(const unsigned *)&p.q[(int64_t)(q0 + r) * p.q_ss + h * p.q_sh + c];
  }
  for (int i = tid; i < MJ_EST_KEYS * (MJ_D / 2); i += MJ_EST_THREADS) {
    const int r = i / (MJ_D / 2), c = 2 * (i % (MJ_D / 2)), key = k0 + r;
    *(unsigned *)&t.k[r][c] =
        key < p.lk ? *(const unsigned *)&p.k[(int64_t)key * p.k_ss + kvh * p.k_sh + c] : 0u;
  }
  __syncthreads();
}

// Row r's base-2 logits for this lane's two keys of the chunk (lane and
// lane + 32), -inf where causal hides the key or it is past Lk.
static __device__ __forceinline__ void mj_est_logits(const mj_est_params &p, const mj_est_tiles &t,
                                                     int chunk, int r, int lane, float (&s)[2]) {
  const int q = p.lq - p.last_q + r;
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    const int j = lane + 32 * e, key = chunk * MJ_EST_KEYS + j;
    float acc = 0.f;
#pragma unroll 8
    for (int c = 0; c < MJ_D; c += 2) {
      const unsigned a = *(const unsigned *)&t.q[r][c], b = *(const unsigned *)&t.k[j][c];
      acc = fmaf(mj_est_to_float(a & 0xffff), mj_est_to_float(b & 0xffff), acc);
      acc = fmaf(mj_est_to_float(a >> 16), mj_est_to_float(b >> 16), acc);
    }
    // Causal, bottom-right: query q sees keys up to q + Lk - Lq.
    const bool ok = key < p.lk && key <= q + (p.lk - p.lq);
    s[e] = ok ? acc * p.scale_log2 : __int_as_float(0xff800000);
  }
}

static __device__ __forceinline__ float mj_est_warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffff, v, o));
  return v;
}
static __device__ __forceinline__ float mj_est_warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffff, v, o);
  return v;
}

// Each warp takes rows warp, warp + 8, ...; each lane two keys of a row.
extern "C" __global__ void __launch_bounds__(MJ_EST_THREADS)
    mj_vs_chunk_stats(const mj_est_params p) {
  __shared__ mj_est_tiles t;
  const int chunk = blockIdx.x, h = blockIdx.y, lane = threadIdx.x % 32;
  mj_est_load(p, h, chunk, t);
  for (int r = threadIdx.x / 32; r < p.last_q; r += MJ_EST_THREADS / 32) {
    float s[2];
    mj_est_logits(p, t, chunk, r, lane, s);
    const float mx = mj_est_warp_max(fmaxf(s[0], s[1]));
    float sum = 0.f;
    if (mx != __int_as_float(0xff800000))
      sum = mj_est_warp_sum(mj_est_exp2(s[0] - mx) + mj_est_exp2(s[1] - mx));
    if (lane == 0) {
      const int64_t at = ((int64_t)h * p.chunks + chunk) * p.last_q + r;
      p.chunk_max[at] = mx;
      p.chunk_sum[at] = sum;
    }
  }
}

extern "C" __global__ void mj_vs_row_stats(const mj_est_params p) {
  const int h = blockIdx.x, r = threadIdx.x;
  if (r >= p.last_q)
    return;
  float mx = __int_as_float(0xff800000), sum = 0.f;
  for (int c = 0; c < p.chunks; ++c) {
    const int64_t at = ((int64_t)h * p.chunks + c) * p.last_q + r;
    const float m = p.chunk_max[at];
    if (m == __int_as_float(0xff800000))
      continue;
    const float nm = fmaxf(mx, m);
    sum = (mx == __int_as_float(0xff800000) ? 0.f : sum * mj_est_exp2(mx - nm)) +
          p.chunk_sum[at] * mj_est_exp2(m - nm);
    mx = nm;
  }
  p.row_max[h * p.last_q + r] = mx;
  p.row_sum[h * p.last_q + r] = sum;
}

extern "C" __global__ void __launch_bounds__(MJ_EST_THREADS) mj_vs_mass(const mj_est_params p) {
  __shared__ mj_est_tiles t;
  __shared__ float sCol[MJ_EST_KEYS], sDiag[MJ_EST_MAX_Q + MJ_EST_KEYS];
  const int chunk = blockIdx.x, h = blockIdx.y, tid = threadIdx.x, lane = tid % 32;
  const int q0 = p.lq - p.last_q, k0 = chunk * MJ_EST_KEYS;
  for (int i = tid; i < MJ_EST_MAX_Q + MJ_EST_KEYS; i += MJ_EST_THREADS)
    sDiag[i] = 0.f;
  for (int i = tid; i < MJ_EST_KEYS; i += MJ_EST_THREADS)
    sCol[i] = 0.f;
  mj_est_load(p, h, chunk, t); // (its barrier also orders the zeroing)
  float col[2] = {0.f, 0.f};
  for (int r = tid / 32; r < p.last_q; r += MJ_EST_THREADS / 32) {
    float s[2];
    mj_est_logits(p, t, chunk, r, lane, s);
    const float m = p.row_max[h * p.last_q + r], l = p.row_sum[h * p.last_q + r];
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const float pr =
          (s[e] == __int_as_float(0xff800000) || l == 0.f) ? 0.f : mj_est_exp2(s[e] - m) / l;
      col[e] += pr;
      // Diagonal q - k = (q0 + r) - (k0 + j); slot r - j + MJ_EST_KEYS - 1.
      if (pr != 0.f)
        atomicAdd(&sDiag[r - (lane + 32 * e) + MJ_EST_KEYS - 1], pr);
    }
  }
  atomicAdd(&sCol[lane], col[0]);
  atomicAdd(&sCol[lane + 32], col[1]);
  __syncthreads();
  for (int j = tid; j < MJ_EST_KEYS; j += MJ_EST_THREADS)
    if (k0 + j < p.lk)
      p.columns[(int64_t)h * p.lk + k0 + j] = sCol[j];
  for (int i = tid; i < p.last_q + MJ_EST_KEYS - 1; i += MJ_EST_THREADS) {
    const float v = sDiag[i];
    if (v == 0.f)
      continue;
    const int64_t d = (int64_t)q0 - k0 + i - (MJ_EST_KEYS - 1); // q - k
    atomicAdd(&p.diagonals[(int64_t)h * (p.lq + p.lk - 1) + d + p.lk - 1], v);
  }
}

// The n largest of values[h][0..count) (ties to the smaller index), as
// indices minus `shift`, in out[h][0..n) (unordered). One block per head.
extern "C" __global__ void __launch_bounds__(1024)
    mj_vs_topk(const float *values, int64_t count, int n, int64_t shift, int *out) {
  __shared__ unsigned hist[256];
  __shared__ unsigned sPrefix, sMask;
  __shared__ int sNeed, sGreater, sScan[1024];
  const int h = blockIdx.x, tid = threadIdx.x, nt = blockDim.x;
  const unsigned *bits = (const unsigned *)(values + (int64_t)h * count);
  int *dst = out + (int64_t)h * n;
  if (tid == 0) {
    sPrefix = 0;
    sMask = 0;
    sNeed = n; // how many of the values that match the prefix to take
    sGreater = 0;
  }
  __syncthreads();
  // Radix select, 8 bits at a time from the top: the bits of the n-th
  // largest value.
  for (int shiftBits = 24; shiftBits >= 0; shiftBits -= 8) {
    for (int i = tid; i < 256; i += nt)
      hist[i] = 0;
    __syncthreads();
    const unsigned prefix = sPrefix, mask = sMask;
    for (int64_t i = tid; i < count; i += nt)
      if ((bits[i] & mask) == prefix)
        atomicAdd(&hist[(bits[i] >> shiftBits) & 255u], 1u);
    __syncthreads();
    if (tid == 0) {
      int need = sNeed;
      int digit = 255;
      for (; digit > 0; --digit) {
        if ((int)hist[digit] >= need)
          break;
        need -= hist[digit];
      }
      sNeed = need;
      sPrefix = prefix | ((unsigned)digit << shiftBits);
      sMask = mask | (255u << shiftBits);
    }
    __syncthreads();
  }
  const unsigned kth = sPrefix;
  // Every value above the n-th goes out; of those equal to it, the first
  // `need` in index order (each thread scans a contiguous range).
  const int64_t per = (count + nt - 1) / nt, lo = tid * per, hi = min(count, lo + per);
  int ties = 0;
  for (int64_t i = lo; i < hi; ++i) {
    if (bits[i] > kth)
      dst[atomicAdd(&sGreater, 1)] = (int)(i - shift);
    ties += bits[i] == kth;
  }
  sScan[tid] = ties;
  __syncthreads();
  if (tid == 0)
    for (int i = 1; i < nt; ++i)
      sScan[i] += sScan[i - 1];
  __syncthreads();
  const int greater = sGreater, need = min(sNeed, n - greater);
  int before = tid == 0 ? 0 : sScan[tid - 1];
  for (int64_t i = lo; i < hi && before < need; ++i)
    if (bits[i] == kth)
      dst[greater + before++] = (int)(i - shift);
}
