// RUN: %maskjit-opt %s --mask-lower-to-emitc | FileCheck %s
// RUN: %maskjit-opt %s --mask-lower-to-emitc | %maskjit-opt --cse | FileCheck %s --check-prefix=ROUNDTRIP

// The pattern stays (it carries the schedule); a predicate function is added.
// CHECK-LABEL: mask.pattern @p
// CHECK:       emitc.func @p_allowed(%[[Q:.*]]: i64, %[[K:.*]]: i64, %[[H:.*]]: i64, %[[B:.*]]: i64, %[[LQ:.*]]: i64, %[[LK:.*]]: i64, %[[ARGS:.*]]: !emitc.ptr<!emitc.opaque<"const maskjit_args">>) -> i1 attributes {specifiers = ["static", "__device__", "__forceinline__"]}
// Runtime params are read through the arguments; floor modulo is a helper.
// CHECK:       call_opaque "MASKJIT_PARAM"(%[[ARGS]]) {args = [0 : index, #emitc.opaque<"stride">]}
// CHECK:       call_opaque "maskjit_floormod"(%[[K]],
// Per-head dispatch is a select on h.
// CHECK:       cmp ge, %[[H]]
// CHECK:       conditional
// Causal is expanded: k <= q + (Lk - Lq).
// CHECK:       cmp le, %[[K]]
// CHECK:       return
// ROUNDTRIP:   emitc.func @p_allowed
mask.pattern @p {
  %r = mask.dispatch heads [0, 4] to [3, -1] {
    %c = mask.causal
    mask.yield %c
  }, {
    %s = mask.param "stride" {runtime} : i64
    %k = mask.var "k"
    %m = mask.mod %k, %s
    %z = arith.constant 0 : i64
    %e = arith.cmpi eq, %m, %z : i64
    mask.yield %e
  }
  mask.yield %r
}
