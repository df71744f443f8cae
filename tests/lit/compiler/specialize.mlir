// RUN: %maskjit-opt %s --mask-specialize="bindings=window=512" --cse | FileCheck %s
// RUN: %maskjit-opt %s --mask-specialize | FileCheck %s --check-prefix=DEFAULT
// RUN: not %maskjit-opt %s --mask-specialize="bindings=nope=3" 2>&1 | FileCheck %s --check-prefix=UNKNOWN

// Compile-time params become constants; runtime ones stay.
// CHECK-LABEL: mask.pattern @sliding
// CHECK-DAG:   %[[W:.*]] = arith.constant 512 : i64
// CHECK-DAG:   %[[S:.*]] = mask.param "stride" {runtime} : i64
// CHECK:       arith.cmpi slt, %{{.*}}, %[[W]] : i64
// CHECK:       mask.mod %{{.*}}, %[[S]]
// DEFAULT:     arith.constant 4096 : i64
// UNKNOWN:     error: mask-specialize: no compile-time parameter 'nope' to bind
mask.pattern @sliding {
  %w = mask.param "window" {default_value = 4096 : i64} : i64
  %s = mask.param "stride" {runtime} : i64
  %c = mask.causal
  %q = mask.var "q"
  %k = mask.var "k"
  %d = arith.subi %q, %k : i64
  %in = arith.cmpi slt, %d, %w : i64
  %m = mask.mod %k, %s
  %zero = arith.constant 0 : i64
  %st = arith.cmpi eq, %m, %zero : i64
  %any = arith.ori %in, %st : i1
  %r = arith.andi %c, %any : i1
  mask.yield %r
}

// Folding: constant arithmetic, floor division and modulo.
// CHECK-LABEL: mask.pattern @folds
// CHECK-NOT:   mask.div
// CHECK-NOT:   mask.mod
// CHECK:       %[[T:.*]] = arith.constant true
// CHECK-NEXT:  mask.yield %[[T]]
mask.pattern @folds {
  %a = arith.constant -7 : i64
  %b = arith.constant 2 : i64
  %d = mask.div %a, %b
  %m = mask.mod %a, %b
  %want_d = arith.constant -4 : i64
  %want_m = arith.constant 1 : i64
  %x = arith.cmpi eq, %d, %want_d : i64
  %y = arith.cmpi eq, %m, %want_m : i64
  %r = arith.andi %x, %y : i1
  mask.yield %r
}
