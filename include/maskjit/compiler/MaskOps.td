//===- MaskOps.td - Operations of the mask dialect ---------*- tablegen -*-===//
#ifndef MASKJIT_MASK_OPS
#define MASKJIT_MASK_OPS

include "maskjit/compiler/MaskDialect.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/RegionKindInterface.td"

def Mask_PatternOp : Mask_Op<"pattern", [Symbol, IsolatedFromAbove,
    SingleBlock]> {
  let summary = "A named attention pattern";
  let description = [{
    The body computes one `i1`: whether query `q` may attend key `k`. Pattern
    calls of the source are inlined; `mask.param` ops name the parameters.
    Passes add attributes: `mask.tile` (BM, BN) and `mask.schedule`.
  }];
  let arguments = (ins SymbolNameAttr:$sym_name);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $body";
  let hasVerifier = 1;
}

def Mask_YieldOp : Mask_Op<"yield", [Pure, Terminator,
    ParentOneOf<["PatternOp", "DispatchOp"]>]> {
  let summary = "The value of a pattern body or a dispatch arm";
  let arguments = (ins I1:$value);
  let assemblyFormat = "$value attr-dict";
}

def Mask_VarOp : Mask_Op<"var", [Pure]> {
  let summary = "An index variable: q, k, h, b, Lq or Lk";
  let arguments = (ins StrAttr:$name);
  let results = (outs I64:$result);
  let assemblyFormat = "$name attr-dict";
  let hasVerifier = 1;
}

def Mask_ParamOp : Mask_Op<"param", [Pure]> {
  let summary = "A pattern parameter";
  let description = [{
    `runtime` params stay symbolic through specialization; the others are
    replaced by their bound value or `default`. `per_head` params
    (`int[heads]`) read the current head's value.
  }];
  let arguments = (ins StrAttr:$name, UnitAttr:$runtime, UnitAttr:$per_head,
                       OptionalAttr<I64Attr>:$default_value);
  let results = (outs AnyTypeOf<[I64, I1]>:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

def Mask_ArrayParamOp : Mask_Op<"array_param", [Pure]> {
  let summary = "A runtime int[] array parameter, named";
  let arguments = (ins StrAttr:$name);
  let assemblyFormat = "$name attr-dict";
}

def Mask_LoadOp : Mask_Op<"load", [Pure]> {
  let summary = "Element `index` of the runtime array `array`";
  let arguments = (ins StrAttr:$array, I64:$index);
  let results = (outs I64:$result);
  let assemblyFormat = "$array `[` $index `]` attr-dict";
}

def Mask_CausalOp : Mask_Op<"causal", [Pure]> {
  let summary = "k <= q + (Lk - Lq): bottom-right aligned causality";
  let results = (outs I1:$result);
  let assemblyFormat = "attr-dict";
}

def Mask_DivOp : Mask_Op<"div", [Pure]> {
  let summary = "Floor division";
  let arguments = (ins I64:$lhs, I64:$rhs);
  let results = (outs I64:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict";
  let hasFolder = 1;
}

def Mask_ModOp : Mask_Op<"mod", [Pure]> {
  let summary = "Floor modulo (the result has the sign of the divisor)";
  let arguments = (ins I64:$lhs, I64:$rhs);
  let results = (outs I64:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict";
  let hasFolder = 1;
}

def Mask_InArrayOp : Mask_Op<"in_array", [Pure]> {
  let summary = "Whether `value` is one of the elements of runtime array `array`";
  let arguments = (ins I64:$value, StrAttr:$array);
  let results = (outs I1:$result);
  let assemblyFormat = "$value `,` $array attr-dict";
}

def Mask_InSelectedOp : Mask_Op<"in_selected", [Pure]> {
  let summary = "Membership in a set chosen at run time by a dynamic selector";
  let description = [{
    `selector` is `topk_columns`, `topk_diagonals` or `topk_blocks`; `count`
    and `arg` are the selector's two arguments (count and last_q or block).
  }];
  let arguments = (ins I64:$value, StrAttr:$selector, I64:$count, I64:$arg);
  let results = (outs I1:$result);
  let assemblyFormat = "$selector `(` $count `,` $arg `)` `contains` $value attr-dict";
  let hasVerifier = 1;
}

def Mask_DispatchOp : Mask_Op<"dispatch", [
    RecursiveMemoryEffects, NoRegionArguments]> {
  let summary = "Per-head dispatch: arm i applies to heads first[i]..last[i]";
  let description = [{
    `last` is -1 for an open range (to the last head). Each region yields the
    arm's `i1`.
  }];
  let arguments = (ins DenseI64ArrayAttr:$first, DenseI64ArrayAttr:$last);
  let results = (outs I1:$result);
  let regions = (region VariadicRegion<SizedRegion<1>>:$arms);
  let assemblyFormat = "`heads` $first `to` $last attr-dict-with-keyword $arms";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Moves arm `i`'s operations in front of this op (dropping its
    /// mask.yield) and returns the value the arm yielded.
    ::mlir::Value inlineArm(unsigned i);
  }];
}

#endif
