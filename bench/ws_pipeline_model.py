#!/usr/bin/env python3
"""Model of the synchronization of the Hopper kernel's warp-specialized loop
(square tiles, codegen/kernels/sm90/mainloop_ws.inc).

The producer and the consumer run as coroutines under a random scheduler;
mbarriers are modelled with their phase and pending arrivals (try_wait on
parity p succeeds once the phase of parity p has completed: at once on a
fresh barrier for p = 1). Copies land after a random delay. Over many random
work sequences (works with no item included) it checks that nothing
deadlocks, that every item the consumer computes is the one the producer
loaded for it (stage contents tagged with (work, item)), that the Q it
reads is its work's, that a stage or Q is never overwritten while in use,
and that every work is consumed once, in the producer's order — with one
consumer warpgroup (64 x 64 tiles) and with two (128 x 128) that share the
stages, with and without their taking turns at the tensor cores
(MJ_EXP_WS_PINGPONG: named barriers, modelled as tokens).
Usage: bench/ws_pipeline_model.py [runs]  (exit status 1 on a violation)
"""
import random
import sys

STAGES = 3


class Barrier:
    def __init__(self, count):
        self.count, self.pending, self.phase = count, count, 0

    def arrive(self):
        self.pending -= 1
        assert self.pending >= 0
        if self.pending == 0:
            self.phase += 1
            self.pending = self.count

    def done(self, parity):
        # The phase of this parity has completed: the current one has the
        # other parity.
        return self.phase % 2 != parity


def run(rng, works, consumers=1, pingpong=False):
    full = [Barrier(1) for _ in range(STAGES)]
    empty = [Barrier(consumers) for _ in range(STAGES)]
    q_full, q_empty = Barrier(1), Barrier(consumers)
    work_full, work_empty = Barrier(1), Barrier(consumers)
    stage_tag = [None] * STAGES  # what a stage holds (once landed)
    # consumers that have not released a stage / Q yet
    stage_busy = [set() for _ in range(STAGES)]
    q_tag, q_busy = [None], set()
    slot = {}
    in_flight = []  # (time left, action) of copies under way
    consumed = [[] for _ in range(consumers)]
    turn = [0, 0]  # named barriers 1 and 2 as tokens (an arrival not yet synced)

    def producer():
        ep, qep, wep = [1] * STAGES, 1, 1
        seq = 0
        for w, n in enumerate(works + [None]):
            while not work_empty.done(wep):
                yield
            wep ^= 1
            if n is None:
                slot["n"] = -1
                work_full.arrive()
                return
            slot["w"], slot["n"] = w, n
            work_full.arrive()
            for item in range(n):
                st = (seq + item) % STAGES
                while not empty[st].done(ep[st]):
                    yield
                ep[st] ^= 1
                assert not stage_busy[st], "stage overwritten while in use"

                def land(st=st, tag=(w, item)):
                    stage_tag[st] = tag
                    full[st].arrive()
                in_flight.append([rng.randint(1, 6), land])
                if item == 0:
                    while not q_empty.done(qep):
                        yield
                    qep ^= 1
                    assert not q_busy, "Q overwritten while in use"

                    def land_q(tag=w):
                        q_tag[0] = tag
                        q_full.arrive()
                    in_flight.append([rng.randint(1, 6), land_q])
                yield
            seq += n

    def consumer(c):
        fp, qfp, wfp = [0] * STAGES, 0, 0
        seq = 0
        if pingpong and c == 1:
            turn[0] += 1  # warpgroup 1 hands the first turn to warpgroup 0
        while True:
            while not work_full.done(wfp):
                yield
            wfp ^= 1
            n = slot["n"]
            w = slot.get("w")
            work_empty.arrive()
            if n < 0:
                if pingpong and c == 0:
                    while turn[0] == 0:  # warpgroup 1's last hand-over
                        yield
                    turn[0] -= 1
                return
            consumed[c].append(w)
            if n > 0:
                while not q_full.done(qfp):
                    yield
                qfp ^= 1
                assert q_tag[0] == w, f"work {w} read the Q of work {q_tag[0]}"
                q_busy.add(c)
            for item in range(n):
                st = (seq + item) % STAGES
                while not full[st].done(fp[st]):
                    yield
                fp[st] ^= 1
                assert stage_tag[st] == (w, item), f"{(w, item)} got {stage_tag[st]}"
                stage_busy[st].add(c)
                if pingpong:
                    while turn[c] == 0:  # my turn to issue S and PV
                        yield
                    turn[c] -= 1
                assert q_tag[0] == w, f"work {w}'s S read the Q of work {q_tag[0]}"
                if pingpong:
                    turn[1 - c] += 1
                yield  # S and the PV of the item before run
                if item == n - 1:
                    q_busy.discard(c)
                    q_empty.arrive()
                if item > 0:
                    prev = (seq + item - 1) % STAGES
                    stage_busy[prev].discard(c)
                    empty[prev].arrive()
                yield
            if n > 0:
                last = (seq + n - 1) % STAGES
                stage_busy[last].discard(c)
                empty[last].arrive()
            seq += n
            yield  # output

    agents = [producer()] + [consumer(c) for c in range(consumers)]
    for step in range(100000):
        for c in in_flight:
            c[0] -= 1
        for c in [c for c in in_flight if c[0] <= 0]:
            in_flight.remove(c)
            c[1]()
        if not agents:
            break
        a = rng.choice(agents)
        try:
            next(a)
        except StopIteration:
            agents.remove(a)
    else:
        raise AssertionError("deadlock (no progress in 100000 steps)")
    for c in range(consumers):
        assert consumed[c] == list(range(len(works))), consumed
    assert turn == [0, 0], f"named barriers left half-arrived: {turn}"


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rng = random.Random(5)
    for r in range(runs):
        works = [rng.choice([0, 1, 1, 2, 3, 5, 16]) for _ in range(rng.randint(1, 12))]
        for consumers, pingpong in ((1, False), (2, False), (2, True)):
            try:
                run(rng, works, consumers, pingpong)
            except AssertionError as e:
                print(f"run {r}, works {works}, {consumers} consumers, ping-pong {pingpong}: {e}")
                return 1
    print(f"ws pipeline model: {runs} random work sequences, no violation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
