//===- Ast.cpp - AST helpers and the AST printer --------------------------===//
#include "maskjit/dsl/Ast.h"

#include <sstream>

namespace maskjit::dsl {

const char *typeName(Type t) {
  switch (t) {
  case Type::Error:
    return "<error>";
  case Type::Int:
    return "int";
  case Type::Bool:
    return "bool";
  case Type::IntArray:
    return "int[]";
  case Type::HeadArray:
    return "int[heads]";
  case Type::Set:
    return "set";
  }
  return "?";
}

const char *opSpelling(Op op) {
  switch (op) {
  case Op::Add:
    return "+";
  case Op::Sub:
    return "-";
  case Op::Mul:
    return "*";
  case Op::Div:
    return "/";
  case Op::Mod:
    return "%";
  case Op::Eq:
    return "==";
  case Op::Ne:
    return "!=";
  case Op::Lt:
    return "<";
  case Op::Le:
    return "<=";
  case Op::Gt:
    return ">";
  case Op::Ge:
    return ">=";
  case Op::And:
    return "and";
  case Op::Or:
    return "or";
  case Op::In:
    return "in";
  case Op::Neg:
    return "-";
  case Op::Not:
    return "not";
  }
  return "?";
}

const char *varName(Var v) {
  switch (v) {
  case Var::Q:
    return "q";
  case Var::K:
    return "k";
  case Var::H:
    return "h";
  case Var::B:
    return "b";
  case Var::Lq:
    return "Lq";
  case Var::Lk:
    return "Lk";
  }
  return "?";
}

const char *builtinName(Builtin b) {
  switch (b) {
  case Builtin::None:
    return "";
  case Builtin::Abs:
    return "abs";
  case Builtin::Min:
    return "min";
  case Builtin::Max:
    return "max";
  case Builtin::TopkColumns:
    return "topk_columns";
  case Builtin::TopkDiagonals:
    return "topk_diagonals";
  case Builtin::TopkBlocks:
    return "topk_blocks";
  case Builtin::Clamp:
    return "clamp";
  }
  return "";
}

bool isSelector(Builtin b) {
  return b == Builtin::TopkColumns || b == Builtin::TopkDiagonals ||
         b == Builtin::TopkBlocks;
}

std::optional<uint32_t> PatternDecl::findParam(const std::string &n) const {
  for (uint32_t i = 0; i < params.size(); ++i)
    if (params[i].name == n)
      return i;
  return std::nullopt;
}

const PatternDecl *Program::find(const std::string &name) const {
  auto it = patterns.find(name);
  return it == patterns.end() ? nullptr : it->second;
}

std::vector<const PatternDecl *> Program::mainPatterns() const {
  std::vector<const PatternDecl *> out;
  if (!modules.empty())
    for (auto &p : modules.front()->patterns)
      out.push_back(p.get());
  return out;
}

namespace {

class AstPrinter {
public:
  explicit AstPrinter(std::ostream &os) : os_(os) {}

  void pattern(const PatternDecl &p) {
    os_ << "pattern " << p.name << " <" << p.loc.begin.line << ':'
        << p.loc.begin.column << ">\n";
    for (const ParamDecl &param : p.params) {
      os_ << "  param " << param.name << ": "
          << (param.runtime ? "runtime " : "") << typeName(param.type);
      if (param.defaultConstant)
        os_ << " = " << *param.defaultConstant;
      else if (param.defaultValue)
        os_ << " = <expr>";
      os_ << '\n';
    }
    for (const LetDecl &let : p.lets) {
      os_ << "  let " << let.name << '\n';
      if (let.value)
        expr(*let.value, 2);
    }
    if (p.body) {
      os_ << "  body\n";
      expr(*p.body, 2);
    }
    for (const HeadArm &arm : p.arms) {
      os_ << "  heads " << arm.first << "..";
      if (arm.last)
        os_ << *arm.last;
      os_ << '\n';
      if (arm.body)
        expr(*arm.body, 2);
    }
  }

private:
  void expr(const Expr &e, int indent) {
    os_ << std::string(indent * 2, ' ');
    switch (e.kind) {
    case ExprKind::IntLit:
      os_ << "int " << e.intValue;
      break;
    case ExprKind::BoolLit:
      os_ << (e.intValue ? "true" : "false");
      break;
    case ExprKind::Causal:
      os_ << "causal";
      break;
    case ExprKind::Name:
      os_ << "name " << e.name;
      if (e.ref == RefKind::Param)
        os_ << " (param #" << e.index << ')';
      if (e.ref == RefKind::Let)
        os_ << " (let #" << e.index << ')';
      if (e.ref == RefKind::Var)
        os_ << " (index variable)";
      break;
    case ExprKind::Unary:
      os_ << "unary " << opSpelling(e.op);
      break;
    case ExprKind::Binary:
      os_ << "binary " << opSpelling(e.op);
      break;
    case ExprKind::If:
      os_ << "if";
      break;
    case ExprKind::Call:
      os_ << "call " << e.name;
      if (e.callee)
        os_ << " (pattern)";
      else if (e.builtin != Builtin::None)
        os_ << " (built-in)";
      break;
    case ExprKind::Index:
      os_ << "index";
      break;
    case ExprKind::Error:
      os_ << "<error>";
      break;
    }
    os_ << " : " << typeName(e.type);
    if (e.constant && e.kind != ExprKind::IntLit && e.kind != ExprKind::BoolLit)
      os_ << " = " << *e.constant;
    os_ << " <" << e.loc.begin.line << ':' << e.loc.begin.column << ">\n";
    for (size_t i = 0; i < e.operands.size(); ++i) {
      if (e.kind == ExprKind::Call && i < e.argNames.size() &&
          !e.argNames[i].empty())
        os_ << std::string(indent * 2 + 2, ' ') << e.argNames[i] << " =\n";
      if (e.operands[i])
        expr(*e.operands[i], indent + 1);
    }
  }

  std::ostream &os_;
};

} // namespace

std::string printAst(const Program &program, const SourceManager &sources,
                     const PatternDecl *only) {
  std::ostringstream os;
  AstPrinter printer(os);
  for (const auto &m : program.modules) {
    bool any = false;
    for (const auto &p : m->patterns)
      any |= !only || p.get() == only;
    if (!any)
      continue;
    os << "module \"" << sources.name(m->file) << "\"\n";
    for (const ImportDecl &imp : m->imports)
      os << "  import \"" << imp.path << "\"\n";
    for (const auto &p : m->patterns)
      if (!only || p.get() == only)
        printer.pattern(*p);
  }
  return os.str();
}

} // namespace maskjit::dsl
