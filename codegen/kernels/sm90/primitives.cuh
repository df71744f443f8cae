// Hopper primitives: the wgmma shapes of this tile, the 128-byte swizzle and
// matrix descriptors, mbarriers, named barriers, the TMA copy, fences and
// warpgroup votes. Device functions of no state; needs traits.cuh,
// attention_common.cuh and wgmma.cuh before it.
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
