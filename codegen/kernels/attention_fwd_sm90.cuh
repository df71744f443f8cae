// maskjit attention forward kernel, Hopper path (sm_90a).
//
// A work is one (query tile of BM rows, head, batch); a CTA runs it with one
// consumer warpgroup of 128 threads per 64 query rows, plus, on square
// tiles, a producer warpgroup that loads (see MJ_WS below). S = Q K^T and
// O += P V run on wgmma (64 x BN x 16 and 64 x D x 16 per instruction,
// fp32 accumulators in registers): Q and K are read from shared memory through matrix descriptors,
// P goes from the S accumulators straight into A registers, V is read N-major
// (transposed by the tensor cores). K/V tiles of BN keys are copied by the
// tensor memory accelerator (TMA, one thread issues the copy, an mbarrier per
// stage says when it landed) into three stages; GATHER keys are loaded by
// index with cp.async into the same dense tiles. Shared tiles use the
// 128-byte swizzle wgmma expects: a [rows][D] tile is stored as D/64 blocks
// of [rows][64], and 16-byte chunk c of row r sits at chunk c ^ (r % 8) of
// its 128-byte line, so neither cp.async writes nor tensor core reads collide
// on banks.
//
// The schedule is the portable kernel's (FULL tiles skip the predicate,
// EMPTY tiles are never loaded). The grid is persistent (as many CTAs as
// fit on the SMs at once): each CTA runs a sequence of (query tile, head,
// batch) works, heaviest query tiles first, and loads the next work's Q and
// first key tile while it writes the current output (with a producer
// warpgroup: as soon as a stage is free). Rows with no allowed key get
// O = 0, LSE = -inf.
//
// It follows attention_common.cuh and wgmma.cuh in the generated source.

// Three shapes: 128 x 128 tiles, two consumer warpgroups, one CTA per SM
// (the default); 64 x 64 tiles, one consumer warpgroup, two CTAs per SM
// (each with its producer warpgroup unless dilated), for patterns
// whose selections come in blocks of 64 (block top-k), where a 128 x 128
// tile would mostly hold pairs nobody chose; or 128 x 64 tiles, two
// warpgroups over two neighbouring query blocks of 64 that share the key
// tiles they both chose (each tile of the union is loaded once), where a
// warpgroup skips the items none of its rows may see (MJ_SKIP). The
// prelude says which.
#define MJ_BM MASKJIT_TILE_M
#define MJ_BN MASKJIT_TILE_N
#if !((MJ_BM == 128 && MJ_BN == 128) || (MJ_BM == 64 && MJ_BN == 64) ||                        \
      (MJ_BM == 128 && MJ_BN == 64))
#error "the Hopper kernel runs 128x128, 64x64 or 128x64 tiles"
#endif
#define MJ_SKIP (MJ_BM == 128 && MJ_BN == 64)
// Square tiles that are not dilated (64 x 64 and 128 x 128) run warp
// specialized: a producer warpgroup (one warp of it works, on few
// registers) claims works, reads their schedules and loads Q and the K/V
// stages; the consumer warpgroups (one per 64 query rows) only compute,
// waiting on a stage's `full` mbarrier and releasing it on its `empty` one.
// The hand-over between works (about three items' time per work for block
// top-k keep 16 on 64 x 64 tiles in one warpgroup, mostly the next
// schedule's dependent loads: bench/RESULTS.md, sessions 9-10) is the
// producer's, off the tensor cores' path, and the loads leave the
// consumers' instruction stream, as in FlashAttention 3. Measured on the
// H100 (32k, session 11): dense 128 x 128 500 -> 647 useful TFLOP/s, dense
// 64 x 64 425 -> 517, block top-k keep 16 of 64 1.47 -> 1.26 ms. Main loop:
// attention_fwd_sm90_ws.cuh, spliced into the kernel's body at build time.
// The 128 x 64 and dilated kernels keep the one-warpgroup-per-64-rows loop
// below. (Kernel experiments are patches, not switches here:
// bench/experiments/.)
#if MJ_BM == MJ_BN && MASKJIT_DILATION == 1
#define MJ_WS 1
#define MJ_WS_CONSUMERS (MJ_BM * 2) // consumer threads
#define MJ_THREADS (MJ_WS_CONSUMERS + 128)
// setmaxnreg moves registers within a CTA's allocation (the launch's
// count, from the launch bounds, times its threads; multiples of 8): 64 x
// 64 runs two CTAs of 256 threads at 128 (the SM's 64K), 128 producer
// threads go to 40 and 128 consumers to 216; 128 x 128 one CTA of 384 at
// 168, 128 producers to 32 and 256 consumers to 232.
#if MJ_BM == 64
#define MJ_WS_PRODUCER_REGS 40
#define MJ_WS_CONSUMER_REGS 216
#else
#define MJ_WS_PRODUCER_REGS 32
#define MJ_WS_CONSUMER_REGS 232
#endif
// (More than the launch gave would block setmaxnreg.inc for ever.)
static_assert(128 * MJ_WS_PRODUCER_REGS + MJ_WS_CONSUMERS * MJ_WS_CONSUMER_REGS <=
                  MJ_THREADS * (65536 / (MJ_THREADS * (MJ_BM == 64 ? 2 : 1)) / 8 * 8),
              "warp specialization: registers moved beyond the CTA's allocation");
#else
#define MJ_WS 0
#define MJ_THREADS (MJ_BM * 2) // a warpgroup per 64 query rows
#endif
#define MJ_CTAS_PER_SM (MJ_BM == 64 ? 2 : 1)
#define MJ_STAGES 3 // K/V stages in shared memory
#define MJ_Q_BYTES (MJ_BM * MJ_D * 2)
#define MJ_KV_BYTES (MJ_BN * MJ_D * 2)
#define MJ_TILE_BYTES (MJ_Q_BYTES + 2 * MJ_STAGES * MJ_KV_BYTES)
// Each thread's two rows hold MJ_BN / 4 (query, key) pairs of an item.
#define MJ_ALL_BITS (MJ_BN == 128 ? 0xffffffffu : 0xffffu)

// S (64 x BN) = Q (64 x 16) K^T (16 x BN), both from shared memory.
static __device__ __forceinline__ void mj_wgmma_s(float (&s)[MJ_BN / 2], uint64_t da,
                                                  uint64_t db, int accumulate) {
#if MJ_BN == 128
  mj_wgmma_ss_n128(s, da, db, accumulate);
#else
  mj_wgmma_ss_n64(s, da, db, accumulate);
#endif
}

// Byte offset of 16-byte chunk `c8` of row `r` in a swizzled [rows][D] tile.
static __device__ __forceinline__ unsigned mj_swizzle(int rows, int r, int c8) {
  return (c8 >> 3) * rows * 128 + r * 128 + (((c8 & 7) ^ (r & 7)) << 4);
}

// A wgmma shared-memory matrix descriptor with the 128-byte swizzle.
// `lbo`: bytes between 64-element blocks along M/N (N-major operands only);
// `sbo`: bytes between groups of 8 rows.
static __device__ __forceinline__ uint64_t mj_desc(unsigned addr, unsigned lbo,
                                                   unsigned sbo) {
  return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)(lbo >> 4) << 16) |
         ((uint64_t)(sbo >> 4) << 32) | (1ull << 62);
}

// The K and V tensor maps (CUtensorMap), passed as a __grid_constant__
// kernel parameter.
struct mj_tensor_maps {
  __align__(64) unsigned char k[128];
  __align__(64) unsigned char v[128];
};

static __device__ __forceinline__ void mj_mbar_init(unsigned bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
static __device__ __forceinline__ void mj_mbar_expect_tx(unsigned bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar),
               "r"(bytes)
               : "memory");
}
#if MJ_WS
static __device__ __forceinline__ void mj_mbar_arrive(unsigned bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// One of the mbarrier's expected arrivals, made when this thread's earlier
// cp.async copies have landed.
static __device__ __forceinline__ void mj_cp_arrive_noinc(unsigned bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
}
// Named barriers (0 is __syncthreads'): wait until `count` threads have
// arrived or synced; arrive without waiting.
// (Immediate ids: a register id makes ptxas reserve all 16 barriers.)
template <int Id, int Count> static __device__ __forceinline__ void mj_named_sync() {
  asm volatile("bar.sync %0, %1;\n" ::"n"(Id), "n"(Count) : "memory");
}
template <int Id, int Count> static __device__ __forceinline__ void mj_named_arrive() {
  asm volatile("bar.arrive %0, %1;\n" ::"n"(Id), "n"(Count) : "memory");
}
// Waits for the phase of the given parity; the retry loop inside the asm.
static __device__ __forceinline__ void mj_mbar_wait_loop(unsigned bar, unsigned parity) {
  asm volatile("{\n.reg .pred p;\nMJ_WAIT:\n"
               "mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
               "@!p bra MJ_WAIT;\n}\n" ::"r"(bar),
               "r"(parity)
               : "memory");
}
#endif
static __device__ __forceinline__ void mj_mbar_wait(unsigned bar, unsigned parity) {
  unsigned done = 0;
  while (!done)
    asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
                 "selp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done)
                 : "r"(bar), "r"(parity)
                 : "memory");
}
// One box of a 4-D tensor map into shared memory, completing on `bar`.
static __device__ __forceinline__ void mj_tma_load(unsigned dst, const void *map, unsigned bar,
                                                   int c0, int c1, int c2, int c3) {
  asm volatile("cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes"
               " [%0], [%1, {%3, %4, %5, %6}], [%2];\n" ::"r"(dst),
               "l"(map), "r"(bar), "r"(c0), "r"(c1), "r"(c2), "r"(c3)
               : "memory");
}

static __device__ __forceinline__ void mj_wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
static __device__ __forceinline__ void mj_wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
template <int N> static __device__ __forceinline__ void mj_wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Makes shared memory written through the generic proxy (cp.async) visible
// to the tensor cores' async proxy.
// Whether `v` holds for any of the 128 threads meeting at named barrier
// `Bar` (__syncthreads uses barrier 0).
template <int Bar> static __device__ __forceinline__ bool mj_bar_red_or(bool v) {
  unsigned r;
  asm volatile("{\n.reg .pred p, q;\nsetp.ne.u32 p, %1, 0;\n"
               "bar.red.or.pred q, %2, 128, p;\nselp.u32 %0, 1, 0, q;\n}\n"
               : "=r"(r)
               : "r"(v ? 1u : 0u), "n"(Bar)
               : "memory");
  return r != 0;
}
// Whether `v` holds for any thread of warpgroup `wg` (barrier 1 or 2). The
// closing warp vote tells ptxas the answer is the same across the warp, so
// that a branch on it around wgmma is not divergent (which would make it
// serialize every wgmma).
static __device__ __forceinline__ bool mj_warpgroup_any(bool v, int wg) {
  return __any_sync(0xffffffffu, wg == 0 ? mj_bar_red_or<1>(v) : mj_bar_red_or<2>(v));
}
static __device__ __forceinline__ void mj_fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// Keeps the compiler from moving register reads or writes of in-flight
// wgmma operands across the wait that completes them.
template <int N> static __device__ __forceinline__ void mj_fence_operands(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i)
    asm volatile("" : "+f"(r[i])::"memory");
}

// O (64 x D) += P (64 x 16, registers) V (16 x D, N-major in shared memory).
static __device__ __forceinline__ void mj_wgmma_pv(float (&o)[MJ_D / 2],
                                                   const unsigned (&a)[4], uint64_t db) {
#if MJ_D == 128
  mj_wgmma_rs_n128(o, a, db);
#else
  mj_wgmma_rs_n64(o, a, db);
#endif
}


extern "C" __global__ void __launch_bounds__(MJ_THREADS, MJ_CTAS_PER_SM)
    maskjit_attention_fwd(const maskjit_params p, const __grid_constant__ mj_tensor_maps tm) {
  // All shared memory is dynamic: the tiles, then the small arrays below.
  // Swizzle atoms must be 1024-byte aligned. The 128 x 128 launch adds 1
  // KiB of slack; the 64 x 64 one cannot afford it (two CTAs share an SM's
  // 228 KiB) and relies on dynamic shared memory starting aligned, which it
  // does when a kernel has no static shared memory.
  extern __shared__ __align__(1024) unsigned char mj_shared[];
  const unsigned raw = mj_smem(mj_shared);
  const unsigned base = (raw + 1023u) & ~1023u;
#if MJ_BM == 64
  if (base != raw)
    __trap();
#endif
  unsigned char *const gbase = mj_shared + (base - raw);
  // TMA completion per stage; the next work, double-buffered; kind and
  // tile of each stage's item, and whether every row may see all its keys
  // (a gathered chunk of full keys: no mask); each stage's gathered keys.
  uint64_t *const sBar = reinterpret_cast<uint64_t *>(gbase + MJ_TILE_BYTES);
#if MJ_WS
  // Ten mbarriers (full and empty per stage, Q full and empty, work full
  // and empty), the stages' items, the work slot (work, items); the
  // gathered keys from byte 128, as without it.
  int(*const sItem)[3] = reinterpret_cast<int(*)[3]>(sBar + 10);
  int *const sWork = sItem[MJ_STAGES];
  int(*const sKey)[MJ_BN] = reinterpret_cast<int(*)[MJ_BN]>(sBar + 16);
#else
  int *const sNext =
      reinterpret_cast<int *>(sBar + MJ_STAGES);
  int(*const sItem)[3] = reinterpret_cast<int(*)[3]>(sNext + 2);
  int(*const sKey)[MJ_BN] = reinterpret_cast<int(*)[MJ_BN]>(sNext + 2 + 3 * MJ_STAGES);
#endif
  const unsigned sQ = base, sK = base + MJ_Q_BYTES, sV = sK + MJ_STAGES * MJ_KV_BYTES;
  unsigned char *const gQ = gbase;
  unsigned char *const gK = gbase + MJ_Q_BYTES;
  unsigned char *const gV = gK + MJ_STAGES * MJ_KV_BYTES;

  const int tid = threadIdx.x, wg = tid / 128, lane = tid % 32;
  const int warp = (tid % 128) / 32, g = lane / 4, t4 = lane % 4;
  // Persistent: a CTA starts with work blockIdx.x and then takes the next
  // untaken one from a counter, claimed as it starts the one before (so
  // CTAs with light works take more of them). A work is one (query tile,
  // head, batch); query tiles vary fastest, so the CTAs running at once share a head's K/V in L2, and each
  // head's last query tiles (the heaviest in causal patterns) come first.
  // A dilated pattern's works are per class of positions too (see
  // mj_schedule).
  const int classTiles = p.num_q_tiles * MASKJIT_DILATION;
  const int totalWork = classTiles * p.heads * p.batch;
  int work = blockIdx.x;
  if (work >= totalWork) {
    return;
  }
  int qt, cls, h, b, kvh;
  auto decode = [&](int w) {
    qt = p.num_q_tiles - 1 - w % p.num_q_tiles;
    cls = (w / p.num_q_tiles) % MASKJIT_DILATION;
    h = (w / classTiles) % p.heads;
    b = w / (classTiles * p.heads);
    kvh = h / (p.heads / p.kv_heads);
  };
  decode(work);
  mj_schedule sched(p, h, b, qt, MJ_BN, cls);
  int q0 = qt * MJ_BM;
  const uint16_t *Kg = p.k + b * p.k_sb + kvh * p.k_sh;
  const uint16_t *Vg = p.v + b * p.v_sb + kvh * p.v_sh;

  constexpr int chunks = MJ_D / 8; // 16-byte pieces per row
  const unsigned bar0 = mj_smem(&sBar[0]);
  // Key tiles: one thread hands the copy to the TMA. The box is 64 columns
  // (one 128-byte swizzled line) by 128 keys; rows past Lk read as zero.
  // (Issued by one thread: the K and V tiles of key tile `tile` into
  // `stage`, completing on `bar` with their bytes.)
  auto tmaTile = [&](int tile, int stage, unsigned bar) {
    mj_mbar_expect_tx(bar, 2 * MJ_KV_BYTES);
    int c[4] = {0, 0, 0, 0};
    const int row = tile * MJ_BN;
    c[1] = p.tma_seq_dim == 1 ? row : p.tma_head_dim == 1 ? kvh : b;
    c[2] = p.tma_seq_dim == 2 ? row : p.tma_head_dim == 2 ? kvh : b;
    c[3] = p.tma_seq_dim == 3 ? row : p.tma_head_dim == 3 ? kvh : b;
#pragma unroll
    for (int blk = 0; blk < MJ_D / 64; ++blk) {
      const unsigned off = stage * MJ_KV_BYTES + blk * MJ_BN * 128;
      mj_tma_load(sK + off, tm.k, bar, blk * 64, c[1], c[2], c[3]);
      mj_tma_load(sV + off, tm.v, bar, blk * 64, c[1], c[2], c[3]);
    }
  };
  auto loadTile = [&](int item, int stage) {
    if (tid != 0)
      return;
    int tile;
    const int kind = sched.item(item, tile);
    sItem[stage][0] = kind;
    sItem[stage][1] = tile;
    sItem[stage][2] = MASKJIT_TILE_BITS ? sched.bits_slot(kind, tile) : -1;
    tmaTile(tile, stage, bar0 + stage * 8);
  };
  // Gathered keys: every thread copies 16-byte pieces of the rows. So do
  // a dilated pattern's tiles (every d-th key: not a TMA box).
  auto loadKV = [&](int item, int stage) {
    if (MASKJIT_DILATION == 1 && item < sched.num_tiles) {
      loadTile(item, stage);
      return;
    }
    int tile;
    const int kind = sched.item(item, tile);
    if (tid < MJ_BN)
      sKey[stage][tid] = sched.entry(kind, tile, tid);
    if (tid == 0) {
      sItem[stage][0] = kind;
      sItem[stage][1] = tile;
      // Full keys come first in a query tile's list.
      sItem[stage][2] = sched.entry(kind, tile, MJ_BN - 1) >= 0;
    }
    // Each thread copies one 16-byte piece of 8 rows; their keys are read
    // first, all at once, rather than one dependent load per copy.
    constexpr int perThread = MJ_BN * chunks / MJ_THREADS;
    int keys[perThread];
#pragma unroll
    for (int i = 0; i < perThread; ++i)
      keys[i] = sched.key(kind, tile, (tid + i * MJ_THREADS) / chunks);
#pragma unroll
    for (int i = 0; i < perThread; ++i) {
      const int c = tid + i * MJ_THREADS;
      const int r = c / chunks, c8 = c % chunks;
      const int key = keys[i];
      const bool ok = key >= 0;
      const int64_t kk = ok ? key : 0;
      const unsigned off = stage * MJ_KV_BYTES + mj_swizzle(MJ_BN, r, c8);
      mj_cp_async16(gK + off, Kg + kk * p.k_ss + c8 * 8, ok);
      mj_cp_async16(gV + off, Vg + kk * p.v_ss + c8 * 8, ok);
    }
  };

  // The Q tile of the current work (rows past Lq are zero).
  auto loadQ = [&] {
    const uint16_t *Qg = p.q + b * p.q_sb + h * p.q_sh;
#pragma unroll 1
    for (int i = 0; i < MJ_BM * chunks / MJ_THREADS; ++i) {
      const int c = tid + i * MJ_THREADS;
      const int r = c / chunks, c8 = c % chunks;
      const int q = sched.query(q0 + r);
      const bool ok = q < p.lq;
      const int64_t qq = ok ? q : 0;
      mj_cp_async16(gQ + mj_swizzle(MJ_BM, r, c8), Qg + qq * p.q_ss + c8 * 8, ok);
    }
  };
#if !MJ_WS
  if (tid == 0) {
#pragma unroll
    for (int i = 0; i < MJ_STAGES; ++i)
      mj_mbar_init(bar0 + i * 8, 1);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();
  loadQ();
  if (sched.num_items > 0)
    loadKV(0, 0);
  mj_cp_commit();
#endif

  float o[MJ_D / 2];
  // Running max (raw scores, unscaled) and sum of each thread's two rows.
  float m[2], l[2];
  int row0, row1;
  const float scale = p.scale_log2;
  // Descriptors of the tiles' first k-step; later steps add their offset
  // (in 16-byte units) to the start address field.
  const uint64_t qDesc0 = mj_desc(sQ + wg * 64 * 128, 16, 1024);
  const uint64_t kDesc0 = mj_desc(sK, 16, 1024);
  const uint64_t vDesc0 = mj_desc(sV, MJ_BN * 128, 1024);

  float s[MJ_BN / 2];      // S, then P, of the current item
  unsigned pa[MJ_BN / 16][4]; // P of the previous item as A fragments

  // S = Q K^T for this warpgroup's 64 rows and the 128 keys of a stage.
  auto issueS = [&](int stage, int qbuf = 0) {
    const uint64_t kDesc = kDesc0 + stage * (MJ_KV_BYTES >> 4);
    const uint64_t qDesc = qDesc0 + qbuf * (MJ_Q_BYTES >> 4);
#pragma unroll
    for (int kk = 0; kk < MJ_D / 16; ++kk) {
      // 16 elements further along the 128-byte line, or the next block.
      const unsigned qOff = (kk / 4) * MJ_BM * 128 + (kk % 4) * 32;
      const unsigned kOff = (kk / 4) * MJ_BN * 128 + (kk % 4) * 32;
      mj_wgmma_s(s, qDesc + (qOff >> 4), kDesc + (kOff >> 4), kk > 0);
    }
  };
  // O += P V: the S accumulators of keys 16j..16j+15 are exactly the A
  // fragment of the j-th k-step.
  auto issuePV = [&](int stage) {
    const uint64_t vDesc = vDesc0 + stage * (MJ_KV_BYTES >> 4);
#pragma unroll
    for (int j = 0; j < MJ_BN / 16; ++j)
      mj_wgmma_pv(o, pa[j], vDesc + ((j * 16 * 128) >> 4));
  };
  // Which of this thread's 64 (query, key) pairs of a stage's item are
  // allowed: bit 2i+c of bits[r] is element 4i+2r+c of S. Needs no score,
  // so it runs while the tensor cores compute S. Keys out of range are
  // never allowed. FULL tiles and gathered keys that every row may see take
  // no predicate; PARTIAL tiles take the row mask when the pattern has one
  // (a few word operations per row), else the predicate per element, as
  // the other gathered keys do. Returns false when every pair is allowed.
  auto allowedBits = [&](int stage, unsigned (&bits)[2]) -> bool {
    const int kind = sItem[stage][0], tile = sItem[stage][1];
    if ((kind == 1 && (tile + 1) * MJ_BN <= sched.lk) || (kind == 2 && sItem[stage][2]))
      return false;
#ifdef MASKJIT_ROW_MASK
    if (kind != 2) {
      const int64_t k0 = (int64_t)tile * MJ_BN;
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        uint32_t words[MJ_BN / 32];
        if (kind == 1)
          mj_rm_fill(words, 0xffffffffu);
        else
          maskjit_row_mask<MJ_BN / 32>(r == 0 ? row0 : row1, k0, h, b, p.lq, p.lk, &p.args,
                                       words);
        mj_rm_keep_range(words, k0, 0, p.lk - 1);
        bits[r] = mj_rm_thread_bits(words, t4);
      }
      return true;
    }
#endif
#if MASKJIT_TILE_BITS
    // A PARTIAL tile whose bits the launch built: a row's words at once.
    if (kind == 0 && sItem[stage][2] >= 0) {
      const uint32_t *tb = p.tile_bits + (size_t)sItem[stage][2] * MJ_BM * (MJ_BN / 32);
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const uint32_t *row = tb + ((r == 0 ? row0 : row1) - q0) * (MJ_BN / 32);
        uint32_t words[MJ_BN / 32];
#if MJ_BN == 128
        const uint4 v = *reinterpret_cast<const uint4 *>(row);
        words[0] = v.x, words[1] = v.y, words[2] = v.z, words[3] = v.w;
#else
        const uint2 v = *reinterpret_cast<const uint2 *>(row);
        words[0] = v.x, words[1] = v.y;
#endif
        bits[r] = mj_rm_thread_bits(words, t4);
      }
      return true;
    }
#endif
    bits[0] = bits[1] = 0;
    // A loop, not unrolled: unrolled, the compiler would precompute all 32
    // keys (in 64 bits) in registers the accumulators need.
#pragma unroll 1
    for (int i = 0; i < MJ_BN / 8; ++i) {
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        const int col = i * 8 + 2 * t4 + c;
        const int entry = kind == 2 ? sKey[stage][col] : sched.entry(kind, tile, col);
        const int key = mj_entry_key(entry);
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          bool ok = key >= 0;
          if (ok && kind != 1 && (kind != 2 || entry < 0))
            ok = MASKJIT_ALLOWED(r == 0 ? row0 : row1, key, h, b, p.lq, p.lk, &p.args);
          bits[r] |= (ok ? 1u : 0u) << (2 * i + c);
        }
      }
    }
    return (bits[0] & bits[1]) != MJ_ALL_BITS;
  };
  // Masks S and turns it into P (base-2 online softmax); returns in
  // alpha[r] the factor that rescales row r's earlier O and sum.
#if MJ_SKIP
  // P apart from S: S's registers are then written by wgmma alone, which
  // ptxas needs to keep the wgmma pipelined when a warpgroup skips S.
  float pbuf[MJ_BN / 2];
#define MJ_P pbuf
#else
#define MJ_P s
#endif
  auto softmax = [&](bool masked, const unsigned (&bits)[2], float (&alpha)[2]) {
#if MJ_SKIP
#pragma unroll
    for (int i = 0; i < MJ_BN / 2; ++i)
      MJ_P[i] = s[i];
#endif
    if (masked) {
#pragma unroll
      for (int i = 0; i < MJ_BN / 8; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (!((bits[e >> 1] >> (2 * i + (e & 1))) & 1u))
            MJ_P[4 * i + e] = mj_neg_inf();
    }
    // A row's 128 keys are spread over the 4 threads of a quad.
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float mx = m[r];
#pragma unroll
      for (int i = 0; i < MJ_BN / 8; ++i)
        mx = fmaxf(mx, fmaxf(MJ_P[4 * i + 2 * r], MJ_P[4 * i + 2 * r + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 2));
      // A row with nothing allowed so far keeps m = -inf: no rescale.
      const float base2 = mx == mj_neg_inf() ? 0.f : mx * scale;
      alpha[r] = mj_exp2(m[r] * scale - base2);
      float sum = 0.f;
#pragma unroll
      for (int i = 0; i < MJ_BN / 8; ++i) {
        MJ_P[4 * i + 2 * r] = mj_exp2(fmaf(MJ_P[4 * i + 2 * r], scale, -base2));
        MJ_P[4 * i + 2 * r + 1] = mj_exp2(fmaf(MJ_P[4 * i + 2 * r + 1], scale, -base2));
        sum += MJ_P[4 * i + 2 * r] + MJ_P[4 * i + 2 * r + 1];
      }
      l[r] = l[r] * alpha[r] + sum;
      m[r] = mx;
    }
  };
  // After the PV product: O's rows rescaled by alpha, P into A fragments.
  auto rescaleAndPackP = [&](const float (&alpha)[2]) {
#pragma unroll
    for (int i = 0; i < MJ_D / 8; ++i) {
      o[4 * i + 0] *= alpha[0];
      o[4 * i + 1] *= alpha[0];
      o[4 * i + 2] *= alpha[1];
      o[4 * i + 3] *= alpha[1];
    }
#pragma unroll
    for (int j = 0; j < MJ_BN / 16; ++j) {
      pa[j][0] = mj_pack(MJ_P[8 * j + 0], MJ_P[8 * j + 1]);
      pa[j][1] = mj_pack(MJ_P[8 * j + 2], MJ_P[8 * j + 3]);
      pa[j][2] = mj_pack(MJ_P[8 * j + 4], MJ_P[8 * j + 5]);
      pa[j][3] = mj_pack(MJ_P[8 * j + 6], MJ_P[8 * j + 7]);
    }
  };

  // Normalizes this thread's two rows of O and writes them with their LSE
  // (from registers; the one-warpgroup loop's 64 x 64 shape goes through
  // shared memory instead, the warp-specialized one has none to spare).
  auto writeRows = [&](int h, int b) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      l[r] += __shfl_xor_sync(0xffffffff, l[r], 1);
      l[r] += __shfl_xor_sync(0xffffffff, l[r], 2);
    }
    uint16_t *Og = p.o + b * p.o_sb + h * p.o_sh;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int row = r == 0 ? row0 : row1;
      const bool any = l[r] > 0.f;
      const float inv = any ? 1.f / l[r] : 0.f;
      uint16_t *orow = Og + (int64_t)row * p.o_ss;
      // 16-byte stores: a quad holds 32 columns of its row as 4 x 4 pairs,
      // thread t4 the pair at 2 t4 of each 8 columns; transposed within
      // the quad (every lane shuffles, rows past Lq too), thread t4 holds
      // the 8 columns at 8 t4 of each 32, and a warp's store writes whole
      // sectors (4-byte stores wrote each sector in two halves; measured,
      // session 12: block top-k keep 16 1.27 -> 1.24 ms, keep 8 0.74 ->
      // 0.72).
#pragma unroll
      for (int j = 0; j < MJ_D / 32; ++j) {
        unsigned v[4], w[4] = {0u, 0u, 0u, 0u};
#pragma unroll
        for (int k = 0; k < 4; ++k)
          v[k] = mj_pack(o[4 * (4 * j + k) + 2 * r] * inv, o[4 * (4 * j + k) + 2 * r + 1] * inv);
#pragma unroll
        for (int d = 0; d < 4; ++d) {
          // Lane t4 sends its pair for lane (t4 - d) & 3 and receives
          // lane (t4 + d) & 3's pair for itself.
          const int to = (t4 - d) & 3, from = (t4 + d) & 3;
          const unsigned send = to == 0 ? v[0] : to == 1 ? v[1] : to == 2 ? v[2] : v[3];
          const unsigned got = d == 0 ? send : __shfl_sync(0xffffffffu, send, (lane & ~3) | from);
#pragma unroll
          for (int k = 0; k < 4; ++k)
            w[k] = from == k ? got : w[k];
        }
        if (row < p.lq)
          *reinterpret_cast<uint4 *>(orow + j * 32 + t4 * 8) = make_uint4(w[0], w[1], w[2], w[3]);
      }
      if (row >= p.lq)
        continue;
      if (t4 == 0)
        p.lse[((int64_t)b * p.heads + h) * p.lq + row] =
            any ? m[r] * scale * 0.69314718055994531f + logf(l[r]) : mj_neg_inf();
    }
  };

  // Software pipeline: while the tensor cores run S_j = Q K_j^T and then
  // O += P_{j-1} V_{j-1}, the warpgroup copies item j+1 into the third
  // stage (stage j-2 is free: every thread finished with it before this
  // iteration's barrier), evaluates the mask, waits for S_j only and
  // computes its softmax; O is rescaled once the PV product has landed.
  // Stages are used round-robin across works: item j of a work uses stage
  // (seq + j) % 3. Each stage's mbarrier completes once per TMA copy into
  // it; `phase` holds the parity each stage waits for next.
#if MJ_WS
// @MASKJIT_WS_LOOP@
#else
  int seq = 0, seqWork = 0;
  unsigned phase = 0;
  for (;;) {
#pragma unroll
  for (int i = 0; i < MJ_D / 2; ++i)
    o[i] = 0.f;
  m[0] = m[1] = mj_neg_inf();
  l[0] = l[1] = 0.f;
  row0 = sched.query(q0 + wg * 64 + warp * 16 + g);
  row1 = sched.query(q0 + wg * 64 + warp * 16 + g + 8);
  // With MJ_SKIP a warpgroup computes only the items some row of its own
  // may see; the PV product of the last item it computed is issued on the
  // next iteration whichever way that one goes (so its stage is free as
  // early as before). `pending` is that item's stage, -1 when none.
  int pending = -1;
  // The next work is taken now, while this one runs: the atomic's round
  // trip then never stalls the hand-over between works. Block top-k keep
  // 16 of 64 at 32k has a hand-over every 16 items; measured A/B (H100,
  // same run): 1.49 -> 1.47 ms (random inputs), 1.50 -> 1.47 ms
  // (positional), keep 8 0.87 -> 0.85 ms, dense 64 x 64 unchanged.
  int nextWork = 0;
  if (tid == 0)
    nextWork = atomicAdd(p.work_counter, 1);
  for (int item = 0; item < sched.num_items; ++item) {
    const int stage = (seq + item) % MJ_STAGES;
    // Wait for this item: TMA tiles on their stage's mbarrier, gathered
    // chunks and Q through cp.async.
    if (MASKJIT_DILATION == 1 && item < sched.num_tiles) {
      mj_mbar_wait(bar0 + stage * 8, (phase >> stage) & 1);
      phase ^= 1u << stage;
    }
    mj_cp_wait<0>();
    mj_fence_proxy_async();
    __syncthreads();
    unsigned bits[2];
#if MJ_SKIP
    // The mask first: it decides whether this warpgroup takes the item.
    const bool masked = allowedBits(stage, bits);
    const bool mine = mj_warpgroup_any(!masked || (bits[0] | bits[1]) != 0u, wg);
#else
    const bool mine = true;
#endif
    mj_wgmma_fence();
    if (mine)
      issueS(stage);
    mj_wgmma_commit();
    // Item 0 commits an empty PV group, so that the wait below is the same
    // on every iteration (a data-dependent wait count makes ptxas serialize
    // all wgmma).
#if MJ_SKIP
    if (pending >= 0)
      issuePV(pending);
#else
    if (item > 0)
      issuePV((seq + item - 1) % MJ_STAGES);
#endif
    mj_wgmma_commit();
    // The copies are issued while the tensor cores work.
    if (item + 1 < sched.num_items) {
      loadKV(item + 1, (seq + item + 1) % MJ_STAGES);
      mj_cp_commit();
    }
#if !MJ_SKIP
    const bool masked = allowedBits(stage, bits);
#endif
    mj_wgmma_wait<1>();
    mj_fence_operands(s);
    float alpha[2];
    if (mine)
      softmax(masked, bits, alpha);
    mj_wgmma_wait<0>();
    mj_fence_operands(o);
    if (mine)
      rescaleAndPackP(alpha);
#if MJ_SKIP
    pending = mine ? stage : -1;
#endif
  }
  if (MJ_SKIP ? pending >= 0 : sched.num_items > 0) {
    mj_wgmma_fence();
    issuePV(MJ_SKIP ? pending : (seq + sched.num_items - 1) % MJ_STAGES);
    mj_wgmma_commit();
    mj_wgmma_wait<0>();
    mj_fence_operands(o);
  }

  seq += sched.num_items;

  // Prefetch the next work's Q and first key tile, then write this work's
  // output while they land. The barrier: every thread is done with Q and
  // with the stages.
  if (tid == 0)
    sNext[seqWork & 1] = gridDim.x + nextWork;
  const int oh = h, ob = b, oq0 = q0, ores = sched.res;
  __syncthreads();
  const int next = sNext[seqWork & 1];
  ++seqWork;
  if (next < totalWork) {
    decode(next);
    sched = mj_schedule(p, h, b, qt, MJ_BN, cls);
    q0 = qt * MJ_BM;
    Kg = p.k + b * p.k_sb + kvh * p.k_sh;
    Vg = p.v + b * p.v_sb + kvh * p.v_sh;
    loadQ();
    if (sched.num_items > 0)
      loadKV(0, seq % MJ_STAGES);
    mj_cp_commit();
  }
  {
    // Epilogue: normalize, write O and LSE.
    const int h = oh, b = ob;
#if MJ_BM == 64
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      l[r] += __shfl_xor_sync(0xffffffff, l[r], 1);
      l[r] += __shfl_xor_sync(0xffffffff, l[r], 2);
    }
    uint16_t *Og = p.o + b * p.o_sb + h * p.o_sh;
    // O goes through shared memory and out in 16-byte pieces: whole
    // sectors. The 64 x 64 shape is bound by L2 bandwidth (two CTAs per SM,
    // a K/V tile per 64 x 64 item), and direct stores of each thread's
    // 4-byte pairs write every sector of O twice. Measured A/B in one run
    // (H100, 32k): block top-k keep 16 1.49 -> 1.48 ms, dilated window
    // 2.25 -> 2.23 ms (short works, the shapes that get 64 x 64 by
    // default), but dense with 64 x 64 tiles (long works) 435 -> 422
    // TFLOP/s: the main loop's registers move. The stage is the third one the next work fills; it held this
    // work's last item, whose PV product has completed. The 128 x 128
    // shape has no registers to spare for it (it would spill).
    unsigned char *const gO = gK + ((seq + 2) % MJ_STAGES) * MJ_KV_BYTES;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int row = r == 0 ? row0 : row1;
      const int local = wg * 64 + warp * 16 + g + 8 * r;
      const bool any = l[r] > 0.f;
      const float inv = any ? 1.f / l[r] : 0.f;
#pragma unroll
      for (int i = 0; i < MJ_D / 8; ++i)
        *reinterpret_cast<unsigned *>(gO + mj_swizzle(MJ_BM, local, i) + 4 * t4) =
            mj_pack(o[4 * i + 2 * r] * inv, o[4 * i + 2 * r + 1] * inv);
      if (t4 == 0 && row < p.lq)
        p.lse[((int64_t)b * p.heads + h) * p.lq + row] =
            any ? m[r] * scale * 0.69314718055994531f + logf(l[r]) : mj_neg_inf();
    }
    __syncthreads();
#pragma unroll
    for (int i = 0; i < MJ_BM * chunks / MJ_THREADS; ++i) {
      const int c = tid + i * MJ_THREADS;
      const int r = c / chunks, c8 = c % chunks;
      const int row = ores + MASKJIT_DILATION * (oq0 + r);
      if (row < p.lq)
        *reinterpret_cast<uint4 *>(Og + (int64_t)row * p.o_ss + c8 * 8) =
            *reinterpret_cast<const uint4 *>(gO + mj_swizzle(MJ_BM, r, c8));
    }
#else
    writeRows(h, b);
#endif
  }
  if (next >= totalWork)
    break;
  work = next;
  }
#endif
}
