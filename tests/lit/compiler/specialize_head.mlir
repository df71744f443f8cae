// RUN: %maskjit-opt %s --mask-specialize="head=9" | FileCheck %s --check-prefix=H9
// RUN: %maskjit-opt %s --mask-specialize="head=2" | FileCheck %s --check-prefix=H2
// RUN: %maskjit-opt %s --mask-specialize | FileCheck %s --check-prefix=KEEP

// H9-LABEL: mask.pattern @mixed
// H9-NOT:   mask.dispatch
// H9:       %[[R:.*]] = arith.cmpi eq
// H9:       mask.yield %[[R]]
// H2-NOT:   mask.dispatch
// H2:       %[[C:.*]] = mask.causal
// H2-NEXT:  mask.yield %[[C]]
// KEEP:     mask.dispatch
mask.pattern @mixed {
  %r = mask.dispatch heads [0, 8] to [7, -1] {
    %c = mask.causal
    mask.yield %c
  }, {
    %q = mask.var "q"
    %k = mask.var "k"
    %e = arith.cmpi eq, %q, %k : i64
    mask.yield %e
  }
  mask.yield %r
}
