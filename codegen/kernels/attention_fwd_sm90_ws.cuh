  // Warp-specialized main loop (square tiles, not dilated; spliced into
  // the Hopper kernel's body by codegen/CMakeLists.txt, where it replaces
  // the one-warpgroup loop: it uses the body's variables and lambdas).
  //
  // The last warpgroup produces, the others (one per 64 query rows)
  // consume: MJ_WS_CONSUMERS threads, "every consumer thread" below.
  // mbarriers:
  // - full[s] (32 arrivals: the producer warp's lanes; with a TMA tile,
  //   lane 0's carries the tile's bytes, with gathered rows each lane's
  //   arrives when its copies have landed),
  // - empty[s] (every consumer thread once its PV of the stage has
  //   completed),
  // - Q full (32: the lanes' copies of Q), Q empty (every consumer
  //   thread after a work's last S),
  // - work full (1: the producer published a work and its item count),
  //   work empty (every consumer thread has read it).
  // A waiter holds the parity it waits for next; the producer's start at 1
  // (a fresh mbarrier's phase "before the first" counts as completed).
  // Stage of a work's item i: (items of the works before + i) % 3, counted
  // alike on both sides.
  const unsigned fullBar = bar0, emptyBar = bar0 + MJ_STAGES * 8;
  const unsigned qFullBar = bar0 + 2 * MJ_STAGES * 8, qEmptyBar = qFullBar + 8;
  const unsigned workFullBar = qFullBar + 16, workEmptyBar = qFullBar + 24;
  if (blockDim.x != MJ_THREADS)
    __trap(); // launched with fewer threads than the launch bounds say
  if (tid == 0) {
#pragma unroll
    for (int i = 0; i < MJ_STAGES; ++i) {
      mj_mbar_init(fullBar + i * 8, 32);
      mj_mbar_init(emptyBar + i * 8, MJ_WS_CONSUMERS);
    }
    mj_mbar_init(qFullBar, 32);
    mj_mbar_init(qEmptyBar, MJ_WS_CONSUMERS);
    mj_mbar_init(workFullBar, 1);
    mj_mbar_init(workEmptyBar, MJ_WS_CONSUMERS);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();

  // The role through a shuffle: warp-uniform as far as ptxas can tell (a
  // branch on tid / 128 alone is divergent to it, and it then serializes
  // the consumer's wgmma).
  if (__shfl_sync(0xffffffffu, wg, 0) == MJ_WS_CONSUMERS / 128) {
    // ---- Producer: one warp; the other three give up their registers. ----
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(MJ_WS_PRODUCER_REGS) : "memory");
    if (__shfl_sync(0xffffffffu, warp, 0) != 0)
      return;
    // An item into its stage: a TMA tile (lane 0) or gathered rows (every
    // lane copies 16-byte pieces and arrives when they have landed).
    auto produceItem = [&](int item, int stage) {
      int tile;
      const int kind = sched.item(item, tile);
      const unsigned full = fullBar + stage * 8;
      if (item < sched.num_tiles) {
        if (lane == 0) {
          sItem[stage][0] = kind;
          sItem[stage][1] = tile;
          sItem[stage][2] = MASKJIT_TILE_BITS ? sched.bits_slot(kind, tile) : -1;
          tmaTile(tile, stage, full);
        } else {
          mj_mbar_arrive(full);
        }
        return;
      }
#pragma unroll
      for (int r = lane; r < MJ_BN; r += 32)
        sKey[stage][r] = sched.entry(kind, tile, r);
      if (lane == 0) {
        sItem[stage][0] = kind;
        sItem[stage][1] = tile;
        // Full keys come first in a query tile's list.
        sItem[stage][2] = sched.entry(kind, tile, MJ_BN - 1) >= 0;
      }
      __threadfence_block();
      __syncwarp();
#pragma unroll 4
      for (int i = 0; i < MJ_BN * chunks / 32; ++i) {
        const int c = lane + i * 32;
        const int r = c / chunks, c8 = c % chunks;
        const int key = mj_entry_key(sKey[stage][r]);
        const bool ok = key >= 0;
        const int64_t kk = ok ? key : 0;
        const unsigned off = stage * MJ_KV_BYTES + mj_swizzle(MJ_BN, r, c8);
        mj_cp_async16(gK + off, Kg + kk * p.k_ss + c8 * 8, ok);
        mj_cp_async16(gV + off, Vg + kk * p.v_ss + c8 * 8, ok);
      }
      mj_cp_arrive_noinc(full);
    };
    // The work's Q tile (rows past Lq are zero).
    auto produceQ = [&] {
      const uint16_t *Qg = p.q + b * p.q_sb + h * p.q_sh;
#pragma unroll 4
      for (int i = 0; i < MJ_BM * chunks / 32; ++i) {
        const int c = lane + i * 32;
        const int r = c / chunks, c8 = c % chunks;
        const bool ok = q0 + r < p.lq;
        const int64_t qq = ok ? q0 + r : 0;
        mj_cp_async16(gQ + mj_swizzle(MJ_BM, r, c8), Qg + qq * p.q_ss + c8 * 8, ok);
      }
      mj_cp_arrive_noinc(qFullBar);
    };
    unsigned emptyParity = (1u << MJ_STAGES) - 1, qEmptyParity = 1, workEmptyParity = 1;
    int seqP = 0;
    // The next work is claimed a work ahead (the atomic's round trip under
    // this work's loads).
    int claimed = 0;
    if (lane == 0)
      claimed = atomicAdd(p.work_counter, 1);
    for (int w = work;;) {
      mj_mbar_wait_loop(workEmptyBar, workEmptyParity);
      workEmptyParity ^= 1;
      if (w >= totalWork) {
        if (lane == 0) {
          sWork[1] = -1;
          mj_mbar_arrive(workFullBar);
        }
        break;
      }
      decode(w);
      sched = mj_schedule(p, h, b, qt, MJ_BN, cls);
      const int n = sched.num_items;
      if (lane == 0) {
        sWork[0] = w;
        sWork[1] = n;
        mj_mbar_arrive(workFullBar);
      }
      q0 = qt * MJ_BM;
      Kg = p.k + b * p.k_sb + kvh * p.k_sh;
      Vg = p.v + b * p.v_sb + kvh * p.v_sh;
      for (int item = 0; item < n; ++item) {
        const int stage = (seqP + item) % MJ_STAGES;
        mj_mbar_wait_loop(emptyBar + stage * 8, (emptyParity >> stage) & 1);
        emptyParity ^= 1u << stage;
        produceItem(item, stage);
        // Q once the work's first tile is on its way (and the last S of
        // the work before has read the previous Q).
        if (item == 0) {
          mj_mbar_wait_loop(qEmptyBar, qEmptyParity);
          qEmptyParity ^= 1;
          produceQ();
        }
      }
      seqP += n;
      w = gridDim.x + __shfl_sync(0xffffffffu, claimed, 0);
      if (lane == 0 && w < totalWork)
        claimed = atomicAdd(p.work_counter, 1);
    }
    // (No copy of this thread's left in flight when it leaves.)
    mj_cp_wait<0>();
    return;
  }

  // ---- Consumers: the tensor cores' warpgroups. ----
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(MJ_WS_CONSUMER_REGS) : "memory");
  unsigned fullParity = 0, qFullParity = 0, workFullParity = 0;
  int seqC = 0;
  for (;;) {
    mj_mbar_wait_loop(workFullBar, workFullParity);
    workFullParity ^= 1;
    const int cw = sWork[0], n = sWork[1];
    mj_mbar_arrive(workEmptyBar);
    if (n < 0)
      break;
    decode(cw);
    q0 = qt * MJ_BM;
#pragma unroll
    for (int i = 0; i < MJ_D / 2; ++i)
      o[i] = 0.f;
    m[0] = m[1] = mj_neg_inf();
    l[0] = l[1] = 0.f;
    row0 = q0 + wg * 64 + warp * 16 + g;
    row1 = row0 + 8;
    if (n > 0) {
      mj_mbar_wait_loop(qFullBar, qFullParity);
      qFullParity ^= 1;
    }
    for (int item = 0; item < n; ++item) {
      const int stage = (seqC + item) % MJ_STAGES;
      const int prev = (seqC + item + MJ_STAGES - 1) % MJ_STAGES;
      mj_mbar_wait_loop(fullBar + stage * 8, (fullParity >> stage) & 1);
      fullParity ^= 1u << stage;
      // Gathered rows and Q came through cp.async (the generic proxy);
      // wgmma reads through the async one.
      mj_fence_proxy_async();
      unsigned bits[2];
      mj_wgmma_fence();
      issueS(stage);
      mj_wgmma_commit();
      // Item 0 commits an empty PV group: the waits below stay uniform.
      if (item > 0)
        issuePV(prev);
      mj_wgmma_commit();
      const bool masked = allowedBits(stage, bits);
      mj_wgmma_wait<1>();
      mj_fence_operands(s);
      if (item == n - 1)
        mj_mbar_arrive(qEmptyBar);
      float alpha[2];
      softmax(masked, bits, alpha);
      mj_wgmma_wait<0>();
      mj_fence_operands(o);
      if (item > 0)
        mj_mbar_arrive(emptyBar + prev * 8);
      rescaleAndPackP(alpha);
    }
    if (n > 0) {
      const int last = (seqC + n - 1) % MJ_STAGES;
      mj_wgmma_fence();
      issuePV(last);
      mj_wgmma_commit();
      mj_wgmma_wait<0>();
      mj_fence_operands(o);
      mj_mbar_arrive(emptyBar + last * 8);
    }
    seqC += n;
    writeRows(h, b);
  }
