// RUN: %maskjit-opt %s --mask-classify-tiles | FileCheck %s

// Sliding window: causal and q - k < 512, as a DNF with its complement.
// CHECK-LABEL: mask.pattern @window
// CHECK-SAME:  mask.schedule = {clauses = {{\[\[}}{a = -1 : i64, b = 1 : i64, c = 0 : i64, terms = {Lk = 1 : i64, Lq = -1 : i64}}, {a = 1 : i64, b = -1 : i64, c = 511 : i64, terms = {}}]]
// CHECK-SAME:  complement = {{\[\[}}{a = 1 : i64, b = -1 : i64, c = -1 : i64, terms = {Lk = -1 : i64, Lq = 1 : i64}}], [{a = -1 : i64, b = 1 : i64, c = -512 : i64, terms = {}}]]
// CHECK-SAME:  has_complement = true
mask.pattern @window {
  %w = arith.constant 512 : i64
  %c = mask.causal
  %q = mask.var "q"
  %k = mask.var "k"
  %d = arith.subi %q, %k : i64
  %in = arith.cmpi slt, %d, %w : i64
  %r = arith.andi %c, %in : i1
  mask.yield %r
}

// A runtime param stays symbolic in the right-hand side.
// CHECK-LABEL: mask.pattern @runtime_window
// CHECK-SAME:  clauses = {{\[\[}}{a = 1 : i64, b = -1 : i64, c = -1 : i64, terms = {w = 1 : i64}}]]
mask.pattern @runtime_window {
  %w = mask.param "w" {runtime} : i64
  %q = mask.var "q"
  %k = mask.var "k"
  %d = arith.subi %q, %k : i64
  %in = arith.cmpi slt, %d, %w : i64
  mask.yield %in
}

// Equality splits into two atoms. `k % 64 == 0` is a congruence (a GATHER
// candidate); its negation, in the complement, is linear in k and its block
// of 64: k - 64 * floor(k / 64) != 0.
// CHECK-LABEL: mask.pattern @diag_or_stride
// CHECK-SAME:  clauses = {{\[\[}}{a = 1 : i64, b = -1 : i64, c = 0 : i64, terms = {}}, {a = -1 : i64, b = 1 : i64, c = 0 : i64, terms = {}}], [{a = 0 : i64, b = 1 : i64, c = 0 : i64, modulus = 64 : i64, offset = 0 : i64, offset_terms = {}, terms = {}}]]
// CHECK-SAME:  complement = {{\[\[}}{a = 1 : i64, b = -1 : i64, c = -1 : i64, terms = {}}, {a = 0 : i64, b = 1 : i64, c = -1 : i64, k_block = array<i64: -64, 64, 0>, terms = {}}], [{a = 1 : i64, b = -1 : i64, c = -1 : i64, terms = {}}, {a = 0 : i64, b = -1 : i64, c = -1 : i64, k_block = array<i64: 64, 64, 0>, terms = {}}]

mask.pattern @diag_or_stride {
  %q = mask.var "q"
  %k = mask.var "k"
  %eq = arith.cmpi eq, %q, %k : i64
  %s = arith.constant 64 : i64
  %m = mask.mod %k, %s
  %z = arith.constant 0 : i64
  %st = arith.cmpi eq, %m, %z : i64
  %r = arith.ori %eq, %st : i1
  mask.yield %r
}

// `(q - k) % 3 == 0`: opaque to the tiles, but marked as putting q and k
// in one class of positions mod 3 (a dilated pattern, run per class); its
// negation in the complement is marked too.
// CHECK-LABEL: mask.pattern @residue_mod
// CHECK-SAME:  clauses = {{\[\[}}{negated = false, opaque, residue = 3 : i64}]]
// CHECK-SAME:  complement = {{\[\[}}{negated = true, opaque, residue = 3 : i64}]]
mask.pattern @residue_mod {
  %q = mask.var "q"
  %k = mask.var "k"
  %d = arith.subi %q, %k : i64
  %s = arith.constant 3 : i64
  %m = mask.mod %d, %s
  %z = arith.constant 0 : i64
  %r = arith.cmpi eq, %m, %z : i64
  mask.yield %r
}

// Other modular terms stay opaque.
// CHECK-LABEL: mask.pattern @opaque_mod
// CHECK-SAME:  clauses = {{\[\[}}{opaque, where = "{{[^"]*}}classify_tiles.mlir:77:8"}]]
mask.pattern @opaque_mod {
  %q = mask.var "q"
  %k = mask.var "k"
  %d = arith.addi %q, %k : i64
  %s = arith.constant 3 : i64
  %m = mask.mod %d, %s
  %z = arith.constant 0 : i64
  %r = arith.cmpi eq, %m, %z : i64
  mask.yield %r
}

// The same runtime array read at q and at k: a document atom, decided at
// launch from the array's runs.
// CHECK-LABEL: mask.pattern @documents
// CHECK-SAME:  clauses = {{\[\[}}{a = -1 : i64, b = 1 : i64, c = 0 : i64, terms = {Lk = 1 : i64, Lq = -1 : i64}}, {negated = false, run_array = "doc"}]]
// CHECK-SAME:  complement = {{\[\[}}{a = 1 : i64, b = -1 : i64, c = -1 : i64, terms = {Lk = -1 : i64, Lq = 1 : i64}}], [{negated = true, run_array = "doc"}]]
mask.pattern @documents {
  mask.array_param "doc"
  %c = mask.causal
  %q = mask.var "q"
  %k = mask.var "k"
  %dq = mask.load "doc"[%q]
  %dk = mask.load "doc"[%k]
  %same = arith.cmpi eq, %dq, %dk : i64
  %r = arith.andi %c, %same : i1
  mask.yield %r
}

// Membership in a chosen set: `k in cols` is a column set (gathered by the
// kernel), `q - k in diagonals` a diagonal set; `q in cols` stays opaque.
// CHECK-LABEL: mask.pattern @sets
// CHECK-SAME:  clauses = {{\[\[}}{diagonal = false, negated = false, set = "topk_columns"}], [{diagonal = true, negated = false, set = "topk_diagonals"}], [{opaque, where = "{{[^"]*}}"}]]
// CHECK-SAME:  complement = {{\[\[}}{diagonal = false, negated = true, set = "topk_columns"}, {diagonal = true, negated = true, set = "topk_diagonals"}, {opaque, where = "{{[^"]*}}"}]]
mask.pattern @sets {
  %n = arith.constant 8 : i64
  %q = mask.var "q"
  %k = mask.var "k"
  %d = arith.subi %q, %k : i64
  %a = mask.in_selected "topk_columns" (%n, %n) contains %k
  %b = mask.in_selected "topk_diagonals" (%n, %n) contains %d
  %c = mask.in_array %q, "cols"
  %ab = arith.ori %a, %b : i1
  %r = arith.ori %ab, %c : i1
  mask.yield %r
}
