#!/usr/bin/env python3
"""Writes one hostile-but-valid .mask file: `hostile.py KIND N OUT`.

Kinds (N sets the size):
  letchain   let a_i = a_(i-1) + 1, N lets, then `a_N > 0`
  letdouble  let a_i = a_(i-1) + a_(i-1), N lets
  letmany    N independent lets (a quadratic name lookup shows here)
  params     a pattern with N params
  absnest    abs(abs(... N levels ...(q - k))) < 5
  abslets    14 lets, each wrapping the previous in N abs(
  fanout     p_i { p_(i-1)() or p_(i-1)() }, N levels
"""
import sys

kind, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = []
if kind == "letchain":
    lines.append("pattern p {")
    lines.append("  let a0 = q - k")
    lines += [f"  let a{i} = a{i-1} + 1" for i in range(1, n)]
    lines.append(f"  a{n-1} > 0")
    lines.append("}")
elif kind == "letdouble":
    lines.append("pattern p {")
    lines.append("  let a0 = q - k")
    lines += [f"  let a{i} = a{i-1} + a{i-1}" for i in range(1, n)]
    lines.append(f"  a{n-1} > 0")
    lines.append("}")
elif kind == "letmany":
    lines.append("pattern p {")
    lines += [f"  let a{i} = q - k + {i}" for i in range(n)]
    lines.append("  a0 > 0")
    lines.append("}")
elif kind == "params":
    ps = ", ".join(f"x{i}: int = {i}" for i in range(n))
    lines.append(f"pattern p({ps}) {{ q - k < x0 }}")
elif kind == "absnest":
    lines.append("pattern p { " + "abs(" * n + "q - k" + ")" * n + " < 5 }")
elif kind == "abslets":
    lines.append("pattern p {")
    lines.append("  let a0 = q - k")
    lines += [f"  let a{i} = " + "abs(" * n + f"a{i-1}" + ")" * n
              for i in range(1, 14)]
    lines.append("  a13 < 5")
    lines.append("}")
elif kind == "fanout":
    lines.append("pattern p0 { q - k < 4 }")
    lines += [f"pattern p{i} {{ p{i-1}() or p{i-1}() }}" for i in range(1, n)]
else:
    sys.exit(f"hostile.py: unknown kind {kind}")
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
