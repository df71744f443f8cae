//===- RowMask.cpp - A pattern's mask one query row at a time -------------===//
#include "maskjit/codegen/RowMask.h"

#include <fmt/format.h>

#include <vector>

namespace maskjit::codegen {

namespace {

/// The C++ of a symbol inside `maskjit_row_mask`, or empty.
std::string symbolValue(const std::string &name,
                        const dsl::PatternDecl &pattern) {
  if (name == "Lq" || name == "Lk" || name == "h" || name == "b")
    return name;
  if (auto i = pattern.findParam(name)) {
    const dsl::ParamDecl &p = pattern.params[*i];
    if (p.type == dsl::Type::HeadArray)
      return "MASKJIT_HEAD_PARAM(a, " + name + ", h)";
    if (p.type == dsl::Type::Int && p.runtime)
      return "a->" + name;
  }
  return "";
}

/// Past this, a derived symbol's C++ is not written (a DAG spelled out as a
/// tree can grow fast): the row mask then does without.
constexpr size_t kMaxDerivedCode = 4096;

/// The C++ of instruction `i` of the predicate (one free of q and k: a
/// derived symbol `@i`), or false.
bool derivedCode(const PredicateProgram &program, int32_t i,
                 const dsl::PatternDecl &pattern, std::string &out) {
  if (i < 0 || i >= static_cast<int32_t>(program.code.size()))
    return false;
  const PredInstr &p = program.code[i];
  std::string a, b, c;
  auto operand = [&](int32_t j, std::string &dst) {
    return derivedCode(program, j, pattern, dst) &&
           dst.size() < kMaxDerivedCode;
  };
  static const char *const infix[] = {"+", "-", "*"};
  switch (p.op) {
  case PredOp::Const:
    out = fmt::format("(int64_t){}ULL", static_cast<uint64_t>(p.imm));
    return true;
  case PredOp::Symbol:
    out = symbolValue(program.names[p.name], pattern);
    return !out.empty();
  case PredOp::Add:
  case PredOp::Sub:
  case PredOp::Mul:
    if (!operand(p.a, a) || !operand(p.b, b))
      return false;
    out = fmt::format(
        "({} {} {})", a,
        infix[static_cast<int>(p.op) - static_cast<int>(PredOp::Add)], b);
    return true;
  case PredOp::Div:
  case PredOp::Mod:
    if (!operand(p.a, a) || !operand(p.b, b))
      return false;
    out = fmt::format(
        "{}({}, {})",
        p.op == PredOp::Div ? "maskjit_floordiv" : "maskjit_floormod", a, b);
    return true;
  case PredOp::Min:
  case PredOp::Max:
    if (!operand(p.a, a) || !operand(p.b, b))
      return false;
    out = fmt::format("({0} {2} {1} ? {0} : {1})", a, b,
                      p.op == PredOp::Min ? "<=" : ">=");
    return true;
  case PredOp::Lt:
  case PredOp::Le:
  case PredOp::Gt:
  case PredOp::Ge:
  case PredOp::Eq:
  case PredOp::Ne:
  case PredOp::And:
  case PredOp::Or:
  case PredOp::Xor: {
    static const char *const ops[] = {
        "<", "<=", ">", ">=", "==", "!=", "&&", "||", "!="};
    if (!operand(p.a, a) || !operand(p.b, b))
      return false;
    out = fmt::format(
        "(int64_t)({} {} {})", a,
        ops[static_cast<int>(p.op) - static_cast<int>(PredOp::Lt)], b);
    return true;
  }
  case PredOp::Select:
    if (!operand(p.a, a) || !operand(p.b, b) || !operand(p.c, c))
      return false;
    out = fmt::format("({} ? {} : {})", a, b, c);
    return true;
  default:
    return false; // q, k or an array: not a derived symbol
  }
}

/// The C++ of a symbolic right-hand side inside `maskjit_row_mask`, or
/// false when a symbol has no value there.
bool symExpr(const mask::SymExpr &e, const dsl::PatternDecl &pattern,
             const PredicateProgram &program, std::string &out,
             std::string &whyNot) {
  out = fmt::format("(int64_t){}LL", e.constant);
  for (const auto &[name, coef] : e.terms) {
    std::string value;
    if (!name.empty() && name[0] == '@') {
      if (!derivedCode(program,
                       static_cast<int32_t>(std::atoll(name.c_str() + 1)),
                       pattern, value))
        value.clear();
    } else if (name == "Lq" || name == "Lk" || name == "h" || name == "b") {
      value = name;
    } else if (auto i = pattern.findParam(name)) {
      const dsl::ParamDecl &p = pattern.params[*i];
      if (p.type == dsl::Type::HeadArray)
        value = "MASKJIT_HEAD_PARAM(a, " + name + ", h)";
      else if (p.type == dsl::Type::Int && p.runtime)
        value = "a->" + name;
    }
    if (value.empty()) {
      whyNot = "the symbol `" + name + "` has no value in the kernel";
      return false;
    }
    out += fmt::format(" + (int64_t){}LL * {}", coef, value);
  }
  return true;
}

/// The arguments that describe a set: its sorted values and bitmap (a
/// runtime array), or the head's bitmap alone (a selector's choice).
std::string setFields(const std::string &set, const dsl::PatternDecl &pattern) {
  if (pattern.findParam(set))
    return fmt::format("a->{0}_set, a->{0}_set_len, a->{0}_bits, a->{0}_lo, "
                       "a->{0}_hi",
                       set);
  return fmt::format(
      "(const int64_t *)0, 0, MASKJIT_SELECTED_BITS(a, {0}, h, b), "
      "a->{0}_lo, a->{0}_hi",
      set);
}

/// The statements that keep, in the clause words `c`, the keys where atom
/// `t` holds.
bool atomCode(const mask::SymAtom &t, const dsl::PatternDecl &pattern,
              const PredicateProgram &program, bool decided, std::string &out,
              std::string &whyNot) {
  if (t.opaque) {
    whyNot = "an atom of the mask has no linear form";
    return false;
  }
  if ((t.aQ || t.bK) && (t.modulus > 0 || !t.setName.empty() ||
                         !t.runArray.empty() || (t.bK && t.kDiv < 32))) {
    whyNot = "a block term (floor division) on a set, a congruence or key "
             "blocks under 32 keys";
    return false;
  }
  if (!t.runArray.empty()) {
    out += fmt::format("    mj_rm_keep_run(c, k0, q, a->{0}, a->{0}_len, "
                       "a->{0}_run, {1});\n",
                       t.runArray, t.negated ? "true" : "false");
    return true;
  }
  if (t.setBlock > 0) {
    // A PARTIAL tile the schedule visits only because its key block was
    // chosen needs no bitmap load per row. Measured A/B (H100, 32k, block
    // top-k keep 16 of 64, session 10): positional inputs 1.47 -> 1.44 ms,
    // random inputs and dense unchanged.
    if (decided) {
      out += fmt::format("    // k / {} in {}: decided by the schedule\n",
                         t.setBlock, t.setName);
      return true;
    }
    out += fmt::format("    mj_rm_keep_block_set(c, q, k0, "
                       "MASKJIT_SELECTED_BITS(a, {0}, h, b), a->{0}_rows, "
                       "a->{0}_row_words, {1}LL, {2});\n",
                       t.setName, t.setBlock, t.negated ? "true" : "false");
    return true;
  }
  std::string rhs;
  if (!symExpr(t.rhs, pattern, program, rhs, whyNot))
    return false;
  if (!t.setName.empty()) {
    out += fmt::format(
        "    {}(c, {}k0, {}, {});\n",
        t.setOnDiagonal ? "mj_rm_keep_diagonal_set" : "mj_rm_keep_key_set",
        t.setOnDiagonal ? "q, " : "", setFields(t.setName, pattern),
        t.negated ? "true" : "false");
    return true;
  }
  if (t.modulus > 0) {
    // floormod(b*k + offset, m) == rhs, b = +-1: k == rhs - offset (b = 1)
    // or offset - rhs (b = -1), modulo m; nothing when rhs is not in [0, m).
    std::string offset;
    if (!symExpr(t.offset, pattern, program, offset, whyNot))
      return false;
    out += fmt::format("    {{\n      const int64_t r = {};\n", rhs);
    out += fmt::format(
        "      if (r < 0 || r >= {0}LL)\n        mj_rm_fill(c, "
        "0u);\n      else\n        mj_rm_keep_progression(c, "
        "k0, {1}, {0}LL);\n    }}\n",
        t.modulus, t.b > 0 ? "r - (" + offset + ")" : "(" + offset + ") - r");
    return true;
  }
  // a*q + b*k (+ block terms) <= rhs: `rest` is what the row leaves to the
  // key side, its own block term included.
  std::string rest = fmt::format("({}) - (int64_t){}LL * q", rhs, t.a);
  if (t.aQ)
    rest += fmt::format(" - (int64_t){}LL * maskjit_floordiv(q + {}LL, {}LL)",
                        t.aQ, t.qOff, t.qDiv);
  // With b = 0 and no key block, a condition on the row (or the head) that
  // skips the whole clause when false.
  if (t.b == 0 && !t.bK) {
    out += fmt::format("    if ({} < 0)\n      break;\n", rest);
    return true;
  }
  if (t.bK) {
    out += fmt::format("    mj_rm_keep_linear_blocked(c, k0, {}LL, {}, {}LL, "
                       "{}LL, {}LL);\n",
                       t.b, rest, t.bK, t.kDiv, t.kOff);
    return true;
  }
  out += fmt::format("    mj_rm_keep_linear(c, k0, {}LL, {});\n", t.b, rest);
  return true;
}

/// An atom on the row (or head) alone: false skips the whole clause.
bool isRowOnly(const mask::SymAtom &t) {
  return t.b == 0 && t.bK == 0 && t.modulus == 0 && t.setName.empty() &&
         t.runArray.empty() && !t.opaque;
}

} // namespace

bool blockAtomDecidedBySchedule(const mask::SymbolicSchedule &schedule,
                                const mask::SymAtom &t, RowMaskTiles tiles) {
  return t.setBlock > 0 && !t.negated && schedule.clauses.size() == 1 &&
         tiles.tileM > 0 && tiles.tileN > 0 && t.setBlock % tiles.tileM == 0 &&
         t.setBlock % tiles.tileN == 0;
}

std::string rowMaskFunction(const mask::SymbolicSchedule &schedule,
                            const dsl::PatternDecl &pattern,
                            std::string *whyNot, RowMaskTiles tiles) {
  // Each atom on key blocks loops over the blocks a tile spans; past a few
  // (the 2-D neighbourhood has 16), the Hopper kernel runs out of registers
  // and the predicate per element is the better deal.
  constexpr int kMaxKeyBlockAtoms = 4;
  int keyBlockAtoms = 0;
  for (const mask::SymClause &clause : schedule.clauses)
    for (const mask::SymAtom &t : clause)
      keyBlockAtoms += t.bK != 0;
  if (keyBlockAtoms > kMaxKeyBlockAtoms) {
    if (whyNot)
      *whyNot = "more than " + std::to_string(kMaxKeyBlockAtoms) +
                " atoms on key blocks";
    return "";
  }
  std::string reason;
  std::string body;
  for (const mask::SymClause &clause : schedule.clauses) {
    // Conditions on the row alone first: they skip the clause (`break`).
    std::vector<const mask::SymAtom *> atoms;
    for (bool rowOnly : {true, false})
      for (const mask::SymAtom &t : clause)
        if (isRowOnly(t) == rowOnly)
          atoms.push_back(&t);
    body += "  do {\n    uint32_t c[W];\n";
    bool filled = false;
    for (const mask::SymAtom *t : atoms) {
      const bool rowOnly = isRowOnly(*t);
      if (!rowOnly && !filled) {
        body += "    mj_rm_fill(c, 0xffffffffu);\n";
        filled = true;
      }
      if (!atomCode(*t, pattern, schedule.predicate,
                    blockAtomDecidedBySchedule(schedule, *t, tiles), body,
                    reason)) {
        if (whyNot)
          *whyNot = reason;
        return "";
      }
    }
    if (!filled)
      body += "    mj_rm_fill(c, 0xffffffffu);\n";
    body += "    mj_rm_or(m, c);\n  } while (0);\n";
  }
  std::string out =
      "// The pattern's mask for one query row over 32 W keys from k0, from\n"
      "// the schedule's DNF (one block per clause).\n"
      "#define MASKJIT_ROW_MASK 1\n"
      "template <int W>\n"
      "static __device__ __forceinline__ void maskjit_row_mask(\n"
      "    int64_t q, int64_t k0, int64_t h, int64_t b, int64_t Lq, int64_t "
      "Lk,\n"
      "    const maskjit_args *a, uint32_t (&m)[W]) {\n"
      "  (void)q; (void)h; (void)b; (void)Lq; (void)Lk; (void)a;\n"
      "  mj_rm_fill(m, 0u);\n";
  out += body + "}\n";
  return out;
}

} // namespace maskjit::codegen
