// Verifier errors of the mask dialect.
// RUN: %maskjit-opt %s --split-input-file --verify-diagnostics

mask.pattern @bad_var {
  // expected-error @+1 {{unknown index variable 'x'}}
  %x = mask.var "x"
  %c = mask.causal
  mask.yield %c
}

// -----

mask.pattern @bad_selector {
  %k = mask.var "k"
  %n = arith.constant 4 : i64
  // expected-error @+1 {{unknown selector 'topk_rows'}}
  %s = mask.in_selected "topk_rows"(%n, %n) contains %k
  mask.yield %s
}

// -----

mask.pattern @bad_dispatch {
  // expected-error @+1 {{needs one head range per arm}}
  %r = mask.dispatch heads [0] to [3, -1] {
    %c = mask.causal
    mask.yield %c
  }
  mask.yield %r
}
