#!/usr/bin/env bash
# The runtime takes a plan, not the AST: every runtime source (and the plan
# header it reads) compiles with the project's headers alone — no MLIR, no
# LLVM — and reaches no front-end (dsl/) header, directly or through
# another header. The schedule library (schedule/, which AOT kernels link)
# reaches no compiler/ header either. Usage: runtime_layering.sh <repo root> <c++ compiler>
set -euo pipefail
root=$1 cxx=$2
status=0
for f in "$root"/runtime/*.cpp "$root"/include/maskjit/plan/KernelPlan.h "$root"/schedule/*.cpp; do
  if ! deps=$("$cxx" -std=c++17 -I"$root/include" -M -x c++ "$f" 2>&1); then
    echo "$f does not compile on the project's headers alone:"
    echo "$deps" | head -5
    status=1
    continue
  fi
  if echo "$deps" | tr ' ' '\n' | grep -q "include/maskjit/dsl/"; then
    echo "$f reaches a front-end header:"
    echo "$deps" | tr ' ' '\n' | grep "include/maskjit/dsl/"
    status=1
  fi
  if [[ $f == "$root"/schedule/* ]] &&
     echo "$deps" | tr ' ' '\n' | grep -q "include/maskjit/compiler/"; then
    echo "$f (schedule library) reaches a compiler header:"
    echo "$deps" | tr ' ' '\n' | grep "include/maskjit/compiler/"
    status=1
  fi
done
[ $status = 0 ] && echo "runtime and schedule: no MLIR, no front-end header"
exit $status
