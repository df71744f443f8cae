//===- Evaluator.h - The reference meaning of a pattern ---------*- C++ -*-===//
//
// The CPU oracle for every later test: given a checked pattern, values for
// its params, the sequence lengths, a head, a batch index and (for dynamic
// patterns) the chosen sets, says whether query q may attend key k.
//
// A pattern is bound once: pattern calls are inlined, params, h, b, Lq and Lk
// become constants, per-head dispatch picks its arm, and constant parts fold.
// Rows are then evaluated over chunks of keys by a flat, branch-free program;
// a chunk that traps (division by zero, overflow, index out of range) is
// evaluated again one key at a time with the language's lazy semantics
// (`false and x` never evaluates x), which either gives the value or reports
// the error at its source location.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_DSL_EVALUATOR_H
#define MASKJIT_DSL_EVALUATOR_H

#include "maskjit/dsl/Ast.h"
#include "maskjit/support/Selections.h"

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace maskjit::dsl {

/// An error found while binding or evaluating a pattern, with the place in
/// the `.mask` source that caused it when there is one.
class MaskError : public std::runtime_error {
public:
  MaskError(std::string message, std::optional<Location> loc = std::nullopt)
      : std::runtime_error(std::move(message)), loc(loc) {}
  std::optional<Location> loc;
};

/// The value of a parameter: an int or bool scalar, or an array.
struct ParamValue {
  Type type = Type::Int;
  int64_t scalar = 0;
  std::vector<int64_t> array;

  static ParamValue integer(int64_t v) { return {Type::Int, v, {}}; }
  static ParamValue boolean(bool v) { return {Type::Bool, v ? 1 : 0, {}}; }
  static ParamValue ints(std::vector<int64_t> v) {
    return {Type::IntArray, 0, std::move(v)};
  }
};

using ParamBindings = std::map<std::string, ParamValue>;

/// The sets chosen by the dynamic selectors for the evaluated (batch, head).
using Selections = maskjit::Selections;

struct EvalShape {
  int64_t lq = 0;
  int64_t lk = 0;
  int64_t head = 0;
  int64_t batch = 0;
};

class MaskEvaluator {
public:
  /// Binds `pattern` for one shape. Throws MaskError for a missing or
  /// mistyped param, an unknown param name, an uncovered head, a missing
  /// selection, or a pattern too large to inline.
  MaskEvaluator(const Program &program, const PatternDecl &pattern,
                const ParamBindings &params, const Selections &selections,
                const EvalShape &shape);
  ~MaskEvaluator();
  MaskEvaluator(MaskEvaluator &&) noexcept;

  const EvalShape &shape() const { return shape_; }

  /// One (q, k) pair, lazily evaluated. Throws MaskError.
  bool allowed(int64_t q, int64_t k) const;
  /// out[k] = allowed(q, k) for k in [0, Lk). Throws MaskError.
  void row(int64_t q, uint8_t *out) const;

  /// Number of nodes of the bound program (for tests and `--stats`).
  size_t programSize() const;
  /// True when the bound mask does not depend on k at all.
  bool constantResult(bool &value) const;

  struct Program_; ///< The bound program (an implementation detail).

private:
  std::unique_ptr<Program_> prog_;
  EvalShape shape_;
};

/// Names of the dynamic selectors a pattern uses (through calls too), for
/// the given head.
std::vector<Builtin> selectorsUsed(const Program &program,
                                   const PatternDecl &pattern);

} // namespace maskjit::dsl

#endif
