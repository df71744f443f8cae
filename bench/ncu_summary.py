#!/usr/bin/env python3
"""Summarizes an ncu source page (`ncu -i R --page source --csv --print-source sass`):
stall reasons over the kernel, the instructions with the most stall samples,
the share of samples in per-work code (instructions run at most a third as
often as the most frequent one), and the accesses with excess L2 sectors.
Usage: ncu_summary.py FILE.csv [top]"""
import csv
import sys


def main():
    rows = list(csv.reader(open(sys.argv[1])))
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    header, data = rows[1], rows[2:]
    col = {h: i for i, h in enumerate(header)}

    def num(r, k):
        try:
            return float(r[col[k]])
        except (KeyError, IndexError, ValueError):
            return 0.0

    samples = "Warp Stall Sampling (All Samples)"
    total = sum(num(r, samples) for r in data) or 1.0
    stalls = [h for h in header if h.startswith("stall_") and "Not Issued" not in h]
    by_reason = sorted(((sum(num(r, s) for r in data), s) for s in stalls), reverse=True)
    print("stall samples: " + ", ".join(
        f"{s[6:]} {v / total * 100:.1f}%" for v, s in by_reason if v > 0.005 * total))
    most = max(num(r, "Instructions Executed") for r in data)
    rare = sum(num(r, samples) for r in data
               if 0 < num(r, "Instructions Executed") <= most / 3)
    print(f"samples in code run at most a third as often as the hottest: {rare / total * 100:.1f}%")
    print("instructions with the most samples (index, share, two top reasons, executions):")
    order = sorted(range(len(data)), key=lambda i: -num(data[i], samples))
    for i in order[:top]:
        r = data[i]
        reasons = sorted(((num(r, s), s[6:]) for s in stalls), reverse=True)[:2]
        print(f"{i:5d} {num(r, samples) / total * 100:5.2f}% "
              f"{reasons[0][1]}:{reasons[0][0]:.0f} {reasons[1][1]}:{reasons[1][0]:.0f} "
              f"x{num(r, 'Instructions Executed'):.0f} | {r[col['Source']].strip()}")
    excess = "L2 Theoretical Sectors Global Excessive"
    worst = sorted(range(len(data)), key=lambda i: -num(data[i], excess))[:5]
    for i in worst:
        if num(data[i], excess) > 0:
            print(f"excess sectors {num(data[i], excess):.0f} of "
                  f"{num(data[i], 'L2 Theoretical Sectors Global'):.0f} | "
                  f"{data[i][col['Source']].strip()}")


if __name__ == "__main__":
    main()
