//===- Passes.td - maskjit compiler passes -----------------*- tablegen -*-===//
#ifndef MASKJIT_PASSES
#define MASKJIT_PASSES

include "mlir/Pass/PassBase.td"

def MaskSpecialize : Pass<"mask-specialize", "::mlir::ModuleOp"> {
  let summary = "Bind compile-time parameters; keep runtime ones symbolic";
  let description = [{
    Replaces every non-runtime `mask.param` by its bound value (given
    typed by the pipeline, or as option `bindings`, `name=value` pairs, in
    a textual pipeline) or its default, resolves `mask.dispatch`
    when the head is given (`head` >= 0), then folds constants.
  }];
  let options = [
    ListOption<"bindings", "bindings", "std::string",
               "Values of compile-time parameters, as name=value">,
    Option<"head", "head", "int64_t", /*default=*/"-1",
           "Specialize per-head dispatch for this head (-1: keep it)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def MaskTile : Pass<"mask-tile", "::mlir::ModuleOp"> {
  let summary = "Choose the tile size (BM x BN) for the target";
  let description = [{
    Attaches `mask.tile = array<i64: BM, BN>` to every pattern, chosen from
    the head dimension, the data type and the target architecture, unless
    `tile-m`/`tile-n` force a size.
  }];
  let options = [
    Option<"headDim", "head-dim", "int64_t", /*default=*/"128", "Head dimension">,
    Option<"dtype", "dtype", "std::string", /*default=*/"\"bf16\"", "bf16 or fp16">,
    Option<"arch", "arch", "std::string", /*default=*/"\"sm_90a\"", "Target: sm_80, sm_90a, ...">,
    Option<"tileM", "tile-m", "int64_t", /*default=*/"0", "Force BM">,
    Option<"tileN", "tile-n", "int64_t", /*default=*/"0", "Force BN">
  ];
}

def MaskClassifyTiles : Pass<"mask-classify-tiles", "::mlir::ModuleOp"> {
  let summary = "Derive the KV schedule: FULL, PARTIAL and EMPTY tiles";
  let description = [{
    Puts each pattern's mask in disjunctive normal form over linear atoms
    `a*q + b*k <= rhs` (rhs affine in Lq, Lk and runtime params), with its
    complement, and attaches it as `mask.schedule`. At launch the symbols are
    bound and each query tile's key-tile segments follow in O(1) per boundary
    (see KvSchedule.h). Terms it cannot reason about (modular, selectors,
    arrays) become opaque atoms, which only make tiles PARTIAL: sound always,
    exact for affine patterns over q, k and q - k.
  }];
}

def MaskLowerToEmitC : Pass<"mask-lower-to-emitc", "::mlir::ModuleOp"> {
  let summary = "Lower each pattern's predicate to an EmitC function";
  let description = [{
    Adds `emitc.func @<pattern>_allowed(q, k, h, b, Lq, Lk, args) -> i1`
    next to each (specialized) pattern: per-head dispatch becomes a select
    on `h`, `causal` its inequality, floor division and modulo calls of
    maskjit's device helpers, and runtime params, arrays and selected sets
    reads through the `args` pointer (macros of the kernel template). Only
    PARTIAL tiles and gathered keys evaluate it.
  }];
  let dependentDialects = ["::mlir::emitc::EmitCDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif
