#!/usr/bin/env python3
"""How much K/V traffic block top-k could save if neighbouring query blocks
shared the key blocks they both chose: for groups of 2 and 4 adjacent query
blocks, the distinct key blocks over the sum of each one's choices, over all
heads. Reads the sets `maskc run ... --export-sets FILE` writes.
Usage: block_overlap.py SETS.json [SETS.json ...]"""
import json
import sys


def overlap(path, groups=(2, 4)):
    heads = json.load(open(path))["heads"]
    chosen = {g: 0 for g in groups}
    distinct = {g: 0 for g in groups}
    for head in heads:
        rows = head["blocks"]
        for g in groups:
            for i in range(0, len(rows), g):
                group = rows[i:i + g]
                chosen[g] += sum(len(r) for r in group)
                distinct[g] += len(set().union(*map(set, group)))
    return {g: distinct[g] / chosen[g] for g in groups if chosen[g]}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        ratios = overlap(path)
        print(path + ": " + ", ".join(
            f"{g} query blocks load {r:.3f} of the tiles they use" for g, r in ratios.items()))


if __name__ == "__main__":
    main()
