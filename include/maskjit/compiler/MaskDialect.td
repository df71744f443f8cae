//===- MaskDialect.td - The mask dialect -------------------*- tablegen -*-===//
#ifndef MASKJIT_MASK_DIALECT
#define MASKJIT_MASK_DIALECT

include "mlir/IR/OpBase.td"

def Mask_Dialect : Dialect {
  let name = "mask";
  let summary = "Attention sparsity patterns";
  let description = [{
    A pattern is a boolean function of the query position `q`, the key
    position `k`, the head `h`, the batch index `b` and the lengths `Lq`,
    `Lk`, with parameters that are compile-time constants or runtime values.
    Integer arithmetic is 64-bit (`i64`) and reuses `arith` where the
    semantics match; `mask.div` and `mask.mod` round toward negative
    infinity, as the language does.
  }];
  let cppNamespace = "::maskjit::mask";
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

class Mask_Op<string mnemonic, list<Trait> traits = []>
    : Op<Mask_Dialect, mnemonic, traits>;

#endif
