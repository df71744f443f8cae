// maskjit's GPU estimator of `topk_columns(n, last_q)` and
// `topk_diagonals(n, last_q)` (MInference's vertical-slash estimate): the
// softmax (fp32) of the last `last_q` queries of each head against the keys
// causal lets them see, summed per key column and per diagonal q - k, and
// the n largest of each (ties to the smaller index). Compiled by NVRTC after
// a prelude that defines MJ_D, MJ_FP16 and the integer types.
//
// Three passes over key chunks of 1024 (scores are recomputed rather than
// stored: last_q x Lk x heads floats would not fit at long lengths):
// 1. mj_vs_chunk_stats: per chunk and query row, the max score and the sum
//    of exp(score - max).
// 2. mj_vs_row_stats: per row, those combined into the softmax max and sum.
// 3. mj_vs_mass: probabilities, summed per column (each chunk owns its
//    columns) and per diagonal (in shared memory, then one global atomic per
//    diagonal and chunk).
// Then mj_topk_select (topk_select.cuh, compiled with these) chooses per
// head and hands the sets on as bitmaps and sorted lists. A batch is
// estimated in the same launches: a "head" below is a (sequence, head) row,
// b * heads + h, and every output is per row.
//
// Scores come from the tensor cores (mma.sync m16n8k16, fp32 accumulation,
// as the attention kernels compute them): a block of 4 warps holds the 64
// last query rows (16 per warp) in registers and streams the chunk's keys
// through shared memory 64 at a time, double-buffered with cp.async.

#define MJ_EST_KEYS 64                       // keys per step
#define MJ_EST_STEPS 16                      // steps per chunk
#define MJ_EST_CHUNK (MJ_EST_KEYS * MJ_EST_STEPS)
#define MJ_EST_MAX_Q 64
#define MJ_EST_THREADS 128
#define MJ_EST_ROW (MJ_D + 8) // 16-bit elements per shared row: conflict-free ldmatrix
#define MJ_EST_NEG_INF __int_as_float(0xff800000)

struct mj_est_params {
  const uint16_t *q, *k;
  int64_t q_sb, q_ss, q_sh, k_sb, k_ss, k_sh; // element strides
  int lq, lk, heads, kv_heads, last_q, chunks;
  float scale_log2;
  float *chunk_max, *chunk_sum; // [rows][chunks][last_q]
  float *row_max, *row_sum;     // [rows][last_q]
  float *columns;               // [rows][lk]
  float *diagonals;             // [rows][lq + lk - 1], diagonal d at d + lk - 1
};

static __device__ __forceinline__ float mj_est_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

static __device__ __forceinline__ void mj_est_cp16(void *smem, const void *gmem, bool valid) {
  const unsigned s = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem),
               "r"(valid ? 16 : 0));
}
static __device__ __forceinline__ void mj_est_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int N> static __device__ __forceinline__ void mj_est_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

static __device__ __forceinline__ void mj_est_ldmatrix(unsigned (&r)[4], const void *smem) {
  const unsigned s = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(s));
}

static __device__ __forceinline__ void mj_est_mma(float (&c)[4], const unsigned (&a)[4],
                                                  unsigned b0, unsigned b1) {
#if MJ_FP16
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
#else
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
#endif
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

typedef uint16_t mj_est_rows[MJ_EST_KEYS][MJ_EST_ROW];

// 64 rows of a [len][heads][D] tensor from row `first` (rows past `len`
// or past `count` are zeros), asynchronously.
static __device__ __forceinline__ void mj_est_load_rows(mj_est_rows &dst, const uint16_t *src,
                                                        int64_t stride, int first, int count,
                                                        int len) {
  constexpr int kPerRow = MJ_D / 8; // 16-byte pieces
  for (int i = threadIdx.x; i < MJ_EST_KEYS * kPerRow; i += MJ_EST_THREADS) {
    const int r = i / kPerRow, c = 8 * (i % kPerRow), row = first + r;
    const bool valid = r < count && row < len;
    mj_est_cp16(&dst[r][c], valid ? src + (int64_t)row * stride + c : src, valid);
  }
}

// One chunk of keys against the last queries: for each step of 64 keys, the
// scores of this warp's rows (row0 = 16 * warp + lane / 4 and row0 + 8) and
// keys 8j + 2t + e (t = lane % 4) in s[j][2 * half + e], in base 2, -inf
// where causal hides the key or it lies past Lk; `visit(step, s, whole)`
// uses them (whole: no -inf among them, for any lane of the warp).
template <typename Visit>
static __device__ __forceinline__ void mj_est_chunk(const mj_est_params &p, int hb, int chunk,
                                                    Visit &&visit) {
  __shared__ __align__(16) mj_est_rows buf[2];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int seq = hb / p.heads, h = hb % p.heads;
  const int kvh = h / (p.heads / p.kv_heads), q0 = p.lq - p.last_q;
  const int key0 = chunk * MJ_EST_CHUNK;
  const int steps = min(MJ_EST_STEPS, (p.lk - key0 + MJ_EST_KEYS - 1) / MJ_EST_KEYS);
  const uint16_t *kh = p.k + seq * p.k_sb + kvh * p.k_sh;
  // The query rows, once, as A fragments in registers.
  mj_est_load_rows(buf[0], p.q + seq * p.q_sb + h * p.q_sh, p.q_ss, q0, p.last_q, p.lq);
  mj_est_commit();
  mj_est_wait<0>();
  __syncthreads();
  unsigned a[MJ_D / 16][4];
#pragma unroll
  for (int ks = 0; ks < MJ_D / 16; ++ks)
    mj_est_ldmatrix(a[ks], &buf[0][16 * warp + (lane % 8) + 8 * ((lane / 8) % 2)]
                                  [16 * ks + 8 * (lane / 16)]);
  __syncthreads();
  mj_est_load_rows(buf[0], kh, p.k_ss, key0, MJ_EST_KEYS, p.lk);
  mj_est_commit();
  const int row0 = 16 * warp + lane / 4, t = lane % 4;
  for (int st = 0; st < steps; ++st) {
    if (st + 1 < steps) {
      mj_est_load_rows(buf[(st + 1) & 1], kh, p.k_ss, key0 + (st + 1) * MJ_EST_KEYS,
                       MJ_EST_KEYS, p.lk);
      mj_est_commit();
      mj_est_wait<1>();
    } else {
      mj_est_wait<0>();
    }
    __syncthreads();
    const mj_est_rows &kb = buf[st & 1];
    float s[MJ_EST_KEYS / 8][4];
#pragma unroll
    for (int j = 0; j < MJ_EST_KEYS / 8; ++j) {
      s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
#pragma unroll
      for (int ks = 0; ks < MJ_D / 16; ks += 2) {
        unsigned b[4];
        mj_est_ldmatrix(b, &kb[8 * j + (lane % 8)][16 * ks + 8 * (lane / 8)]);
        mj_est_mma(s[j], a[ks], b[0], b[1]);
        mj_est_mma(s[j], a[ks + 1], b[2], b[3]);
      }
    }
    // Causal, bottom-right: query q sees keys up to q + Lk - Lq. A step
    // every row of the warp sees whole (all but the last ones) needs no
    // test per score.
    const int kFirst = key0 + st * MJ_EST_KEYS;
    const bool whole = 16 * warp + 16 <= p.last_q && kFirst + MJ_EST_KEYS <= p.lk &&
                       kFirst + MJ_EST_KEYS - 1 <= q0 + (p.lk - p.lq);
#pragma unroll
    for (int j = 0; j < MJ_EST_KEYS / 8; ++j)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int row = row0 + 8 * (i / 2);
        const int key = kFirst + 8 * j + 2 * t + (i % 2);
        const bool ok =
            whole || (row < p.last_q && key < p.lk && key <= q0 + row + (p.lk - p.lq));
        s[j][i] = ok ? s[j][i] * p.scale_log2 : MJ_EST_NEG_INF;
      }
    visit(st, s, whole);
    __syncthreads(); // before the buffer is loaded again
  }
}

// Per chunk and row: the max score and the sum of exp2(score - max).
// (Two blocks per SM at least: without the hint, ptxas for sm_90a aims at
// more and spills.)
extern "C" __global__ void __launch_bounds__(MJ_EST_THREADS, 2)
    mj_vs_chunk_stats(const mj_est_params p) {
  const int chunk = blockIdx.x, h = blockIdx.y, lane = threadIdx.x % 32;
  float mx0 = MJ_EST_NEG_INF, mx1 = MJ_EST_NEG_INF, sum0 = 0.f, sum1 = 0.f;
  auto update = [](const float (&s)[MJ_EST_KEYS / 8][4], int half, float &mx, float &sum) {
    float m = MJ_EST_NEG_INF;
#pragma unroll
    for (int j = 0; j < MJ_EST_KEYS / 8; ++j)
      m = fmaxf(m, fmaxf(s[j][2 * half], s[j][2 * half + 1]));
    m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 1));
    m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 2));
    if (m == MJ_EST_NEG_INF)
      return;
    const float nm = fmaxf(mx, m);
    float acc = mx == MJ_EST_NEG_INF ? 0.f : sum * mj_est_exp2(mx - nm);
#pragma unroll
    for (int j = 0; j < MJ_EST_KEYS / 8; ++j)
      acc += mj_est_exp2(s[j][2 * half] - nm) + mj_est_exp2(s[j][2 * half + 1] - nm);
    sum = acc;
    mx = nm;
  };
  mj_est_chunk(p, h, chunk, [&](int, float (&s)[MJ_EST_KEYS / 8][4], bool) {
    update(s, 0, mx0, sum0);
    update(s, 1, mx1, sum1);
  });
  float mx[2] = {mx0, mx1}, sum[2] = {sum0, sum1};
  // The four lanes of a row share its max: their sums add up.
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    sum[half] += __shfl_xor_sync(0xffffffffu, sum[half], 1);
    sum[half] += __shfl_xor_sync(0xffffffffu, sum[half], 2);
    const int row = 16 * (threadIdx.x / 32) + lane / 4 + 8 * half;
    if (lane % 4 == 0 && row < p.last_q) {
      const int64_t at = ((int64_t)h * p.chunks + chunk) * p.last_q + row;
      p.chunk_max[at] = mx[half];
      p.chunk_sum[at] = sum[half];
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

// One level of a warp's reduce-scatter: of v[0, 2H), this lane keeps the
// upper half when `upper` (else the lower one), adds the partner's (lane ^
// xor) copy of it, and leaves the result in v[0, H).
template <int H>
static __device__ __forceinline__ void mj_est_halve(float *v, bool upper, int xor_mask) {
#pragma unroll
  for (int k = 0; k < H; ++k) {
    const float send = upper ? v[k] : v[k + H], keep = upper ? v[k + H] : v[k];
    v[k] = keep + __shfl_xor_sync(0xffffffffu, send, xor_mask);
  }
}

// Probabilities, summed per column and per diagonal over the last rows.
extern "C" __global__ void __launch_bounds__(MJ_EST_THREADS, 2) mj_vs_mass(const mj_est_params p) {
  // Diagonal slot of (row, local key kk): row - kk + MJ_EST_CHUNK - 1.
  __shared__ float sCol[MJ_EST_CHUNK], sDiag[MJ_EST_MAX_Q + MJ_EST_CHUNK - 1];
  const int chunk = blockIdx.x, h = blockIdx.y, tid = threadIdx.x, lane = tid % 32;
  const int warp = tid / 32, t = lane % 4, row0 = 16 * warp + lane / 4;
  for (int i = tid; i < MJ_EST_CHUNK; i += MJ_EST_THREADS)
    sCol[i] = 0.f;
  for (int i = tid; i < MJ_EST_MAX_Q + MJ_EST_CHUNK - 1; i += MJ_EST_THREADS)
    sDiag[i] = 0.f;
  float m[2], inv[2];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = min(row0 + 8 * half, p.last_q - 1);
    m[half] = p.row_max[h * p.last_q + row];
    const float l = p.row_sum[h * p.last_q + row];
    inv[half] = l > 0.f ? 1.f / l : 0.f;
  }
  // (mj_est_chunk's first barrier orders the zeroing above.)
  mj_est_chunk(p, h, chunk, [&](int st, float (&s)[MJ_EST_KEYS / 8][4], bool whole) {
    // Diagonals: row0 - kk and row0 + 8 - kk meet where kk differs by 8,
    // so the thread's 32 values fall on 18 diagonals: summed here first.
    float diag[MJ_EST_KEYS / 8 + 1][2];
#pragma unroll
    for (int j = 0; j <= MJ_EST_KEYS / 8; ++j)
      diag[j][0] = diag[j][1] = 0.f;
    float col[MJ_EST_KEYS / 4]; // key 8j + 2t + e at 2j + e
#pragma unroll
    for (int j = 0; j < MJ_EST_KEYS / 8; ++j) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        // (-inf scores are 0; a row that sees no key has m = -inf.)
        float pa = mj_est_exp2(s[j][e] - m[0]) * inv[0];
        float pb = mj_est_exp2(s[j][2 + e] - m[1]) * inv[1];
        if (!whole) {
          pa = s[j][e] == MJ_EST_NEG_INF ? 0.f : pa;
          pb = s[j][2 + e] == MJ_EST_NEG_INF ? 0.f : pb;
        }
        diag[j + 1][e] += pa; // row0 - (8j + 2t + e)
        diag[j][e] += pb;     // row0 + 8 - (8j + 2t + e) = row0 - (8(j - 1) + 2t + e)
        col[2 * j + e] = pa + pb;
      }
    }
    // Columns: the 8 lanes of equal t (g = lane / 4 = 0..7) hold the same
    // 16 keys; summed by a reduce-scatter (halves exchanged across lane
    // bits 4, 3, 2: 14 shuffles), after which lane (g, t) holds keys
    // 8g + 2t + e, whole over the warp's 16 rows.
    mj_est_halve<8>(col, lane & 16, 16);
    mj_est_halve<4>(col, lane & 8, 8);
    mj_est_halve<2>(col, lane & 4, 4);
    atomicAdd(&sCol[st * MJ_EST_KEYS + 8 * (lane / 4) + 2 * t], col[0]);
    atomicAdd(&sCol[st * MJ_EST_KEYS + 8 * (lane / 4) + 2 * t + 1], col[1]);
    // Lanes (g, t), (g + 2, t + 1), ... (g = lane / 4) hold the same
    // diagonals in the same registers: summed down the chain (lane + 9,
    // lane + 18, lane + 27) so that one atomic instruction never hits a
    // slot twice.
    const int g = lane / 4;
    const bool head = g < 2 || t == 0;
#pragma unroll
    for (int j = 0; j <= MJ_EST_KEYS / 8; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        float x = diag[j][e];
        const float y = __shfl_down_sync(0xffffffffu, x, 9);
        if (g + 2 <= 7 && t + 1 <= 3)
          x += y;
        const float z = __shfl_down_sync(0xffffffffu, x, 18);
        if (g + 4 <= 7 && t + 2 <= 3)
          x += z;
        if (head && x != 0.f) // kk = st * 64 + 8 * (j - 1) + 2t + e
          atomicAdd(&sDiag[row0 - (st * MJ_EST_KEYS + 8 * (j - 1) + 2 * t + e) +
                           MJ_EST_CHUNK - 1],
                    x);
      }
  });
  __syncthreads();
  const int key0 = chunk * MJ_EST_CHUNK, q0 = p.lq - p.last_q;
  for (int i = tid; i < MJ_EST_CHUNK; i += MJ_EST_THREADS)
    if (key0 + i < p.lk)
      p.columns[(int64_t)h * p.lk + key0 + i] = sCol[i];
  for (int i = tid; i < MJ_EST_MAX_Q + MJ_EST_CHUNK - 1; i += MJ_EST_THREADS) {
    const float v = sDiag[i];
    if (v == 0.f)
      continue;
    const int64_t d = (int64_t)q0 - key0 + i - (MJ_EST_CHUNK - 1); // q - k
    atomicAdd(&p.diagonals[(int64_t)h * (p.lq + p.lk - 1) + d + p.lk - 1], v);
  }
}
