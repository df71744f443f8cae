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

#include "sm90/traits.cuh"

#include "sm90/primitives.cuh"


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
#include "sm90/producer.inc"
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

#include "sm90/mma.inc"
#include "sm90/mask.inc"
#include "sm90/softmax.inc"

#include "sm90/epilogue.inc"

  // Software pipeline: while the tensor cores run S_j = Q K_j^T and then
  // O += P_{j-1} V_{j-1}, the warpgroup copies item j+1 into the third
  // stage (stage j-2 is free: every thread finished with it before this
  // iteration's barrier), evaluates the mask, waits for S_j only and
  // computes its softmax; O is rescaled once the PV product has landed.
  // Stages are used round-robin across works: item j of a work uses stage
  // (seq + j) % 3. Each stage's mbarrier completes once per TMA copy into
  // it; `phase` holds the parity each stage waits for next.
#if MJ_WS
#include "sm90/mainloop_ws.inc"
#else
#include "sm90/mainloop.inc"
#endif
}
