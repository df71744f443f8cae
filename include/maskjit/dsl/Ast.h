//===- Ast.h - The .mask abstract syntax tree -------------------*- C++ -*-===//
//
// The parser builds this tree; Sema fills in types, name references and
// constant values in place, so a checked tree is the typed AST that the
// evaluator and the MLIR importer read.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_DSL_AST_H
#define MASKJIT_DSL_AST_H

#include "maskjit/dsl/Source.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace maskjit::dsl {

/// Types of the language. `IntArray` is a runtime array indexed by position
/// (`int[]`), `HeadArray` one value per head (`int[heads]`), `Set` the result
/// of a dynamic selector such as `topk_columns(...)`, usable only after `in`.
enum class Type { Error, Int, Bool, IntArray, HeadArray, Set };
const char *typeName(Type t);

enum class Op {
  Add,
  Sub,
  Mul,
  Div,
  Mod, // int x int -> int (floor division/modulo)
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge, // comparisons -> bool
  And,
  Or, // bool x bool -> bool
  In, // int in (set | int[]) -> bool
  Neg,
  Not // unary
};
const char *opSpelling(Op op);

/// Built-in index variables.
enum class Var { Q, K, H, B, Lq, Lk };
const char *varName(Var v);

/// Built-in functions: integer helpers and the dynamic selectors.
enum class Builtin {
  None,
  Abs,
  Min,
  Max,
  TopkColumns,
  TopkDiagonals,
  TopkBlocks,
  Clamp ///< clamp(x, lo, hi) = min(max(x, lo), hi)
};
const char *builtinName(Builtin b);
bool isSelector(Builtin b);

struct PatternDecl;
struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  IntLit,
  BoolLit,
  Causal,
  Name,
  Unary,
  Binary,
  If,
  Call,
  Index,
  Error
};

/// What a name refers to, once Sema has resolved it.
enum class RefKind { Unresolved, Var, Param, Let };

struct Expr {
  ExprKind kind;
  Location loc;
  /// Nesting depth below this node (1 for a leaf); bounded by the parser.
  uint32_t depth = 1;

  // --- Syntax -------------------------------------------------------------
  int64_t intValue = 0;          ///< IntLit; BoolLit (0 or 1).
  std::string name;              ///< Name; Call: the callee's name.
  Op op = Op::Add;               ///< Unary, Binary.
  std::vector<ExprPtr> operands; ///< Children (call arguments in order).
  /// Call: the argument's name for `name = value` arguments, else empty.
  std::vector<std::string> argNames;
  std::vector<Location> argNameLocs;

  // --- Filled in by Sema --------------------------------------------------
  Type type = Type::Error;
  RefKind ref = RefKind::Unresolved;
  Var var = Var::Q;                ///< RefKind::Var.
  uint32_t index = 0;              ///< RefKind::Param / RefKind::Let: the slot.
  Builtin builtin = Builtin::None; ///< Call of a built-in.
  const PatternDecl *callee = nullptr; ///< Call of a pattern.
  /// Call of a pattern: for each callee parameter, the index of the operand
  /// passed for it, or -1 when the callee's default is used.
  std::vector<int> argForParam;
  /// Set when the value does not depend on positions, head, batch, runtime
  /// params or arrays (a compile-time constant).
  std::optional<int64_t> constant;
  /// Whether the value depends on q, k, Lq or Lk (directly or through a
  /// let or `causal`); selector arguments must not.
  bool dependsOnPosition = false;

  Expr(ExprKind kind, Location loc) : kind(kind), loc(loc) {}
};

struct ParamDecl {
  std::string name;
  Location loc;
  Type type = Type::Int;
  /// Runtime params keep their value out of the generated code: changing
  /// them never recompiles. Arrays are always runtime.
  bool runtime = false;
  ExprPtr defaultValue;
  std::optional<int64_t> defaultConstant; ///< Folded by Sema.
};

struct LetDecl {
  std::string name;
  Location loc;
  ExprPtr value;
};

/// `heads first..last => body` (`last` absent for an open range).
struct HeadArm {
  Location loc;
  int64_t first = 0;
  std::optional<int64_t> last;
  ExprPtr body;
};

struct PatternDecl {
  std::string name;
  Location loc;
  std::vector<ParamDecl> params;
  std::vector<LetDecl> lets;
  ExprPtr body;              ///< A plain pattern.
  std::vector<HeadArm> arms; ///< A per-head dispatch (body is null).

  bool isDispatch() const { return !arms.empty(); }
  std::optional<uint32_t> findParam(const std::string &n) const;
};

struct ImportDecl {
  std::string path;
  Location loc;
};

/// The contents of one `.mask` file.
struct Module {
  uint32_t file = 0;
  std::vector<ImportDecl> imports;
  std::vector<std::unique_ptr<PatternDecl>> patterns;
};

/// Every module reachable from the main file through imports, and the
/// patterns they define (one global namespace).
struct Program {
  std::vector<std::unique_ptr<Module>>
      modules; ///< modules[0] is the main file.
  std::map<std::string, const PatternDecl *> patterns;

  const PatternDecl *find(const std::string &name) const;
  /// Patterns defined in the main file, in source order.
  std::vector<const PatternDecl *> mainPatterns() const;
};

/// Prints the (typed, when checked) AST as an indented tree.
std::string printAst(const Program &program, const SourceManager &sources,
                     const PatternDecl *only = nullptr);

} // namespace maskjit::dsl

#endif // MASKJIT_DSL_AST_H
