//===- SymbolicUtil.h - The symbolic schedule of a test pattern -*- C++ -*-===//
#ifndef MASKJIT_TESTS_SYMBOLICUTIL_H
#define MASKJIT_TESTS_SYMBOLICUTIL_H

#include "TestUtil.h"

#include "maskjit/compiler/MaskDialect.h"
#include "maskjit/compiler/Pipeline.h"
#include "maskjit/compiler/SymbolicSchedule.h"

#include <sstream>
#include <stdexcept>

namespace maskjit::test {

/// What `mask-classify-tiles` derives for pattern `name` with the given
/// compile options (bindings, head, tiles); throws on a compile error.
inline mask::SymbolicSchedule symbolicFor(const Loaded &l,
                                          const std::string &name,
                                          const mask::CompileOptions &opts) {
  mlir::MLIRContext context;
  std::ostringstream errors;
  auto module = mask::compilePattern(context, *l.program, l.pattern(name),
                                     l.fe->sources(), opts,
                                     mask::Stage::Schedule, errors);
  if (!module)
    throw std::runtime_error("compile failed: " + errors.str());
  mask::PatternOp op = *module->getOps<mask::PatternOp>().begin();
  auto sym =
      mask::fromAttr(op->getAttrOfType<mlir::DictionaryAttr>("mask.schedule"));
  if (!sym)
    throw std::runtime_error("no schedule");
  return *sym;
}

} // namespace maskjit::test

#endif
