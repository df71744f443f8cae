//===- FrontendFuzzer.cpp - libFuzzer target for parser + sema ------------===//
//
// Any byte string must give either a checked program or diagnostics: no
// crash, no leak, no undefined behaviour, no unbounded recursion. When the
// input checks, every pattern is also bound and a few rows are evaluated,
// so the evaluator's binder and trap handling are fuzzed too.
//
//===----------------------------------------------------------------------===//
#include "maskjit/dsl/Evaluator.h"
#include "maskjit/dsl/Frontend.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace maskjit::dsl;
  if (size > 1 << 16)
    return 0;
  Frontend fe;
  const Program *program = fe.loadString(
      "fuzz.mask", std::string(reinterpret_cast<const char *>(data), size));
  std::string rendered = fe.diags().str(); // Rendering must not crash either.
  if (!program)
    return 0;
  Selections sel;
  sel.columns = std::vector<int64_t>{0, 3};
  sel.diagonals = std::vector<int64_t>{0, 1};
  sel.blocks = std::vector<std::vector<int64_t>>{{0}, {0, 1}};
  for (const auto &[name, pattern] : program->patterns) {
    ParamBindings params;
    for (const ParamDecl &p : pattern->params) {
      if (p.type == Type::IntArray || p.type == Type::HeadArray)
        params[p.name] = ParamValue::ints({0, 0, 1, 1, 2, 2, 3, 3});
      else if (!p.defaultConstant)
        params[p.name] = p.type == Type::Bool ? ParamValue::boolean(true)
                                              : ParamValue::integer(3);
      if (p.type == Type::HeadArray)
        params[p.name].type = Type::HeadArray;
    }
    try {
      MaskEvaluator eval(*program, *pattern, params, sel, {8, 8, 1, 0});
      std::vector<uint8_t> row(8);
      for (int64_t q = 0; q < 8; ++q) {
        eval.row(q, row.data());
        for (int64_t k = 0; k < 8; ++k)
          if ((eval.allowed(q, k) ? 1 : 0) != row[k])
            __builtin_trap(); // The two evaluation paths must agree.
      }
    } catch (const MaskError &) {
      // Bad values for this shape: a reported error, fine.
    }
  }
  return 0;
}
