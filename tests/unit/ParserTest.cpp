#include "TestUtil.h"

#include "maskjit/dsl/Ast.h"

using namespace maskjit;
using namespace maskjit::dsl;
using test::errorsOf;
using test::load;

namespace {

/// Prints an expression fully parenthesized, to check precedence.
std::string paren(const Expr &e) {
  switch (e.kind) {
  case ExprKind::IntLit:
    return std::to_string(e.intValue);
  case ExprKind::BoolLit:
    return e.intValue ? "true" : "false";
  case ExprKind::Causal:
    return "causal";
  case ExprKind::Name:
    return e.name;
  case ExprKind::Unary:
    return std::string("(") + opSpelling(e.op) + " " + paren(*e.operands[0]) +
           ")";
  case ExprKind::Binary:
    return "(" + paren(*e.operands[0]) + " " + opSpelling(e.op) + " " +
           paren(*e.operands[1]) + ")";
  case ExprKind::If:
    return "(if " + paren(*e.operands[0]) + " then " + paren(*e.operands[1]) +
           " else " + paren(*e.operands[2]) + ")";
  case ExprKind::Call: {
    std::string s = e.name + "(";
    for (size_t i = 0; i < e.operands.size(); ++i) {
      if (i)
        s += ", ";
      if (!e.argNames[i].empty())
        s += e.argNames[i] + "=";
      s += paren(*e.operands[i]);
    }
    return s + ")";
  }
  case ExprKind::Index:
    return paren(*e.operands[0]) + "[" + paren(*e.operands[1]) + "]";
  case ExprKind::Error:
    return "<error>";
  }
  return "?";
}

std::string bodyOf(const std::string &body, const std::string &params = "") {
  test::Loaded l = load("pattern p" + params + " {\n" + body + "\n}\n");
  EXPECT_NE(l.program, nullptr) << l.diagnostics;
  if (!l.program)
    return "";
  return paren(*l.pattern("p").body);
}

} // namespace

TEST(Parser, Precedence) {
  EXPECT_EQ(bodyOf("causal and q - k < 4 or k < 2"),
            "((causal and ((q - k) < 4)) or (k < 2))");
  EXPECT_EQ(bodyOf("not q < k and true"), "((not (q < k)) and true)");
  EXPECT_EQ(bodyOf("q + k * 2 % 3 == -k / 4"),
            "((q + ((k * 2) % 3)) == ((- k) / 4))");
  EXPECT_EQ(bodyOf("q - k in topk_diagonals(4, 8)"),
            "((q - k) in topk_diagonals(4, 8))");
  EXPECT_EQ(bodyOf("! (q < k) && k >= 0 || false"),
            "(((not (q < k)) and (k >= 0)) or false)");
  EXPECT_EQ(bodyOf("q - k - 1 < 2"), "(((q - k) - 1) < 2)");
}

TEST(Parser, IfThenElseExtendsToTheRight) {
  EXPECT_EQ(bodyOf("causal and if q < 4 then true else k < 2 or k > 8"),
            "(causal and (if (q < 4) then true else ((k < 2) or (k > 8))))");
  EXPECT_EQ(bodyOf("k < (if q > 2 then 1 else 2)"),
            "(k < (if (q > 2) then 1 else 2))");
}

TEST(Parser, CallsIndexingAndNamedArguments) {
  EXPECT_EQ(bodyOf("abs(q - k) <= max(1, min(q, 3))"),
            "(abs((q - k)) <= max(1, min(q, 3)))");
  EXPECT_EQ(bodyOf("doc[q] == doc[k]", "(doc: int[])"), "(doc[q] == doc[k])");
  test::Loaded l = load("pattern w(window: int = 4) { q - k < window }\n"
                        "pattern p { w(window = 8) and w(2) }\n");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  EXPECT_EQ(paren(*l.pattern("p").body), "(w(window=8) and w(2))");
}

TEST(Parser, ParamsLetsAndDispatch) {
  test::Loaded l = load(R"(
pattern x(a: int = 3, bb: runtime int, c: int[], d: int[heads], e: bool = true,) {
  let m = a * 2
  let n = m + 1
  k < n and e
}
pattern y {
  let near = q - k < 4
  heads 0..3 => near
  heads 4 => causal
  heads 5.. => not near
}
)");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  const PatternDecl &x = l.pattern("x");
  ASSERT_EQ(x.params.size(), 5u);
  EXPECT_EQ(x.params[0].defaultConstant, 3);
  EXPECT_TRUE(x.params[1].runtime);
  EXPECT_FALSE(x.params[0].runtime);
  EXPECT_EQ(x.params[2].type, Type::IntArray);
  EXPECT_EQ(x.params[3].type, Type::HeadArray);
  EXPECT_EQ(x.params[4].type, Type::Bool);
  EXPECT_EQ(x.params[4].defaultConstant, 1);
  ASSERT_EQ(x.lets.size(), 2u);
  const PatternDecl &y = l.pattern("y");
  ASSERT_EQ(y.arms.size(), 3u);
  EXPECT_EQ(y.arms[0].first, 0);
  EXPECT_EQ(y.arms[0].last, 3);
  EXPECT_EQ(y.arms[1].first, 4);
  EXPECT_EQ(y.arms[1].last, 4);
  EXPECT_EQ(y.arms[2].first, 5);
  EXPECT_FALSE(y.arms[2].last.has_value());
}

TEST(Parser, CommentsAndLocations) {
  test::Loaded l = load("# leading comment\n"
                        "pattern p { // trailing\n"
                        "  causal   and q - k < 8 # tail\n"
                        "}\n");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  const PatternDecl &p = l.pattern("p");
  EXPECT_EQ(p.loc.begin.line, 2u);
  EXPECT_EQ(p.loc.begin.column, 9u);
  const Expr &andExpr = *p.body;
  EXPECT_EQ(andExpr.loc.begin.line, 3u);
  EXPECT_EQ(andExpr.loc.begin.column, 12u); // the `and`
  EXPECT_EQ(andExpr.operands[0]->loc.begin.column, 3u);
}

TEST(Parser, CallNeedsParenRightAfterName) {
  // `w (x)` is not a call: the `(` starts a new expression, a syntax error
  // that explains itself.
  std::string d = errorsOf("pattern w(x: int = 1) { causal }\n"
                           "pattern p { w (2) }\n");
  EXPECT_NE(d.find("without a space"), std::string::npos) << d;
  // So a body may start with `(` after a let.
  test::Loaded l = load("pattern p {\n let w = 4\n (q - k < w)\n}\n");
  EXPECT_NE(l.program, nullptr) << l.diagnostics;
}

TEST(Parser, SeveralSyntaxErrorsInOneFile) {
  std::string d = errorsOf("pattern a { q < }\n"
                           "pattern bb { causal }\n"
                           "pattern c { k k }\n");
  EXPECT_NE(d.find("test.mask:1:17: error: unexpected `}`"), std::string::npos)
      << d;
  EXPECT_NE(d.find("test.mask:3:15: error: unexpected identifier"),
            std::string::npos)
      << d;
  EXPECT_NE(d.find("2 errors generated."), std::string::npos) << d;
}

TEST(Parser, DeepNestingIsReportedNotCrashing) {
  // Parentheses alone add no tree depth: accepted.
  std::string src = "pattern p { " + std::string(100000, '(') + "causal" +
                    std::string(100000, ')') + " }\n";
  EXPECT_NE(load(src).program, nullptr);
  std::string negs = "pattern p { k < ";
  for (int i = 0; i < 100000; ++i)
    negs += "-(";
  negs += "q" + std::string(100000, ')') + " }\n";
  std::string d = errorsOf(negs);
  EXPECT_NE(d.find("nested too deeply"), std::string::npos);
  std::string chain = "pattern p { q";
  for (int i = 0; i < 5000; ++i)
    chain += " + 1";
  chain += " > k }\n";
  d = errorsOf(chain);
  EXPECT_NE(d.find("nested too deeply"), std::string::npos);
  std::string nots = "pattern p { ";
  for (int i = 0; i < 50000; ++i)
    nots += "not ";
  nots += "causal }\n";
  d = errorsOf(nots);
  EXPECT_NE(d.find("nested too deeply"), std::string::npos);
}

TEST(Parser, LexerErrors) {
  EXPECT_NE(errorsOf("pattern p { k < 99999999999999999999 }")
                .find("too large for a 64-bit"),
            std::string::npos);
  EXPECT_NE(
      errorsOf("pattern p { k < 12ab }").find("invalid integer literal `12ab`"),
      std::string::npos);
  EXPECT_NE(errorsOf("pattern p { k $ q }").find("invalid character `$`"),
            std::string::npos);
  EXPECT_NE(errorsOf("import \"x.mask\npattern p { causal }")
                .find("missing terminating"),
            std::string::npos);
  EXPECT_NE(
      errorsOf(std::string("pattern p { causal \xff }")).find("byte 0xFF"),
      std::string::npos);
}

TEST(Parser, EmptyFileHasNoPatterns) {
  test::Loaded l = load("# nothing here\n");
  ASSERT_NE(l.program, nullptr);
  EXPECT_TRUE(l.program->mainPatterns().empty());
}
