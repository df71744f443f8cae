// mask-specialize reports a division by zero or an overflow that the bound
// values make certain, before folding would wrap it; an operation a
// constant condition rules out is not checked (the evaluator never runs it).
// RUN: not %maskjit-opt %s --split-input-file --mask-specialize="bindings=d=0" 2>&1 | FileCheck %s

// CHECK: :[[@LINE+4]]:8: error: modulo by zero: the divisor is 0 once the compile-time values are bound
mask.pattern @modzero {
  %k = mask.var "k"
  %d = mask.param "d" : i64
  %m = mask.mod %k, %d
  %z = arith.constant 0 : i64
  %r = arith.cmpi eq, %m, %z : i64
  mask.yield %r
}

// -----

// `d == 0 or k % d == 0`: the right side is never evaluated.
// CHECK-NOT: error
mask.pattern @guarded {
  %k = mask.var "k"
  %d = mask.param "d" : i64
  %z = arith.constant 0 : i64
  %isz = arith.cmpi eq, %d, %z : i64
  %m = mask.mod %k, %d
  %e = arith.cmpi eq, %m, %z : i64
  %r = arith.ori %isz, %e : i1
  mask.yield %r
}

// -----

// CHECK: :[[@LINE+7]]:8: error: integer overflow (9223372036854775807 + 1) once the compile-time values are bound
mask.pattern @overflow {
  %unused = mask.param "d" : i64
  %q = mask.var "q"
  %k = mask.var "k"
  %w = arith.constant 9223372036854775807 : i64
  %one = arith.constant 1 : i64
  %s = arith.addi %w, %one : i64
  %d = arith.subi %q, %k : i64
  %r = arith.cmpi slt, %d, %s : i64
  mask.yield %r
}
