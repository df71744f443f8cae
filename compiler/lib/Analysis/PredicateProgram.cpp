//===- PredicateProgram.cpp - The specialized mask as a flat program ------===//
//
// Each operation of the pattern body that the value depends on becomes one
// instruction, operands first (a DAG stays a DAG: a shared value is one
// instruction). The walk is iterative, so a deep chain of lets costs no
// stack. Anything the program cannot hold (a dynamic selector, an op of
// unknown meaning) leaves it empty: the schedule then keeps its closed
// forms alone, which are sound.
//
//===----------------------------------------------------------------------===//
#include "maskjit/compiler/MaskDialect.h"
#include "maskjit/compiler/SymbolicSchedule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/DenseMap.h"

namespace maskjit::mask {
namespace {

using namespace mlir;

class ProgramBuilder {
public:
  std::optional<PredicateProgram> run(Value root) {
    // Post-order over the values `root` depends on.
    struct Frame {
      Value v;
      bool expanded;
    };
    std::vector<Frame> stack{{root, false}};
    while (!stack.empty()) {
      Frame f = stack.back();
      stack.pop_back();
      if (index_.count(f.v))
        continue;
      std::vector<Value> deps;
      if (!dependencies(f.v, deps))
        return std::nullopt;
      if (!f.expanded) {
        stack.push_back({f.v, true});
        for (Value d : deps)
          if (!index_.count(d))
            stack.push_back({d, false});
        continue;
      }
      if (!emit(f.v))
        return std::nullopt;
      if (program_.code.size() > kMaxInstructions)
        return std::nullopt;
    }
    program_.result = index_.lookup(root);
    return program_;
  }

  const llvm::DenseMap<Value, int32_t> &index() const { return index_; }

private:
  /// A program past this is not built (the closed forms stay; sound).
  static constexpr size_t kMaxInstructions = 1 << 16;

  /// The values `v`'s instruction reads.
  bool dependencies(Value v, std::vector<Value> &deps) {
    Operation *op = v.getDefiningOp();
    if (!op)
      return false;
    if (auto d = dyn_cast<DispatchOp>(op)) {
      for (Region &arm : d.getArms())
        deps.push_back(cast<YieldOp>(arm.front().getTerminator()).getValue());
      return true;
    }
    for (Value operand : op->getOperands())
      deps.push_back(operand);
    return true;
  }

  int32_t add(PredInstr p, Operation *op) {
    program_.code.push_back(p);
    std::string where;
    if (op)
      if (auto l = dyn_cast<FileLineColLoc>(op->getLoc()))
        where = l.getFilename().str() + ":" + std::to_string(l.getLine()) +
                ":" + std::to_string(l.getColumn());
    program_.locations.push_back(where);
    return static_cast<int32_t>(program_.code.size() - 1);
  }
  int32_t constant(int64_t v) {
    PredInstr p;
    p.op = PredOp::Const;
    p.imm = v;
    return add(p, nullptr);
  }
  int32_t name(const std::string &n) {
    for (size_t i = 0; i < program_.names.size(); ++i)
      if (program_.names[i] == n)
        return static_cast<int32_t>(i);
    program_.names.push_back(n);
    return static_cast<int32_t>(program_.names.size() - 1);
  }
  int32_t symbol(const std::string &n, Operation *op) {
    PredInstr p;
    p.op = PredOp::Symbol;
    p.name = name(n);
    return add(p, op);
  }
  int32_t binary(PredOp o, int32_t a, int32_t b, Operation *op) {
    PredInstr p;
    p.op = o;
    p.a = a;
    p.b = b;
    return add(p, op);
  }

  /// h in [first, last] (last < 0: no upper end).
  int32_t headRange(int64_t first, int64_t last, Operation *op) {
    const int32_t h = symbol("h", op);
    int32_t in = binary(PredOp::Ge, h, constant(first), op);
    if (last >= 0)
      in = binary(PredOp::And, in, binary(PredOp::Le, h, constant(last), op),
                  op);
    return in;
  }

  bool emit(Value v) {
    Operation *op = v.getDefiningOp();
    auto at = [&](Value x) { return index_.lookup(x); };
    int32_t out = -1;
    if (auto c = dyn_cast<arith::ConstantIntOp>(op)) {
      // Booleans are 0 and 1 (an i1 `true` reads as -1 sign-extended).
      out = constant(c.getType().isInteger(1) ? c.value() != 0 : c.value());
    } else if (auto var = dyn_cast<VarOp>(op)) {
      PredInstr p;
      if (var.getName() == "q")
        p.op = PredOp::Query;
      else if (var.getName() == "k")
        p.op = PredOp::Key;
      else
        return (index_[v] = symbol(var.getName().str(), op)), true;
      out = add(p, op);
    } else if (auto param = dyn_cast<ParamOp>(op)) {
      out = symbol(param.getName().str(), op);
    } else if (auto load = dyn_cast<LoadOp>(op)) {
      PredInstr p;
      p.op = PredOp::Load;
      p.a = at(load.getIndex());
      p.name = name(load.getArray().str());
      out = add(p, op);
    } else if (auto in = dyn_cast<InArrayOp>(op)) {
      PredInstr p;
      p.op = PredOp::InArray;
      p.a = at(in.getValue());
      p.name = name(in.getArray().str());
      out = add(p, op);
    } else if (isa<CausalOp>(op)) {
      // k - q <= Lk - Lq.
      PredInstr q, k;
      q.op = PredOp::Query;
      k.op = PredOp::Key;
      const int32_t diff = binary(PredOp::Sub, add(k, op), add(q, op), op);
      const int32_t room =
          binary(PredOp::Sub, symbol("Lk", op), symbol("Lq", op), op);
      out = binary(PredOp::Le, diff, room, op);
    } else if (auto d = dyn_cast<DispatchOp>(op)) {
      out = constant(0);
      for (unsigned i = 0; i < d.getArms().size(); ++i) {
        Value arm =
            cast<YieldOp>(d.getArms()[i].front().getTerminator()).getValue();
        const int32_t heads = headRange(d.getFirst()[i], d.getLast()[i], op);
        out = binary(PredOp::Or, out, binary(PredOp::And, heads, at(arm), op),
                     op);
      }
    } else if (auto s = dyn_cast<arith::SelectOp>(op)) {
      PredInstr p;
      p.op = PredOp::Select;
      p.a = at(s.getCondition());
      p.b = at(s.getTrueValue());
      p.c = at(s.getFalseValue());
      out = add(p, op);
    } else if (auto c = dyn_cast<arith::CmpIOp>(op)) {
      using P = arith::CmpIPredicate;
      const bool boolean = c.getLhs().getType().isInteger(1);
      PredOp o;
      switch (c.getPredicate()) {
      case P::slt:
        o = PredOp::Lt;
        break;
      case P::sle:
        o = PredOp::Le;
        break;
      case P::sgt:
        o = PredOp::Gt;
        break;
      case P::sge:
        o = PredOp::Ge;
        break;
      case P::eq:
        o = PredOp::Eq;
        break;
      case P::ne:
        o = PredOp::Ne;
        break;
      default:
        return false;
      }
      // Signed order on i1 is not the order of 0 and 1.
      if (boolean && o != PredOp::Eq && o != PredOp::Ne)
        return false;
      out = binary(o, at(c.getLhs()), at(c.getRhs()), op);
    } else {
      std::optional<PredOp> o;
      if (isa<arith::AddIOp>(op))
        o = PredOp::Add;
      else if (isa<arith::SubIOp>(op))
        o = PredOp::Sub;
      else if (isa<arith::MulIOp>(op))
        o = PredOp::Mul;
      else if (isa<DivOp>(op))
        o = PredOp::Div;
      else if (isa<ModOp>(op))
        o = PredOp::Mod;
      else if (isa<arith::MinSIOp>(op))
        o = PredOp::Min;
      else if (isa<arith::MaxSIOp>(op))
        o = PredOp::Max;
      else if (isa<arith::AndIOp>(op))
        o = PredOp::And;
      else if (isa<arith::OrIOp>(op))
        o = PredOp::Or;
      else if (isa<arith::XOrIOp>(op))
        o = PredOp::Xor;
      if (!o || op->getNumOperands() != 2)
        return false;
      // Bitwise ops on integers are not the program's logic.
      if ((*o == PredOp::And || *o == PredOp::Or || *o == PredOp::Xor) &&
          !op->getResult(0).getType().isInteger(1))
        return false;
      out = binary(*o, at(op->getOperand(0)), at(op->getOperand(1)), op);
    }
    index_[v] = out;
    return true;
  }

  PredicateProgram program_;
  llvm::DenseMap<Value, int32_t> index_;
};

} // namespace

PredicateProgram buildPredicateProgram(Value root,
                                       llvm::DenseMap<Value, int32_t> *index) {
  ProgramBuilder b;
  std::optional<PredicateProgram> p = b.run(root);
  if (!p)
    return PredicateProgram{};
  if (index)
    *index = b.index();
  return *p;
}

std::vector<bool> readsPairs(const PredicateProgram &p) {
  std::vector<bool> out(p.code.size(), false);
  for (size_t i = 0; i < p.code.size(); ++i) {
    const PredInstr &in = p.code[i];
    bool reads = in.op == PredOp::Query || in.op == PredOp::Key ||
                 in.op == PredOp::Load || in.op == PredOp::InArray;
    for (int32_t o : {in.a, in.b, in.c})
      reads = reads || (o >= 0 && out[o]);
    out[i] = reads;
  }
  return out;
}

DictionaryAttr predicateAttr(MLIRContext *ctx, const PredicateProgram &p) {
  Builder b(ctx);
  SmallVector<int64_t> code;
  for (const PredInstr &i : p.code)
    code.append({static_cast<int64_t>(i.op), i.a, i.b, i.c, i.name, i.imm});
  SmallVector<Attribute> names, locs;
  for (const std::string &n : p.names)
    names.push_back(b.getStringAttr(n));
  for (const std::string &l : p.locations)
    locs.push_back(b.getStringAttr(l));
  return b.getDictionaryAttr(
      {b.getNamedAttr("code", b.getDenseI64ArrayAttr(code)),
       b.getNamedAttr("names", b.getArrayAttr(names)),
       b.getNamedAttr("locations", b.getArrayAttr(locs)),
       b.getNamedAttr("result", b.getI64IntegerAttr(p.result))});
}

std::optional<PredicateProgram> predicateFromAttr(DictionaryAttr attr) {
  auto code = dyn_cast_or_null<DenseI64ArrayAttr>(attr.get("code"));
  auto names = dyn_cast_or_null<ArrayAttr>(attr.get("names"));
  auto locs = dyn_cast_or_null<ArrayAttr>(attr.get("locations"));
  auto result = dyn_cast_or_null<IntegerAttr>(attr.get("result"));
  if (!code || !names || !locs || !result || code.size() % 6 != 0)
    return std::nullopt;
  PredicateProgram p;
  auto narrow = [](int64_t v, int32_t &out) {
    if (v < -1 || v > std::numeric_limits<int32_t>::max())
      return false;
    out = static_cast<int32_t>(v);
    return true;
  };
  for (size_t i = 0; i < code.size(); i += 6) {
    PredInstr in;
    if (code[i] < 0 || code[i] > static_cast<int64_t>(PredOp::Last))
      return std::nullopt;
    in.op = static_cast<PredOp>(code[i]);
    if (!narrow(code[i + 1], in.a) || !narrow(code[i + 2], in.b) ||
        !narrow(code[i + 3], in.c) || !narrow(code[i + 4], in.name))
      return std::nullopt;
    in.imm = code[i + 5];
    p.code.push_back(in);
  }
  for (Attribute n : names) {
    auto s = dyn_cast<StringAttr>(n);
    if (!s)
      return std::nullopt;
    p.names.push_back(s.str());
  }
  for (Attribute n : locs) {
    auto s = dyn_cast<StringAttr>(n);
    if (!s)
      return std::nullopt;
    p.locations.push_back(s.str());
  }
  if (!narrow(result.getInt(), p.result))
    return std::nullopt;
  if (!p.empty() && !p.wellFormed())
    return std::nullopt;
  return p;
}

} // namespace maskjit::mask
