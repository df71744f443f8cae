// maskjit attention forward kernel (portable path, sm_80+).
//
// FlashAttention-2 style: one CTA per (query tile of MASKJIT_TILE_M rows,
// head, batch), one warp per 16 query rows (4 or 8 warps). K/V tiles of 64 keys are
// double-buffered in shared memory with cp.async; S = Q K^T and O += P V
// run on mma.sync m16n8k16 with fp32 accumulation; softmax is online, in
// base 2. The KV schedule decides which key tiles are visited: FULL tiles
// run no predicate, PARTIAL tiles evaluate the generated predicate per
// element, EMPTY tiles are never loaded, and GATHER keys are loaded by
// index into dense tiles. Rows with no allowed key get O = 0, LSE = -inf.
//
// It follows attention_common.cuh and mma_sync.cuh in the generated source.

#ifndef MASKJIT_TILE_M
#define MASKJIT_TILE_M 64
#endif
#define MJ_BM MASKJIT_TILE_M // 16 query rows per warp
#define MJ_BN 64
#define MJ_THREADS (MJ_BM * 2)
#define MJ_ROW (MJ_D + 8) // Padded shared-memory row, in elements.

extern "C" __global__ void __launch_bounds__(MJ_THREADS)
    maskjit_attention_fwd(const maskjit_params p) {
  extern __shared__ __align__(16) uint16_t mj_shared[];
  uint16_t *sQ = mj_shared;
  uint16_t *sK = sQ + MJ_BM * MJ_ROW;
  uint16_t *sV = sK + 2 * MJ_BN * MJ_ROW;
  __shared__ int sKey[2][MJ_BN];

  // blockIdx.x: the query tile, then (dilated patterns) the class of
  // positions.
  const int qt = blockIdx.x % p.num_q_tiles, cls = blockIdx.x / p.num_q_tiles;
  const int h = blockIdx.y, b = blockIdx.z;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int g = lane / 4, t4 = lane % 4;
  const int kvh = h / (p.heads / p.kv_heads);
  const int q0 = qt * MJ_BM;
  const uint16_t *Qg = p.q + b * p.q_sb + h * p.q_sh;
  const uint16_t *Kg = p.k + b * p.k_sb + kvh * p.k_sh;
  const uint16_t *Vg = p.v + b * p.v_sb + kvh * p.v_sh;

  // This query tile's schedule.
  mj_schedule sched(p, h, b, qt, MJ_BN, cls);
  const int numItems = sched.num_items;
  auto itemKind = [&](int item, int &tile) { return sched.item(item, tile); };
  auto keyOf = [&](int kind, int tile, int r) { return sched.key(kind, tile, r); };
  // The kind and tile of the item loaded last (items are loaded in order,
  // one ahead of the one computed).
  int loadedKind = 0, loadedTile = 0;
  auto loadKV = [&](int item, int stage) {
    int tile;
    int kind = itemKind(item, tile);
    loadedKind = kind;
    loadedTile = tile;
    if (tid < MJ_BN)
      sKey[stage][tid] = sched.entry(kind, tile, tid);
    constexpr int chunks = MJ_D / 8; // 16-byte pieces per row
    for (int c = tid; c < MJ_BN * chunks; c += MJ_THREADS) {
      int r = c / chunks, col = (c % chunks) * 8;
      int key = keyOf(kind, tile, r);
      bool ok = key >= 0;
      int64_t kk = ok ? key : 0;
      mj_cp_async16(sK + stage * MJ_BN * MJ_ROW + r * MJ_ROW + col,
                    Kg + kk * p.k_ss + col, ok);
      mj_cp_async16(sV + stage * MJ_BN * MJ_ROW + r * MJ_ROW + col,
                    Vg + kk * p.v_ss + col, ok);
    }
  };

  // Q tile (rows past Lq are zero).
  {
    constexpr int chunks = MJ_D / 8;
    for (int c = tid; c < MJ_BM * chunks; c += MJ_THREADS) {
      int r = c / chunks, col = (c % chunks) * 8;
      const int q = sched.query(q0 + r);
      bool ok = q < p.lq;
      int64_t qq = ok ? q : 0;
      mj_cp_async16(sQ + r * MJ_ROW + col, Qg + qq * p.q_ss + col, ok);
    }
  }
  if (numItems > 0)
    loadKV(0, 0);
  mj_cp_commit();

  float o[MJ_D / 8][4];
#pragma unroll
  for (int i = 0; i < MJ_D / 8; ++i)
    o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float m[2] = {mj_neg_inf(), mj_neg_inf()}, l[2] = {0.f, 0.f};
  unsigned qa[MJ_D / 16][4];
  const int row0 = sched.query(q0 + warp * 16 + g), row1 = sched.query(q0 + warp * 16 + g + 8);

  for (int item = 0; item < numItems; ++item) {
    const int stage = item & 1;
    const int kind = loadedKind, tile = loadedTile;
    if (item + 1 < numItems) {
      loadKV(item + 1, stage ^ 1);
      mj_cp_commit();
      mj_cp_wait<1>();
    } else {
      mj_cp_wait<0>();
    }
    __syncthreads();
    if (item == 0) {
#pragma unroll
      for (int kk = 0; kk < MJ_D / 16; ++kk)
        mj_ldsm_x4(qa[kk], sQ + (warp * 16 + lane % 16) * MJ_ROW + kk * 16 + (lane / 16) * 8);
    }
    const uint16_t *k_s = sK + stage * MJ_BN * MJ_ROW;
    const uint16_t *v_s = sV + stage * MJ_BN * MJ_ROW;

    // S = Q K^T for this warp's 16 rows and the 64 keys.
    float s[MJ_BN / 8][4];
#pragma unroll
    for (int j = 0; j < MJ_BN / 8; ++j)
      s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < MJ_D / 16; ++kk) {
#pragma unroll
      for (int j = 0; j < MJ_BN / 16; ++j) {
        unsigned bk[4];
        mj_ldsm_x4(bk, k_s + (j * 16 + (lane % 8) + (lane / 16) * 8) * MJ_ROW + kk * 16 +
                           ((lane / 8) % 2) * 8);
        mj_mma(s[2 * j], qa[kk], bk[0], bk[1]);
        mj_mma(s[2 * j + 1], qa[kk], bk[2], bk[3]);
      }
    }

    // Mask: keys out of range always; on PARTIAL tiles the row mask when
    // the pattern has one, else the predicate, as on gathered keys that not
    // every row may see.
    bool masked = false;
#ifdef MASKJIT_ROW_MASK
    if (kind == 0) {
      masked = true;
      uint32_t rowBits[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        uint32_t words[MJ_BN / 32];
        const int64_t k0 = (int64_t)tile * MJ_BN;
        maskjit_row_mask<MJ_BN / 32>(r == 0 ? row0 : row1, k0, h, b, p.lq, p.lk, &p.args,
                                     words);
        mj_rm_keep_range(words, k0, 0, p.lk - 1);
        rowBits[r] = mj_rm_thread_bits(words, t4);
      }
#pragma unroll
      for (int j = 0; j < MJ_BN / 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          s[j][e] = (rowBits[e >> 1] >> (2 * j + (e & 1))) & 1u ? s[j][e] * p.scale_log2
                                                                 : mj_neg_inf();
    }
#endif
    if (!masked)
#pragma unroll
    for (int j = 0; j < MJ_BN / 8; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int col = j * 8 + 2 * t4 + (e & 1);
        // Full tiles and gathered keys all rows may see skip the predicate.
        const int entry = sKey[stage][col], key = mj_entry_key(entry);
        const int row = e < 2 ? row0 : row1;
        bool ok = key >= 0;
        if (ok && kind != 1 && (kind != 2 || entry < 0))
          ok = MASKJIT_ALLOWED(row, key, h, b, p.lq, p.lk, &p.args);
        s[j][e] = ok ? s[j][e] * p.scale_log2 : mj_neg_inf();
      }
    }

    // Online softmax, base 2; rows are shared by the 4 threads of a quad.
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float mx = mj_neg_inf();
#pragma unroll
      for (int j = 0; j < MJ_BN / 8; ++j)
        mx = fmaxf(mx, fmaxf(s[j][2 * r], s[j][2 * r + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 2));
      const float mNew = fmaxf(m[r], mx);
      // A row with nothing allowed so far keeps m = -inf: no rescale.
      const float base = mNew == mj_neg_inf() ? 0.f : mNew;
      const float alpha = mj_exp2(m[r] - base);
      float sum = 0.f;
#pragma unroll
      for (int j = 0; j < MJ_BN / 8; ++j) {
        s[j][2 * r] = mj_exp2(s[j][2 * r] - base);
        s[j][2 * r + 1] = mj_exp2(s[j][2 * r + 1] - base);
        sum += s[j][2 * r] + s[j][2 * r + 1];
      }
      l[r] = l[r] * alpha + sum;
      m[r] = mNew;
#pragma unroll
      for (int i = 0; i < MJ_D / 8; ++i) {
        o[i][2 * r] *= alpha;
        o[i][2 * r + 1] *= alpha;
      }
    }

    // O += P V, P taken from the S accumulators as A fragments.
#pragma unroll
    for (int j = 0; j < MJ_BN / 16; ++j) {
      unsigned pa[4];
      pa[0] = mj_pack(s[2 * j][0], s[2 * j][1]);
      pa[1] = mj_pack(s[2 * j][2], s[2 * j][3]);
      pa[2] = mj_pack(s[2 * j + 1][0], s[2 * j + 1][1]);
      pa[3] = mj_pack(s[2 * j + 1][2], s[2 * j + 1][3]);
#pragma unroll
      for (int dp = 0; dp < MJ_D / 16; ++dp) {
        unsigned bv[4];
        mj_ldsm_x4_t(bv, v_s + (j * 16 + (lane % 8) + ((lane / 8) % 2) * 8) * MJ_ROW +
                             dp * 16 + (lane / 16) * 8);
        mj_mma(o[2 * dp], pa, bv[0], bv[1]);
        mj_mma(o[2 * dp + 1], pa, bv[2], bv[3]);
      }
    }
    __syncthreads(); // This stage is refilled by the next prefetch.
  }

  // Epilogue: normalize, write O and LSE.
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffff, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffff, l[r], 2);
  }
  uint16_t *Og = p.o + b * p.o_sb + h * p.o_sh;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = r == 0 ? row0 : row1;
    if (row >= p.lq)
      continue;
    const bool any = l[r] > 0.f;
    const float inv = any ? 1.f / l[r] : 0.f;
    uint16_t *orow = Og + (int64_t)row * p.o_ss;
#pragma unroll
    for (int i = 0; i < MJ_D / 8; ++i) {
      const int col = i * 8 + 2 * t4;
      *reinterpret_cast<unsigned *>(orow + col) =
          mj_pack(o[i][2 * r] * inv, o[i][2 * r + 1] * inv);
    }
    if (t4 == 0)
      p.lse[((int64_t)b * p.heads + h) * p.lq + row] =
          any ? m[r] * 0.69314718055994531f + logf(l[r]) : mj_neg_inf();
  }
}
