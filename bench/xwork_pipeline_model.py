#!/usr/bin/env python3
"""A model of the bookkeeping of the Hopper kernel's cross-work main loop
(codegen/kernels/attention_fwd_sm90_xwork.cuh, switch MJ_EXP_XWORK): the
same stage, buffer and parity arithmetic over random sequences of works
(with no item, tiles only, tiles then gathered keys), checking that every
load goes to a free K/V stage or Q buffer, every mbarrier wait matches a
load with the right parity, O is staged in a free V stage, and every work's
output is written once, in order. Not the kernel itself: run it after
changing that loop's indices, and mirror the change here.
Usage: python3 bench/xwork_pipeline_model.py"""
import random, sys

def run(works, seed):
    # works: list of (L, num_tiles)
    K = [None, None]      # item in K stage (until its S completes)
    V = [None] * 3        # item in V stage (until its PV completes)
    loadsK = [0, 0]; waitsK = [0, 0]; phaseK = 0
    loadsV = [0, 0, 0]; waitsV = [0, 0, 0]; phaseV = 0
    loadsQ = [0, 0]; waitsQ = [0, 0]
    qPar = 0
    Qbuf = [None, None]   # work in Q buffer
    def loadItem(w, item, ks, vs, tiles):
        nonlocal loadsK, loadsV
        assert K[ks] is None, f"K stage {ks} busy with {K[ks]} loading {(w,item)}"
        assert V[vs] is None, f"V stage {vs} busy with {V[vs]} loading {(w,item)}"
        K[ks] = (w, item); V[vs] = (w, item)
        if item < tiles:
            loadsK[ks] += 1; loadsV[vs] += 1
    def waitK(ks, par):
        nonlocal phaseK
        assert waitsK[ks] < loadsK[ks], "K wait without load"
        assert par == waitsK[ks] % 2, "K parity"
        waitsK[ks] += 1
    def waitV(vs, par):
        assert waitsV[vs] < loadsV[vs], "V wait without load"
        assert par == waitsV[vs] % 2, "V parity"
        waitsV[vs] += 1
    def loadQ(w, b):
        assert Qbuf[b] is None, f"Q buffer {b} busy with {Qbuf[b]}"
        Qbuf[b] = w; loadsQ[b] += 1
    def waitQ(b, par):
        assert waitsQ[b] < loadsQ[b], "Q wait without load"
        assert par == waitsQ[b] % 2, f"Q parity buf {b}: {par} vs {waitsQ[b]}"
        waitsQ[b] += 1
    total = len(works)
    work, nxt = 0, 1
    curQPar = nxtQPar = 0
    loadQ(work, 0); qPar ^= 1
    if nxt < total:
        loadQ(nxt, 1); qPar ^= 2
    L0, T0 = works[work]
    if L0 > 0: loadItem(work, 0, 0, 0, T0)
    outWork = -1; pvStage = -1; pvTile = False; pvItem = None
    gi = 0; seqWork = 0; claim = 2
    written = []
    def pvDone():
        nonlocal pvStage
        V[pvStage] = None
    def writeOut(w, stage):
        assert V[stage] is None, f"O staging in busy V stage {stage}: {V[stage]}"
        written.append(w)
    def flush():
        nonlocal outWork, pvStage
        if pvStage >= 0:
            if pvTile: waitV(pvStage, waitsV[pvStage] % 2)
            pvDone()
        if outWork >= 0:
            writeOut(outWork, pvStage if pvStage >= 0 else (gi + 2) % 3)
        outWork = -1; pvStage = -1
    sched_cur = works[work]
    while True:
        qb = seqWork & 1
        claimed = claim; claim += 1
        nextLoaded = False
        L, T = sched_cur
        for item in range(L):
            ks, vs = gi % 2, gi % 3
            assert K[ks] == (work, item), f"K stage {ks} holds {K[ks]} not {(work,item)}"
            assert V[vs] == (work, item)
            if item < T: waitK(ks, waitsK[ks] % 2)
            if item == 0:
                assert Qbuf[qb] == work, f"Q buffer {qb} holds {Qbuf[qb]} not {work}"
                waitQ(qb, curQPar)
            if pvStage >= 0 and pvTile: waitV(pvStage, waitsV[pvStage] % 2)
            # S(item) uses K[ks], Q[qb]; PV(prev) uses V[pvStage]
            if item + 1 < L:
                loadItem(work, item + 1, (gi + 1) % 2, (gi + 1) % 3, T)
            elif nxt < total and works[nxt][0] > 0:
                # K stage (gi+1)%2 must be free: S(item-1) done. Model: K stage freed when S completes (below)
                loadItem(nxt, 0, (gi + 1) % 2, (gi + 1) % 3, works[nxt][1])
                nextLoaded = True
            # wait<1>: S(item) done -> K stage free
            K[ks] = None
            # wait<0>: PV(prev) done
            if pvStage >= 0: pvDone()
            if item == L - 1:
                Qbuf[qb] = None  # last S of this work done: its Q buffer is free
            if outWork >= 0:
                writeOut(outWork, pvStage); outWork = -1
            pvStage = vs; pvTile = item < T
            gi += 1
        if L == 0:
            flush()
            outWork = work
            waitQ(qb, curQPar); Qbuf[qb] = None
            flush()
        else:
            outWork = work
        after = claimed
        seqWork += 1
        if nxt >= total: break
        work = nxt; curQPar = nxtQPar; sched_cur = works[work]
        if not nextLoaded and works[work][0] > 0:
            loadItem(work, 0, gi % 2, gi % 3, works[work][1])
        nxt = after
        if nxt < total:
            nb = (seqWork + 1) & 1
            nxtQPar = (qPar >> nb) & 1
            loadQ(nxt, nb); qPar ^= 1 << nb
    flush()
    assert written == list(range(total)), written
    for s in range(2): assert waitsK[s] == loadsK[s]
    for s in range(3): assert waitsV[s] == loadsV[s]

rng = random.Random(1)
for t in range(20000):
    n = rng.randint(1, 8)
    works = []
    for _ in range(n):
        L = rng.choice([0, 0, 1, 1, 2, 3, 5, 16])
        T = rng.randint(0, L)
        works.append((L, T))
    try:
        run(works, t)
    except AssertionError as e:
        print("FAIL", works, e); sys.exit(1)
print("ok")
