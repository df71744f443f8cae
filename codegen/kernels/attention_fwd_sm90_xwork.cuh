// maskjit attention forward kernel, Hopper path: the main loop of the
// kernel experiment MJ_EXP_XWORK (see attention_fwd_sm90.cuh, where it is
// described). Not a file of its own in the generated source: the build
// splices it into maskjit_attention_fwd's body in place of a marker line
// (codegen/CMakeLists.txt), so that it sees the kernel's variables and
// lambdas.
  // ---- MJ_XWORK: one software pipeline across works (see the top) ----
  // Barriers: K stages 0-1, V stages 2-4, Q buffers 5-6 (the Q ones count
  // an arrival per thread: cp.async.mbarrier.arrive when its copies land).
  const unsigned barK = bar0, barV = bar0 + 2 * 8, barQ = bar0 + 5 * 8;
  if (tid == 0) {
    for (int i = 0; i < 5; ++i)
      mj_mbar_init(bar0 + i * 8, 1);
    mj_mbar_init(barQ, MJ_THREADS);
    mj_mbar_init(barQ + 8, MJ_THREADS);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    sNext[0] = gridDim.x + atomicAdd(p.work_counter, 1);
  }
  __syncthreads();
  // Works other than the current one are held as their number only (few
  // registers); these give their coordinates.
  auto workQt = [&](int w) { return p.num_q_tiles - 1 - w % p.num_q_tiles; };
  auto workH = [&](int w) { return (w / classTiles) % p.heads; };
  auto workB = [&](int w) { return w / (classTiles * p.heads); };
  // Item `item` of schedule `sc` (work `w`) into K stage `ks` and V stage
  // `vs`: tiles by the TMA (one thread), gathered keys by every thread.
  auto loadItem = [&](mj_schedule &sc, int w, int item, int ks, int vs) {
    const int wb = workB(w), wkvh = workH(w) / (p.heads / p.kv_heads);
    int tile;
    if (item < sc.num_tiles) {
      if (tid != 0)
        return;
      const int kind = sc.item(item, tile);
      sItem[vs][0] = kind;
      sItem[vs][1] = tile;
      mj_mbar_expect_tx(barK + ks * 8, MJ_KV_BYTES);
      mj_mbar_expect_tx(barV + vs * 8, MJ_KV_BYTES);
      int c[4] = {0, 0, 0, 0};
      const int row = tile * MJ_BN;
      c[1] = p.tma_seq_dim == 1 ? row : p.tma_head_dim == 1 ? wkvh : wb;
      c[2] = p.tma_seq_dim == 2 ? row : p.tma_head_dim == 2 ? wkvh : wb;
      c[3] = p.tma_seq_dim == 3 ? row : p.tma_head_dim == 3 ? wkvh : wb;
#pragma unroll
      for (int blk = 0; blk < MJ_D / 64; ++blk) {
        const unsigned off = blk * MJ_BN * 128;
        mj_tma_load(sK + ks * MJ_KV_BYTES + off, tm.k, barK + ks * 8, blk * 64, c[1], c[2],
                    c[3]);
        mj_tma_load(sV + vs * MJ_KV_BYTES + off, tm.v, barV + vs * 8, blk * 64, c[1], c[2],
                    c[3]);
      }
      return;
    }
    const int kind = sc.item(item, tile);
    if (tid < MJ_BN)
      sKey[vs][tid] = sc.entry(kind, tile, tid);
    if (tid == 0) {
      sItem[vs][0] = kind;
      sItem[vs][1] = tile;
      sItem[vs][2] = sc.entry(kind, tile, MJ_BN - 1) >= 0;
    }
    const uint16_t *wk = p.k + wb * p.k_sb + wkvh * p.k_sh;
    const uint16_t *wv = p.v + wb * p.v_sb + wkvh * p.v_sh;
    constexpr int perThread = MJ_BN * chunks / MJ_THREADS;
    int keys[perThread];
#pragma unroll
    for (int i = 0; i < perThread; ++i)
      keys[i] = sc.key(kind, tile, (tid + i * MJ_THREADS) / chunks);
#pragma unroll
    for (int i = 0; i < perThread; ++i) {
      const int c = tid + i * MJ_THREADS;
      const int r = c / chunks, c8 = c % chunks;
      const bool ok = keys[i] >= 0;
      const int64_t kk = ok ? keys[i] : 0;
      const unsigned swz = mj_swizzle(MJ_BN, r, c8);
      mj_cp_async16(gK + ks * MJ_KV_BYTES + swz, wk + kk * p.k_ss + c8 * 8, ok);
      mj_cp_async16(gV + vs * MJ_KV_BYTES + swz, wv + kk * p.v_ss + c8 * 8, ok);
    }
  };
  // Q of work `w` into buffer `qb`; each thread's arrival on the buffer's
  // mbarrier comes when its copies have landed.
  auto loadQInto = [&](int w, int qb) {
    const uint16_t *Qg = p.q + workB(w) * p.q_sb + workH(w) * p.q_sh;
    const int wq0 = workQt(w) * MJ_BM;
#pragma unroll 1
    for (int i = 0; i < MJ_BM * chunks / MJ_THREADS; ++i) {
      const int c = tid + i * MJ_THREADS;
      const int r = c / chunks, c8 = c % chunks;
      const bool ok = wq0 + r < p.lq;
      const int64_t qq = ok ? wq0 + r : 0;
      mj_cp_async16(gQ + qb * MJ_Q_BYTES + mj_swizzle(MJ_BM, r, c8), Qg + qq * p.q_ss + c8 * 8,
                    ok);
    }
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(barQ + qb * 8)
                 : "memory");
  };
  // A finished work's output (work `w`, each thread's rows' max and sum):
  // O normalized, through the free V stage `vs` to global memory in 16-byte
  // pieces, and the LSE.
  auto writeOut = [&](int w, const float (&om)[2], float (&ol)[2], int vs) {
    const int wh = workH(w), wb = workB(w), wq0 = workQt(w) * MJ_BM;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      ol[r] += __shfl_xor_sync(0xffffffff, ol[r], 1);
      ol[r] += __shfl_xor_sync(0xffffffff, ol[r], 2);
    }
    unsigned char *const gO = gV + vs * MJ_KV_BYTES;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int local = warp * 16 + g + 8 * r, row = wq0 + local;
      const bool any = ol[r] > 0.f;
      const float inv = any ? 1.f / ol[r] : 0.f;
#pragma unroll
      for (int i = 0; i < MJ_D / 8; ++i)
        *reinterpret_cast<unsigned *>(gO + mj_swizzle(MJ_BM, local, i) + 4 * t4) =
            mj_pack(o[4 * i + 2 * r] * inv, o[4 * i + 2 * r + 1] * inv);
      if (t4 == 0 && row < p.lq)
        p.lse[((int64_t)wb * p.heads + wh) * p.lq + row] =
            any ? om[r] * scale * 0.69314718055994531f + logf(ol[r]) : mj_neg_inf();
    }
    __syncthreads();
    uint16_t *Og = p.o + wb * p.o_sb + wh * p.o_sh;
#pragma unroll
    for (int i = 0; i < MJ_BM * chunks / MJ_THREADS; ++i) {
      const int c = tid + i * MJ_THREADS;
      const int r = c / chunks, c8 = c % chunks;
      if (wq0 + r < p.lq)
        *reinterpret_cast<uint4 *>(Og + (int64_t)(wq0 + r) * p.o_ss + c8 * 8) =
            *reinterpret_cast<const uint4 *>(gO + mj_swizzle(MJ_BM, r, c8));
    }
  };

  int nxt = sNext[0];
  // Parities: of each K and V stage's next completion, of each Q buffer's
  // next load, and of the current and the next work's Q loads.
  unsigned phaseK = 0, phaseV = 0, qPar = 0, curQPar = 0, nxtQPar = 0;
  loadQInto(work, 0);
  qPar ^= 1u;
  if (nxt < totalWork) {
    loadQInto(nxt, 1);
    qPar ^= 2u;
  }
  if (sched.num_items > 0)
    loadItem(sched, work, 0, 0, 0);
  mj_cp_commit();
#pragma unroll
  for (int i = 0; i < MJ_D / 2; ++i)
    o[i] = 0.f;

  // The output waiting for its last PV product (issued with the next
  // work's first S): its work (-1: none), its rows' max and sum, and the V
  // stage of the pending PV product's item (-1: none).
  int outWork = -1;
  float outM[2] = {0.f, 0.f}, outL[2] = {0.f, 0.f};
  int pvStage = -1;
  bool pvTile = false;
  int gi = 0, seqWork = 0; // items and works this CTA has started
  // Issues the pending PV product (once its V has landed) and writes the
  // pending output: at a hand-over with no item to overlap them with.
  auto flush = [&]() {
    if (pvStage >= 0) {
      if (pvTile) {
        mj_mbar_wait(barV + pvStage * 8, (phaseV >> pvStage) & 1);
        phaseV ^= 1u << pvStage;
      }
      mj_cp_wait<0>();
      mj_fence_proxy_async();
      __syncthreads();
      mj_wgmma_fence();
      issuePV(pvStage);
      mj_wgmma_commit();
      mj_wgmma_wait<0>();
      mj_fence_operands(o);
    }
    // Through the V stage of the last item (free now), or one that no load
    // of the next work's first two items uses.
    if (outWork >= 0)
      writeOut(outWork, outM, outL, pvStage >= 0 ? pvStage : (gi + 2) % 3);
    outWork = -1;
    pvStage = -1;
    mj_fence_proxy_async(); // the TMA may write those stages next
    __syncthreads();
  };

  for (;;) {
    const int qb = seqWork & 1;
    m[0] = m[1] = mj_neg_inf();
    l[0] = l[1] = 0.f;
    row0 = q0 + warp * 16 + g;
    row1 = row0 + 8;
    // The work after the next one, claimed now.
    int claimed = 0;
    if (tid == 0)
      claimed = atomicAdd(p.work_counter, 1);
    bool nextLoaded = false;
    const int L = sched.num_items;
    for (int item = 0; item < L; ++item, ++gi) {
      const int ks = gi % 2, vs = gi % 3;
      if (item < sched.num_tiles) {
        mj_mbar_wait(barK + ks * 8, (phaseK >> ks) & 1);
        phaseK ^= 1u << ks;
      }
      if (item == 0)
        mj_mbar_wait(barQ + qb * 8, curQPar);
      // V of the item before (this work's, or the last of the work before).
      if (pvStage >= 0 && pvTile) {
        mj_mbar_wait(barV + pvStage * 8, (phaseV >> pvStage) & 1);
        phaseV ^= 1u << pvStage;
      }
      if (item >= sched.num_tiles)
        mj_cp_wait<0>();
      mj_fence_proxy_async();
      __syncthreads();
      MJ_TL_MARK(item == 0 ? 0 : 1);
      MJ_TL_COUNT(7);
      // On the last item, the next work's first. Its K stage held item - 1
      // (S done), its V stage item - 2 (PV done). Its schedule is read here,
      // before S's registers are live (no spills), though the tensor cores
      // then wait for those reads; -DMJ_EXP_XWORK_LATE_NEXT reads it after
      // S and PV are issued (8 bytes of spills on block top-k).
      auto loadNextFirst = [&]() {
        if (item + 1 == L && nxt < totalWork) {
          mj_schedule nsched(p, workH(nxt), workB(nxt), workQt(nxt), MJ_BN, 0);
          if (nsched.num_items > 0) {
            loadItem(nsched, nxt, 0, (gi + 1) % 2, (gi + 1) % 3);
            mj_cp_commit();
            nextLoaded = true;
          }
        }
      };
#ifndef MJ_EXP_XWORK_LATE_NEXT
      loadNextFirst();
#endif
      mj_wgmma_fence();
      issueS(ks, qb);
      mj_wgmma_commit();
      if (pvStage >= 0)
        issuePV(pvStage);
      mj_wgmma_commit();
      // This work's next item, while the tensor cores work.
      if (item + 1 < L) {
        loadItem(sched, work, item + 1, (gi + 1) % 2, (gi + 1) % 3);
        mj_cp_commit();
      }
#ifdef MJ_EXP_XWORK_LATE_NEXT
      loadNextFirst();
#endif
      unsigned bits[2];
      const bool masked = allowedBits(vs, bits);
      mj_wgmma_wait<1>();
      mj_fence_operands(s);
      float alpha[2];
      softmax(masked, bits, alpha);
      mj_wgmma_wait<0>();
      mj_fence_operands(o);
      // P first: S's registers are free while an output is written.
      packP();
      if (outWork >= 0) {
        // The work before is complete: its output goes out through the V
        // stage its last item used (free now). alpha is 0 on this first
        // item (m was reset), so the rescale below clears O.
        writeOut(outWork, outM, outL, pvStage);
        outWork = -1;
      }
#pragma unroll
      for (int i = 0; i < MJ_D / 8; ++i) {
        o[4 * i + 0] *= alpha[0];
        o[4 * i + 1] *= alpha[0];
        o[4 * i + 2] *= alpha[1];
        o[4 * i + 3] *= alpha[1];
      }
      pvStage = vs;
      pvTile = item < sched.num_tiles;
      MJ_TL_MARK(2);
    }
    MJ_TL_COUNT(6);
    // Hand-over. A work with no item has nothing to overlap the pending
    // output with: flush that, then write this one's (a sum of 0 writes
    // O = 0 whatever O holds, and LSE = -inf); its Q is waited for so that
    // the buffer's next load starts a new phase.
    if (L == 0) {
      flush();
      outWork = work;
      outM[0] = outM[1] = mj_neg_inf();
      outL[0] = outL[1] = 0.f;
      mj_mbar_wait(barQ + qb * 8, curQPar);
      flush();
    } else {
      outWork = work;
      outM[0] = m[0];
      outM[1] = m[1];
      outL[0] = l[0];
      outL[1] = l[1];
    }
    if (tid == 0)
      sNext[seqWork & 1] = gridDim.x + claimed;
    __syncthreads();
    const int after = sNext[seqWork & 1];
    ++seqWork;
    MJ_TL_MARK(4);
    if (nxt >= totalWork)
      break;
    work = nxt;
    decode(work);
    q0 = qt * MJ_BM;
    curQPar = nxtQPar;
    sched = mj_schedule(p, h, b, qt, MJ_BN, 0);
    if (!nextLoaded && sched.num_items > 0) {
      loadItem(sched, work, 0, gi % 2, gi % 3);
      mj_cp_commit();
    }
    nxt = after;
    if (nxt < totalWork) {
      // The buffer of the work that just ended (its S products are done).
      const int nb = (seqWork + 1) & 1;
      nxtQPar = (qPar >> nb) & 1u;
      loadQInto(nxt, nb);
      qPar ^= 1u << nb;
      mj_cp_commit();
    }
    MJ_TL_MARK(5);
  }
  flush();
