// Hopper kernel traits: the tile shape (from the prelude's MASKJIT_TILE_M/N),
// the warpgroups and their roles (warp specialized or not), the register
// split, CTAs per SM, K/V stages and the tile sizes in bytes. Macros only;
// everything after reads them.
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
// sm90/mainloop_ws.inc, included in the kernel's body.
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
