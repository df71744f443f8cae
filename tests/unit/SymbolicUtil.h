//===- SymbolicUtil.h - The symbolic schedule of a test pattern -*- C++ -*-===//
#ifndef MASKJIT_TESTS_SYMBOLICUTIL_H
#define MASKJIT_TESTS_SYMBOLICUTIL_H

#include "TestUtil.h"

#include "maskjit/compiler/MaskDialect.h"
#include "maskjit/compiler/Pipeline.h"
#include "maskjit/compiler/SymbolicSchedule.h"

#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

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

/// `n` values drawn uniformly from [lo, hi] (repeats possible): a random
/// set as a selector or a user might give it.
inline std::vector<int64_t> randomSet(std::mt19937_64 &rng, int n, int64_t lo,
                                      int64_t hi) {
  std::vector<int64_t> v;
  for (int i = 0; i < n; ++i)
    v.push_back(lo + static_cast<int64_t>(rng() % (hi - lo + 1)));
  return v;
}

} // namespace maskjit::test

#endif
