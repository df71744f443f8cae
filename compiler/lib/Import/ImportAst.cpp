//===- ImportAst.cpp - From the typed AST to the mask dialect -------------===//
//
// Pattern calls are inlined: each call site gets its own copy of the callee,
// with the callee's parameters bound to the caller's argument values (or to
// the callee's defaults, as constants). Only the top-level pattern's
// parameters become `mask.param` ops.
//
//===----------------------------------------------------------------------===//
#include "maskjit/compiler/Import.h"
#include "maskjit/compiler/MaskDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

#include <map>

using namespace mlir;

namespace maskjit::mask {

void loadCompilerDialects(MLIRContext &context) {
  context.loadDialect<MaskDialect, arith::ArithDialect>();
}

namespace {

class Importer {
public:
  Importer(MLIRContext &ctx, const dsl::SourceManager &sources)
      : ctx_(ctx), sources_(sources), b_(&ctx) {}

  OwningOpRef<ModuleOp> run(const dsl::PatternDecl &pattern);

private:
  /// A parameter's value in one inlined instance of a pattern.
  struct Bound {
    Value value;       ///< Scalars.
    std::string array; ///< int[] arrays: the top-level array's name.
  };
  struct Scope {
    const dsl::PatternDecl *pattern;
    std::vector<Bound> params;
    std::vector<Value> lets;
  };

  Location loc(const dsl::Location &l) {
    return FileLineColLoc::get(&ctx_, sources_.name(l.begin.file), l.begin.line,
                               l.begin.column);
  }
  Value constant(int64_t v, Location l, bool isBool = false) {
    if (isBool)
      return arith::ConstantIntOp::create(b_, l, v != 0, 1);
    return arith::ConstantIntOp::create(b_, l, v, 64);
  }
  Value body(Scope &s);
  Value expr(const dsl::Expr &e, Scope &s);
  Value binary(const dsl::Expr &e, Scope &s);
  Value call(const dsl::Expr &e, Scope &s);
  const std::string &arrayName(const dsl::Expr &e, Scope &s) {
    return s.params[e.index].array;
  }

  MLIRContext &ctx_;
  const dsl::SourceManager &sources_;
  OpBuilder b_;
};

OwningOpRef<ModuleOp> Importer::run(const dsl::PatternDecl &pattern) {
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc(pattern.loc));
  b_.setInsertionPointToEnd(module->getBody());
  auto op = PatternOp::create(b_, loc(pattern.loc), pattern.name);
  Block *block = new Block();
  op.getBody().push_back(block);
  b_.setInsertionPointToStart(block);
  Scope top{&pattern, {}, {}};
  for (const dsl::ParamDecl &p : pattern.params) {
    Location l = loc(p.loc);
    if (p.type == dsl::Type::IntArray) {
      ArrayParamOp::create(b_, l, p.name);
      top.params.push_back({Value(), p.name});
      continue;
    }
    Type t = p.type == dsl::Type::Bool ? b_.getI1Type() : b_.getI64Type();
    auto param = ParamOp::create(
        b_, l, t, p.name, p.runtime, p.type == dsl::Type::HeadArray,
        p.defaultConstant ? b_.getI64IntegerAttr(*p.defaultConstant)
                          : IntegerAttr());
    // A per-head array reads as its head's value, and indexed (`w[i]`) as
    // the array itself.
    top.params.push_back(
        {param.getResult(), p.type == dsl::Type::HeadArray ? p.name : ""});
  }
  Value result = body(top);
  YieldOp::create(b_, loc(pattern.loc), result);
  return module;
}

Value Importer::body(Scope &s) {
  const dsl::PatternDecl &p = *s.pattern;
  for (const dsl::LetDecl &let : p.lets)
    s.lets.push_back(expr(*let.value, s));
  if (!p.isDispatch())
    return expr(*p.body, s);
  std::vector<int64_t> first, last;
  for (const dsl::HeadArm &arm : p.arms) {
    first.push_back(arm.first);
    last.push_back(arm.last.value_or(-1));
  }
  auto dispatch =
      DispatchOp::create(b_, loc(p.loc), b_.getI1Type(), first, last,
                         static_cast<unsigned>(p.arms.size()));
  OpBuilder::InsertionGuard guard(b_);
  for (size_t i = 0; i < p.arms.size(); ++i) {
    Block *block = new Block();
    dispatch.getArms()[i].push_back(block);
    b_.setInsertionPointToStart(block);
    Value v = expr(*p.arms[i].body, s);
    YieldOp::create(b_, loc(p.arms[i].loc), v);
  }
  return dispatch.getResult();
}

Value Importer::expr(const dsl::Expr &e, Scope &s) {
  Location l = loc(e.loc);
  switch (e.kind) {
  case dsl::ExprKind::IntLit:
    return constant(e.intValue, l);
  case dsl::ExprKind::BoolLit:
    return constant(e.intValue, l, true);
  case dsl::ExprKind::Causal:
    return CausalOp::create(b_, l, b_.getI1Type());
  case dsl::ExprKind::Name:
    switch (e.ref) {
    case dsl::RefKind::Var:
      return VarOp::create(b_, l, b_.getI64Type(), dsl::varName(e.var));
    case dsl::RefKind::Param:
      return s.params[e.index].value;
    case dsl::RefKind::Let:
      return s.lets[e.index];
    case dsl::RefKind::Unresolved:
      break;
    }
    break;
  case dsl::ExprKind::Unary: {
    Value a = expr(*e.operands[0], s);
    if (e.op == dsl::Op::Not)
      return arith::XOrIOp::create(b_, l, a, constant(1, l, true));
    return arith::SubIOp::create(b_, l, constant(0, l), a);
  }
  case dsl::ExprKind::If: {
    Value c = expr(*e.operands[0], s);
    Value t = expr(*e.operands[1], s);
    Value f = expr(*e.operands[2], s);
    return arith::SelectOp::create(b_, l, c, t, f);
  }
  case dsl::ExprKind::Index:
    return LoadOp::create(b_, l, b_.getI64Type(), arrayName(*e.operands[0], s),
                          expr(*e.operands[1], s));
  case dsl::ExprKind::Call:
    return call(e, s);
  case dsl::ExprKind::Binary:
    return binary(e, s);
  case dsl::ExprKind::Error:
    break;
  }
  llvm_unreachable("unchecked AST reached the importer");
}

Value Importer::binary(const dsl::Expr &e, Scope &s) {
  Location l = loc(e.loc);
  const dsl::Expr &rhs = *e.operands[1];
  Value a = expr(*e.operands[0], s);
  if (e.op == dsl::Op::In) {
    if (rhs.kind == dsl::ExprKind::Call)
      return InSelectedOp::create(
          b_, l, b_.getI1Type(), a, dsl::builtinName(rhs.builtin),
          expr(*rhs.operands[0], s), expr(*rhs.operands[1], s));
    return InArrayOp::create(b_, l, b_.getI1Type(), a, arrayName(rhs, s));
  }
  Value c = expr(rhs, s);
  auto cmp = [&](arith::CmpIPredicate p) -> Value {
    return arith::CmpIOp::create(b_, l, p, a, c);
  };
  switch (e.op) {
  case dsl::Op::Add:
    return arith::AddIOp::create(b_, l, a, c);
  case dsl::Op::Sub:
    return arith::SubIOp::create(b_, l, a, c);
  case dsl::Op::Mul:
    return arith::MulIOp::create(b_, l, a, c);
  case dsl::Op::Div:
    return DivOp::create(b_, l, b_.getI64Type(), a, c);
  case dsl::Op::Mod:
    return ModOp::create(b_, l, b_.getI64Type(), a, c);
  case dsl::Op::Eq:
    return cmp(arith::CmpIPredicate::eq);
  case dsl::Op::Ne:
    return cmp(arith::CmpIPredicate::ne);
  case dsl::Op::Lt:
    return cmp(arith::CmpIPredicate::slt);
  case dsl::Op::Le:
    return cmp(arith::CmpIPredicate::sle);
  case dsl::Op::Gt:
    return cmp(arith::CmpIPredicate::sgt);
  case dsl::Op::Ge:
    return cmp(arith::CmpIPredicate::sge);
  case dsl::Op::And:
    return arith::AndIOp::create(b_, l, a, c);
  case dsl::Op::Or:
    return arith::OrIOp::create(b_, l, a, c);
  default:
    break;
  }
  llvm_unreachable("not a binary operator");
}

Value Importer::call(const dsl::Expr &e, Scope &s) {
  Location l = loc(e.loc);
  switch (e.builtin) {
  case dsl::Builtin::Abs: {
    Value x = expr(*e.operands[0], s);
    Value neg = arith::SubIOp::create(b_, l, constant(0, l), x);
    Value isNeg = arith::CmpIOp::create(b_, l, arith::CmpIPredicate::slt, x,
                                        constant(0, l));
    return arith::SelectOp::create(b_, l, isNeg, neg, x);
  }
  case dsl::Builtin::Min:
    return arith::MinSIOp::create(b_, l, expr(*e.operands[0], s),
                                  expr(*e.operands[1], s));
  case dsl::Builtin::Max:
    return arith::MaxSIOp::create(b_, l, expr(*e.operands[0], s),
                                  expr(*e.operands[1], s));
  case dsl::Builtin::Clamp: {
    // min(max(x, lo), hi): the schedule splits min and max into cases, the
    // kernels and the tiers already evaluate both.
    Value low = arith::MaxSIOp::create(b_, l, expr(*e.operands[0], s),
                                       expr(*e.operands[1], s));
    return arith::MinSIOp::create(b_, l, low, expr(*e.operands[2], s));
  }
  default:
    break;
  }
  const dsl::PatternDecl &callee = *e.callee;
  Scope inner{&callee, {}, {}};
  for (size_t i = 0; i < callee.params.size(); ++i) {
    const dsl::ParamDecl &p = callee.params[i];
    int arg = e.argForParam[i];
    if (arg >= 0 && p.type == dsl::Type::IntArray) {
      inner.params.push_back({Value(), arrayName(*e.operands[arg], s)});
    } else if (arg >= 0) {
      const dsl::Expr &a = *e.operands[arg];
      const bool headArray = p.type == dsl::Type::HeadArray &&
                             a.kind == dsl::ExprKind::Name &&
                             a.ref == dsl::RefKind::Param;
      inner.params.push_back(
          {expr(a, s), headArray ? s.params[a.index].array : ""});
    } else {
      inner.params.push_back({constant(p.defaultConstant.value_or(0),
                                       loc(p.loc), p.type == dsl::Type::Bool),
                              ""});
    }
  }
  return body(inner);
}

} // namespace

OwningOpRef<ModuleOp> importPattern(MLIRContext &context,
                                    const dsl::Program &program,
                                    const dsl::PatternDecl &pattern,
                                    const dsl::SourceManager &sources) {
  (void)program;
  loadCompilerDialects(context);
  return Importer(context, sources).run(pattern);
}

} // namespace maskjit::mask
