//===- Evaluator.cpp - Bind a pattern, then evaluate rows -----------------===//
#include "maskjit/dsl/Evaluator.h"
#include "maskjit/dsl/Diagnostics.h"
#include "maskjit/dsl/IntMath.h"

#include <algorithm>
#include <cstring>

namespace maskjit::dsl {
namespace {

enum class NOp : uint8_t {
  Const,
  Q,
  K,
  Add,
  Sub,
  Mul,
  Div,
  Mod,
  Neg,
  Abs,
  Min,
  Max,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  Not,
  And,
  Or,
  Select,
  Index,
  InSet,
  InBlocks
};

/// Keys evaluated together; small enough that every node's buffer of a
/// typical pattern stays in L1/L2.
constexpr int64_t kChunk = 256;
/// Inlining pattern calls can grow a program; beyond this it is rejected.
constexpr size_t kMaxNodes = 1u << 20;

struct Node {
  NOp op;
  /// Depends on k (else the value is the same for a whole row).
  bool varying = false;
  int32_t a = -1, b = -1, c = -1;
  int64_t value = 0; ///< Const.
  uint32_t aux = 0;  ///< Index: array; InSet: set.
  Location loc;
};

std::string quote(const std::string &s) { return "`" + s + "`"; }

} // namespace

struct MaskEvaluator::Program_ {
  std::vector<Node> nodes;
  std::vector<uint8_t> live; ///< Reachable from the root.
  int32_t root = -1;
  std::vector<std::vector<int64_t>> arrays;
  std::vector<std::string> arrayNames;
  std::vector<std::vector<int64_t>> sets;      ///< Sorted, unique.
  std::vector<std::vector<int64_t>> blockSets; ///< Per query block, sorted.

  bool step(const Node &n, int64_t x, int64_t y, int64_t z, int64_t &r) const;
  int64_t lazy(int32_t i, int64_t q, int64_t k, std::vector<int64_t> &memo,
               std::vector<uint8_t> &done) const;
  [[noreturn]] void trap(const Node &n, int64_t x, int64_t y) const;
};

namespace {

bool inSorted(const std::vector<int64_t> &s, int64_t v) {
  return std::binary_search(s.begin(), s.end(), v);
}

/// Builds the flat program: inlines calls, binds params and folds constants.
class Binder {
public:
  Binder(MaskEvaluator::Program_ &prog, const Selections &sel,
         const EvalShape &shape)
      : prog_(prog), sel_(sel), shape_(shape) {}

  void bindTop(const PatternDecl &p, const ParamBindings &values);

private:
  struct Bound {
    Type type = Type::Int;
    int32_t node = -1;  ///< Scalars.
    int32_t array = -1; ///< Arrays: index into prog_.arrays.
  };
  struct Scope {
    const PatternDecl *pattern;
    std::vector<Bound> params;
    std::vector<int32_t> lets; ///< Bound lazily; -1 until first use.
  };

  int32_t bindBody(Scope &s);
  int32_t bind(const Expr &e, Scope &s);
  int32_t bindCall(const Expr &e, Scope &s);
  int32_t bindName(const Expr &e, Scope &s);
  int32_t node(NOp op, const Location &loc, int32_t a = -1, int32_t b = -1,
               int32_t c = -1, uint32_t aux = 0);
  int32_t constant(int64_t v, const Location &loc = {});
  int32_t setNode(std::vector<int64_t> values);
  Bound bindArrayArg(const Expr &e, Scope &s);
  int64_t headValue(const Bound &b, const std::string &name,
                    const Location &loc);

  MaskEvaluator::Program_ &prog_;
  const Selections &sel_;
  const EvalShape &shape_;
  int32_t qNode_ = -1, kNode_ = -1;
  int32_t columnsSet_ = -1, diagonalsSet_ = -1;
};

int32_t Binder::node(NOp op, const Location &loc, int32_t a, int32_t b,
                     int32_t c, uint32_t aux) {
  if (prog_.nodes.size() >= kMaxNodes)
    throw MaskError("pattern is too large once its pattern calls are inlined "
                    "(more than " +
                        std::to_string(kMaxNodes) + " operations)",
                    loc);
  Node n{};
  n.op = op;
  n.a = a;
  n.b = b;
  n.c = c;
  n.aux = aux;
  n.loc = loc;
  for (int32_t kid : {a, b, c})
    if (kid >= 0)
      n.varying |= prog_.nodes[kid].varying;
  // Fold when every operand is a constant and the operation does not trap;
  // a trapping constant is left for run time, where lazy evaluation decides
  // whether it is ever reached.
  bool allConst = op != NOp::InBlocks;
  for (int32_t kid : {a, b, c})
    if (kid >= 0 && prog_.nodes[kid].op != NOp::Const)
      allConst = false;
  if (allConst && op != NOp::Q && op != NOp::K && op != NOp::Const) {
    auto val = [&](int32_t kid) {
      return kid >= 0 ? prog_.nodes[kid].value : 0;
    };
    int64_t r;
    if (prog_.step(n, val(a), val(b), val(c), r))
      return constant(r, loc);
  }
  // Short-circuits with one constant side.
  auto isConst = [&](int32_t kid, int64_t v) {
    return kid >= 0 && prog_.nodes[kid].op == NOp::Const &&
           prog_.nodes[kid].value == v;
  };
  if (op == NOp::And && (isConst(a, 0)))
    return a;
  if (op == NOp::And && isConst(a, 1))
    return b;
  if (op == NOp::Or && isConst(a, 1))
    return a;
  if (op == NOp::Or && isConst(a, 0))
    return b;
  if (op == NOp::Select && a >= 0 && prog_.nodes[a].op == NOp::Const)
    return prog_.nodes[a].value ? b : c;
  prog_.nodes.push_back(n);
  return static_cast<int32_t>(prog_.nodes.size() - 1);
}

int32_t Binder::constant(int64_t v, const Location &loc) {
  if (prog_.nodes.size() >= kMaxNodes)
    throw MaskError("pattern is too large once its pattern calls are inlined",
                    loc);
  Node n{};
  n.op = NOp::Const;
  n.value = v;
  n.loc = loc;
  prog_.nodes.push_back(n);
  return static_cast<int32_t>(prog_.nodes.size() - 1);
}

int32_t Binder::setNode(std::vector<int64_t> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  prog_.sets.push_back(std::move(values));
  return static_cast<int32_t>(prog_.sets.size() - 1);
}

void Binder::bindTop(const PatternDecl &p, const ParamBindings &values) {
  for (auto &[name, v] : values) {
    if (p.findParam(name))
      continue;
    std::vector<std::string> names;
    for (const ParamDecl &param : p.params)
      names.push_back(param.name);
    std::string msg =
        "pattern " + quote(p.name) + " has no parameter " + quote(name);
    if (auto best = closestName(name, names))
      msg += "; did you mean " + quote(*best) + "?";
    else if (names.empty())
      msg += " (it takes no parameters)";
    throw MaskError(msg);
  }
  Scope top{&p, {}, std::vector<int32_t>(p.lets.size(), -1)};
  for (const ParamDecl &param : p.params) {
    Bound b;
    b.type = param.type;
    auto it = values.find(param.name);
    if (it == values.end()) {
      if (!param.defaultConstant)
        throw MaskError("parameter " + quote(param.name) + " of pattern " +
                            quote(p.name) +
                            " has no default; give it a value"
                            " (e.g. --set " +
                            param.name + "=...)",
                        param.loc);
      b.node = constant(*param.defaultConstant, param.loc);
    } else {
      const ParamValue &v = it->second;
      bool isArray =
          param.type == Type::IntArray || param.type == Type::HeadArray;
      bool gotArray = v.type == Type::IntArray || v.type == Type::HeadArray;
      if (isArray != gotArray || (!isArray && v.type != param.type))
        throw MaskError("parameter " + quote(param.name) + " is " +
                            typeName(param.type) + ", but the value given is " +
                            (gotArray ? "an array" : typeName(v.type)),
                        param.loc);
      if (isArray) {
        prog_.arrays.push_back(v.array);
        prog_.arrayNames.push_back(param.name);
        b.array = static_cast<int32_t>(prog_.arrays.size() - 1);
      } else {
        b.node = constant(v.scalar, param.loc);
      }
    }
    top.params.push_back(b);
  }
  qNode_ = node(NOp::Q, p.loc);
  prog_.nodes[qNode_].varying = false;
  kNode_ = node(NOp::K, p.loc);
  prog_.nodes[kNode_].varying = true;
  prog_.root = bindBody(top);
}

int32_t Binder::bindBody(Scope &s) {
  const PatternDecl &p = *s.pattern;
  if (!p.isDispatch())
    return bind(*p.body, s);
  for (const HeadArm &arm : p.arms)
    if (shape_.head >= arm.first && (!arm.last || shape_.head <= *arm.last))
      return bind(*arm.body, s);
  throw MaskError("head " + std::to_string(shape_.head) +
                      " is not covered by any `heads` arm of pattern " +
                      quote(p.name),
                  p.loc);
}

int64_t Binder::headValue(const Bound &b, const std::string &name,
                          const Location &loc) {
  const std::vector<int64_t> &arr = prog_.arrays[b.array];
  if (shape_.head < 0 || shape_.head >= static_cast<int64_t>(arr.size()))
    throw MaskError("per-head parameter " + quote(name) + " has " +
                        std::to_string(arr.size()) + " values, so head " +
                        std::to_string(shape_.head) + " has none",
                    loc);
  return arr[shape_.head];
}

int32_t Binder::bindName(const Expr &e, Scope &s) {
  switch (e.ref) {
  case RefKind::Var:
    switch (e.var) {
    case Var::Q:
      return qNode_;
    case Var::K:
      return kNode_;
    case Var::H:
      return constant(shape_.head, e.loc);
    case Var::B:
      return constant(shape_.batch, e.loc);
    case Var::Lq:
      return constant(shape_.lq, e.loc);
    case Var::Lk:
      return constant(shape_.lk, e.loc);
    }
    break;
  case RefKind::Param: {
    const Bound &b = s.params[e.index];
    if (b.type == Type::HeadArray)
      return constant(headValue(b, e.name, e.loc), e.loc);
    if (b.node < 0)
      throw MaskError("array " + quote(e.name) + " used as a value", e.loc);
    return b.node;
  }
  case RefKind::Let: {
    int32_t &slot = s.lets[e.index];
    if (slot < 0)
      slot = bind(*s.pattern->lets[e.index].value, s);
    return slot;
  }
  case RefKind::Unresolved:
    break;
  }
  throw MaskError("internal error: unresolved name " + quote(e.name), e.loc);
}

Binder::Bound Binder::bindArrayArg(const Expr &e, Scope &s) {
  if (e.kind != ExprKind::Name || e.ref != RefKind::Param)
    throw MaskError("an array argument must name an array parameter", e.loc);
  return s.params[e.index];
}

int32_t Binder::bindCall(const Expr &e, Scope &s) {
  if (e.builtin == Builtin::Abs)
    return node(NOp::Abs, e.loc, bind(*e.operands[0], s));
  if (e.builtin == Builtin::Clamp) // min(max(x, lo), hi)
    return node(
        NOp::Min, e.loc,
        node(NOp::Max, e.loc, bind(*e.operands[0], s), bind(*e.operands[1], s)),
        bind(*e.operands[2], s));
  if (e.builtin == Builtin::Min || e.builtin == Builtin::Max)
    return node(e.builtin == Builtin::Min ? NOp::Min : NOp::Max, e.loc,
                bind(*e.operands[0], s), bind(*e.operands[1], s));
  if (!e.callee)
    throw MaskError(std::string(builtinName(e.builtin)) +
                        "(...) can only be used after `in`",
                    e.loc);
  const PatternDecl &callee = *e.callee;
  Scope inner{&callee, {}, std::vector<int32_t>(callee.lets.size(), -1)};
  for (size_t i = 0; i < callee.params.size(); ++i) {
    const ParamDecl &param = callee.params[i];
    int arg = e.argForParam[i];
    Bound b;
    b.type = param.type;
    if (arg < 0) {
      b.node = constant(param.defaultConstant.value_or(0), param.loc);
    } else if (param.type == Type::IntArray ||
               (param.type == Type::HeadArray &&
                e.operands[arg]->type == Type::HeadArray)) {
      b = bindArrayArg(*e.operands[arg], s);
    } else {
      b.type = param.type == Type::HeadArray ? Type::Int : param.type;
      b.node = bind(*e.operands[arg], s);
    }
    inner.params.push_back(b);
  }
  return bindBody(inner);
}

int32_t Binder::bind(const Expr &e, Scope &s) {
  switch (e.kind) {
  case ExprKind::IntLit:
  case ExprKind::BoolLit:
    return constant(e.intValue, e.loc);
  case ExprKind::Causal: {
    // Bottom-right aligned: k <= q + (Lk - Lq).
    int32_t shift = constant(shape_.lk - shape_.lq, e.loc);
    return node(NOp::Le, e.loc, kNode_, node(NOp::Add, e.loc, qNode_, shift));
  }
  case ExprKind::Name:
    return bindName(e, s);
  case ExprKind::Unary:
    return node(e.op == Op::Not ? NOp::Not : NOp::Neg, e.loc,
                bind(*e.operands[0], s));
  case ExprKind::If:
    return node(NOp::Select, e.loc, bind(*e.operands[0], s),
                bind(*e.operands[1], s), bind(*e.operands[2], s));
  case ExprKind::Call:
    return bindCall(e, s);
  case ExprKind::Index: {
    const Expr &base = *e.operands[0];
    Bound arr = bindArrayArg(base, s);
    return node(NOp::Index, e.loc, bind(*e.operands[1], s), -1, -1,
                static_cast<uint32_t>(arr.array));
  }
  case ExprKind::Binary:
    break;
  case ExprKind::Error:
    throw MaskError("internal error: evaluating an erroneous expression",
                    e.loc);
  }
  const Expr &rhs = *e.operands[1];
  if (e.op == Op::In) {
    int32_t lhs = bind(*e.operands[0], s);
    if (rhs.kind == ExprKind::Call && rhs.builtin == Builtin::TopkBlocks) {
      if (!sel_.blocks)
        throw MaskError(
            "pattern uses topk_blocks(...): the evaluator needs the "
            "chosen key blocks of each query block (maskc: --select "
            "blocks=...)",
            rhs.loc);
      int32_t n = node(NOp::InBlocks, e.loc, lhs, bind(*rhs.operands[1], s));
      prog_.nodes[n].varying = true;
      return n;
    }
    int32_t set;
    if (rhs.kind == ExprKind::Call && rhs.builtin == Builtin::TopkColumns) {
      if (!sel_.columns)
        throw MaskError("pattern uses topk_columns(...): the evaluator needs "
                        "the chosen columns (maskc: --select columns=...)",
                        rhs.loc);
      if (columnsSet_ < 0)
        columnsSet_ = setNode(*sel_.columns);
      set = columnsSet_;
    } else if (rhs.kind == ExprKind::Call &&
               rhs.builtin == Builtin::TopkDiagonals) {
      if (!sel_.diagonals)
        throw MaskError("pattern uses topk_diagonals(...): the evaluator needs "
                        "the chosen diagonals (maskc: --select diagonals=...)",
                        rhs.loc);
      if (diagonalsSet_ < 0)
        diagonalsSet_ = setNode(*sel_.diagonals);
      set = diagonalsSet_;
    } else {
      Bound arr = bindArrayArg(rhs, s);
      set = setNode(prog_.arrays[arr.array]);
    }
    return node(NOp::InSet, e.loc, lhs, -1, -1, static_cast<uint32_t>(set));
  }
  static const std::map<Op, NOp> binops = {
      {Op::Add, NOp::Add}, {Op::Sub, NOp::Sub}, {Op::Mul, NOp::Mul},
      {Op::Div, NOp::Div}, {Op::Mod, NOp::Mod}, {Op::Eq, NOp::Eq},
      {Op::Ne, NOp::Ne},   {Op::Lt, NOp::Lt},   {Op::Le, NOp::Le},
      {Op::Gt, NOp::Gt},   {Op::Ge, NOp::Ge},   {Op::And, NOp::And},
      {Op::Or, NOp::Or}};
  int32_t a = bind(*e.operands[0], s);
  // Lazy `and`/`or`: a constant left side decides without binding the right.
  if ((e.op == Op::And || e.op == Op::Or) && prog_.nodes[a].op == NOp::Const &&
      (prog_.nodes[a].value != 0) == (e.op == Op::Or))
    return a;
  return node(binops.at(e.op), e.loc, a, bind(rhs, s));
}

} // namespace

/// One operation on scalars. Returns false on a trap.
bool MaskEvaluator::Program_::step(const Node &n, int64_t x, int64_t y,
                                   int64_t z, int64_t &r) const {
  switch (n.op) {
  case NOp::Const:
    r = n.value;
    return true;
  case NOp::Q:
  case NOp::K:
    r = x;
    return true;
  case NOp::Add:
    return checkedAdd(x, y, r);
  case NOp::Sub:
    return checkedSub(x, y, r);
  case NOp::Mul:
    return checkedMul(x, y, r);
  case NOp::Div:
    return floorDiv(x, y, r);
  case NOp::Mod:
    return floorMod(x, y, r);
  case NOp::Neg:
    return checkedNeg(x, r);
  case NOp::Abs:
    if (x >= 0) {
      r = x;
      return true;
    }
    return checkedNeg(x, r);
  case NOp::Min:
    r = std::min(x, y);
    return true;
  case NOp::Max:
    r = std::max(x, y);
    return true;
  case NOp::Eq:
    r = x == y;
    return true;
  case NOp::Ne:
    r = x != y;
    return true;
  case NOp::Lt:
    r = x < y;
    return true;
  case NOp::Le:
    r = x <= y;
    return true;
  case NOp::Gt:
    r = x > y;
    return true;
  case NOp::Ge:
    r = x >= y;
    return true;
  case NOp::Not:
    r = !x;
    return true;
  case NOp::And:
    r = x && y;
    return true;
  case NOp::Or:
    r = x || y;
    return true;
  case NOp::Select:
    r = x ? y : z;
    return true;
  case NOp::Index: {
    const std::vector<int64_t> &arr = arrays[n.aux];
    if (x < 0 || x >= static_cast<int64_t>(arr.size()))
      return false;
    r = arr[x];
    return true;
  }
  case NOp::InSet:
    r = inSorted(sets[n.aux], x);
    return true;
  case NOp::InBlocks:
    return false; // Needs q; handled by the callers.
  }
  return false;
}

void MaskEvaluator::Program_::trap(const Node &n, int64_t x, int64_t y) const {
  switch (n.op) {
  case NOp::Div:
  case NOp::Mod:
    if (y == 0)
      throw MaskError(std::string(n.op == NOp::Div ? "division" : "modulo") +
                          " by zero",
                      n.loc);
    break;
  case NOp::Index: {
    const std::vector<int64_t> &arr = arrays[n.aux];
    throw MaskError("index " + std::to_string(x) + " is out of range for " +
                        quote(arrayNames[n.aux]) + " (it has " +
                        std::to_string(arr.size()) + " values)",
                    n.loc);
  }
  case NOp::InBlocks:
    throw MaskError("topk_blocks: no selection for query block " +
                        std::to_string(x) + " (" +
                        std::to_string(blockSets.size()) + " blocks given)",
                    n.loc);
  default:
    break;
  }
  throw MaskError("integer overflow (" + std::to_string(x) + ", " +
                      std::to_string(y) + ")",
                  n.loc);
}

int64_t MaskEvaluator::Program_::lazy(int32_t i, int64_t q, int64_t k,
                                      std::vector<int64_t> &memo,
                                      std::vector<uint8_t> &done) const {
  if (done[i])
    return memo[i];
  const Node &n = nodes[i];
  int64_t r = 0;
  switch (n.op) {
  case NOp::Q:
    r = q;
    break;
  case NOp::K:
    r = k;
    break;
  case NOp::And:
    r = lazy(n.a, q, k, memo, done) && lazy(n.b, q, k, memo, done);
    break;
  case NOp::Or:
    r = lazy(n.a, q, k, memo, done) || lazy(n.b, q, k, memo, done);
    break;
  case NOp::Select:
    r = lazy(n.a, q, k, memo, done) ? lazy(n.b, q, k, memo, done)
                                    : lazy(n.c, q, k, memo, done);
    break;
  case NOp::InBlocks: {
    int64_t v = lazy(n.a, q, k, memo, done);
    int64_t block = lazy(n.b, q, k, memo, done), qb;
    if (!floorDiv(q, block, qb)) {
      Node div = n;
      div.op = NOp::Div;
      trap(div, q, block);
    }
    if (qb < 0 || qb >= static_cast<int64_t>(blockSets.size()))
      trap(n, qb, 0);
    r = inSorted(blockSets[qb], v);
    break;
  }
  default: {
    int64_t x = n.a >= 0 ? lazy(n.a, q, k, memo, done) : 0;
    int64_t y = n.b >= 0 ? lazy(n.b, q, k, memo, done) : 0;
    if (!step(n, x, y, 0, r))
      trap(n, x, y);
  }
  }
  memo[i] = r;
  done[i] = 1;
  return r;
}

MaskEvaluator::MaskEvaluator(const Program &program, const PatternDecl &pattern,
                             const ParamBindings &params,
                             const Selections &selections,
                             const EvalShape &shape)
    : prog_(std::make_unique<Program_>()), shape_(shape) {
  if (shape.lq < 0 || shape.lk < 0)
    throw MaskError("sequence lengths must not be negative");
  if (selections.blocks)
    for (std::vector<int64_t> s : *selections.blocks) {
      std::sort(s.begin(), s.end());
      prog_->blockSets.push_back(std::move(s));
    }
  (void)program; // Calls are already resolved in the AST.
  Binder(*prog_, selections, shape).bindTop(pattern, params);
  prog_->live.assign(prog_->nodes.size(), 0);
  prog_->live[prog_->root] = 1;
  for (size_t i = prog_->nodes.size(); i-- > 0;) {
    if (!prog_->live[i])
      continue;
    for (int32_t kid :
         {prog_->nodes[i].a, prog_->nodes[i].b, prog_->nodes[i].c})
      if (kid >= 0)
        prog_->live[kid] = 1;
  }
}

MaskEvaluator::~MaskEvaluator() = default;
MaskEvaluator::MaskEvaluator(MaskEvaluator &&) noexcept = default;

size_t MaskEvaluator::programSize() const {
  return static_cast<size_t>(
      std::count(prog_->live.begin(), prog_->live.end(), 1));
}

bool MaskEvaluator::constantResult(bool &value) const {
  const Node &root = prog_->nodes[prog_->root];
  if (root.op != NOp::Const)
    return false;
  value = root.value != 0;
  return true;
}

bool MaskEvaluator::allowed(int64_t q, int64_t k) const {
  std::vector<int64_t> memo(prog_->nodes.size());
  std::vector<uint8_t> done(prog_->nodes.size());
  return prog_->lazy(prog_->root, q, k, memo, done) != 0;
}

void MaskEvaluator::row(int64_t q, uint8_t *out) const {
  const Program_ &P = *prog_;
  const size_t n = P.nodes.size();
  std::vector<int64_t> buf(n * kChunk);
  // Row-uniform nodes are computed once per row (lane 0, stride 0).
  for (int64_t k0 = 0; k0 < shape_.lk; k0 += kChunk) {
    const int64_t lanes = std::min(kChunk, shape_.lk - k0);
    bool trapped = false;
    for (size_t i = 0; i < n; ++i) {
      if (!P.live[i])
        continue;
      const Node &nd = P.nodes[i];
      int64_t *dst = &buf[i * kChunk];
      const int64_t m = nd.varying ? lanes : 1;
      if (!nd.varying && k0 != 0)
        continue; // Still valid from the first chunk of this row.
      const int64_t *A = nd.a >= 0 ? &buf[nd.a * kChunk] : nullptr;
      const int64_t *B = nd.b >= 0 ? &buf[nd.b * kChunk] : nullptr;
      const int64_t *C = nd.c >= 0 ? &buf[nd.c * kChunk] : nullptr;
      const int64_t sa = nd.a >= 0 && P.nodes[nd.a].varying;
      const int64_t sb = nd.b >= 0 && P.nodes[nd.b].varying;
      const int64_t sc = nd.c >= 0 && P.nodes[nd.c].varying;
      switch (nd.op) {
      case NOp::Const:
        dst[0] = nd.value;
        continue;
      case NOp::Q:
        dst[0] = q;
        continue;
      case NOp::K:
        for (int64_t j = 0; j < m; ++j)
          dst[j] = k0 + j;
        continue;
#define MASKJIT_LANES(EXPR)                                                    \
  for (int64_t j = 0; j < m; ++j) {                                            \
    const int64_t x = A[j * sa];                                               \
    const int64_t y = B ? B[j * sb] : 0;                                       \
    (void)y;                                                                   \
    dst[j] = (EXPR);                                                           \
  }                                                                            \
  continue;
      case NOp::Min:
        MASKJIT_LANES(x < y ? x : y)
      case NOp::Max:
        MASKJIT_LANES(x > y ? x : y)
      case NOp::Eq:
        MASKJIT_LANES(x == y)
      case NOp::Ne:
        MASKJIT_LANES(x != y)
      case NOp::Lt:
        MASKJIT_LANES(x < y)
      case NOp::Le:
        MASKJIT_LANES(x <= y)
      case NOp::Gt:
        MASKJIT_LANES(x > y)
      case NOp::Ge:
        MASKJIT_LANES(x >= y)
      case NOp::Not:
        MASKJIT_LANES(!x)
      case NOp::And:
        MASKJIT_LANES(x & y)
      case NOp::Or:
        MASKJIT_LANES(x | y)
#undef MASKJIT_LANES
      case NOp::Select:
        for (int64_t j = 0; j < m; ++j)
          dst[j] = A[j * sa] ? B[j * sb] : C[j * sc];
        continue;
      case NOp::InBlocks: {
        int64_t block = B[0], qb;
        if (!floorDiv(q, block, qb) || qb < 0 ||
            qb >= static_cast<int64_t>(P.blockSets.size())) {
          trapped = true;
          std::fill(dst, dst + m, 0);
          continue;
        }
        const std::vector<int64_t> &set = P.blockSets[qb];
        for (int64_t j = 0; j < m; ++j)
          dst[j] = inSorted(set, A[j * sa]);
        continue;
      }
#define MASKJIT_CHECKED(FN)                                                    \
  {                                                                            \
    bool bad = false;                                                          \
    for (int64_t j = 0; j < m; ++j)                                            \
      bad |= FN(A[j * sa], B[j * sb], &dst[j]);                                \
    trapped |= bad;                                                            \
    continue;                                                                  \
  }
      case NOp::Add:
        MASKJIT_CHECKED(__builtin_add_overflow)
      case NOp::Sub:
        MASKJIT_CHECKED(__builtin_sub_overflow)
      case NOp::Mul:
        MASKJIT_CHECKED(__builtin_mul_overflow)
#undef MASKJIT_CHECKED
      default: {
        // Other trapping operations: checked per lane, a trap marks the chunk.
        bool bad = false;
        for (int64_t j = 0; j < m; ++j) {
          int64_t r = 0;
          bad |= !P.step(nd, A[j * sa], B ? B[j * sb] : 0, 0, r);
          dst[j] = r;
        }
        trapped |= bad;
        continue;
      }
      }
    }
    const Node &root = P.nodes[P.root];
    const int64_t *res = &buf[P.root * kChunk];
    if (trapped) {
      // Some lane trapped somewhere; lazy semantics decide what counts.
      std::vector<int64_t> memo(n);
      std::vector<uint8_t> done(n);
      for (int64_t j = 0; j < lanes; ++j) {
        std::fill(done.begin(), done.end(), 0);
        out[k0 + j] = P.lazy(P.root, q, k0 + j, memo, done) != 0;
      }
      // Row-uniform buffers may hold trapped values: recompute next chunk.
      if (k0 + kChunk < shape_.lk) {
        // Fall back to lazy evaluation for the rest of the row.
        for (int64_t kk = k0 + lanes; kk < shape_.lk; ++kk) {
          std::fill(done.begin(), done.end(), 0);
          out[kk] = P.lazy(P.root, q, kk, memo, done) != 0;
        }
      }
      return;
    }
    for (int64_t j = 0; j < lanes; ++j)
      out[k0 + j] = res[root.varying ? j : 0] != 0;
  }
}

std::vector<Builtin> selectorsUsed(const Program &program,
                                   const PatternDecl &pattern) {
  (void)program;
  std::vector<Builtin> found;
  std::vector<const PatternDecl *> seen;
  std::vector<const Expr *> stack;
  std::vector<const PatternDecl *> todo{&pattern};
  while (!todo.empty()) {
    const PatternDecl *p = todo.back();
    todo.pop_back();
    if (std::find(seen.begin(), seen.end(), p) != seen.end())
      continue;
    seen.push_back(p);
    for (const LetDecl &l : p->lets)
      if (l.value)
        stack.push_back(l.value.get());
    if (p->body)
      stack.push_back(p->body.get());
    for (const HeadArm &a : p->arms)
      if (a.body)
        stack.push_back(a.body.get());
    while (!stack.empty()) {
      const Expr *e = stack.back();
      stack.pop_back();
      if (isSelector(e->builtin) &&
          std::find(found.begin(), found.end(), e->builtin) == found.end())
        found.push_back(e->builtin);
      if (e->callee)
        todo.push_back(e->callee);
      for (const ExprPtr &c : e->operands)
        if (c)
          stack.push_back(c.get());
    }
  }
  return found;
}

} // namespace maskjit::dsl
