//===- MaskDialect.h - The mask dialect -------------------------*- C++ -*-===//
#ifndef MASKJIT_COMPILER_MASKDIALECT_H
#define MASKJIT_COMPILER_MASKDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/RegionKindInterface.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "maskjit/compiler/MaskDialect.h.inc"

#define GET_OP_CLASSES
#include "maskjit/compiler/MaskOps.h.inc"

#endif
