#include "TestUtil.h"

using namespace maskjit;
using namespace maskjit::dsl;
using test::errorsOf;
using test::load;

#define EXPECT_DIAG(src, text)                                                 \
  do {                                                                         \
    std::string d_ = errorsOf(src);                                            \
    EXPECT_NE(d_.find(text), std::string::npos) << "diagnostics were:\n"       \
                                                << d_;                         \
  } while (0)

TEST(Sema, ResolvesNamesAndTypes) {
  test::Loaded l = load(R"(
pattern p(w: int = 4, doc: int[]) {
  let d = q - k
  causal and d < w and doc[q] == doc[k] and h >= 0 and b >= 0 and Lq <= Lk
}
)");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  const PatternDecl &p = l.pattern("p");
  EXPECT_EQ(p.body->type, Type::Bool);
  EXPECT_EQ(p.lets[0].value->type, Type::Int);
  EXPECT_TRUE(p.lets[0].value->dependsOnPosition);
}

TEST(Sema, FoldsConstants) {
  test::Loaded l = load(R"(
pattern p {
  let a = 7 / -2
  let m = -7 % 3
  let c = abs(-5) + max(2, 3) * min(4, 1)
  let t = if a < 0 then 10 else 20
  false or (a == -4 and m == 2 and c == 8 and t == 10)
}
)");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  const PatternDecl &p = l.pattern("p");
  EXPECT_EQ(p.lets[0].value->constant, -4);
  EXPECT_EQ(p.lets[1].value->constant, 2);
  EXPECT_EQ(p.lets[2].value->constant, 8);
  EXPECT_EQ(p.lets[3].value->constant, 10);
  EXPECT_EQ(p.body->constant, 1);
}

TEST(Sema, ConstantErrors) {
  EXPECT_DIAG("pattern p { k % 0 == 1 }", "modulo by zero");
  EXPECT_DIAG("pattern p { k / (3 - 3) == 1 }", "division by zero");
  EXPECT_DIAG("pattern p { k < 9223372036854775807 + 1 }", "integer overflow");
  EXPECT_DIAG("pattern p { k < 4611686018427387904 * 2 }", "integer overflow");
  EXPECT_DIAG("pattern p(w: int = q) { causal }",
              "default values must be constants");
  EXPECT_DIAG("pattern p(w: int = 1 / 0) { causal }", "division by zero");
}

TEST(Sema, TypeErrors) {
  EXPECT_DIAG("pattern p { q - k }", "must be bool, but it is int");
  EXPECT_DIAG("pattern p { causal + 1 < 2 }",
              "left operand of `+` must be int");
  EXPECT_DIAG("pattern p { q and k }", "must be bool");
  EXPECT_DIAG("pattern p { causal == 1 }", "cannot compare bool with int");
  EXPECT_DIAG("pattern p { if q then true else false }", "condition of `if`");
  EXPECT_DIAG("pattern p { if causal then 1 else false }",
              "branches of `if` have different types");
  EXPECT_DIAG("pattern p { k in 4 }", "right operand of `in` must be a set");
  EXPECT_DIAG("pattern p(doc: int[]) { doc < 3 }", "index it");
  EXPECT_DIAG("pattern p { q[2] == 1 }", "only arrays can be indexed");
  EXPECT_DIAG("pattern p(b2: bool = 3) { b2 }", "default of `b2` must be bool");
  EXPECT_DIAG("pattern p(doc: int[] = 3) { causal }", "cannot have a default");
}

TEST(Sema, NameErrorsWithHints) {
  EXPECT_DIAG("pattern p(window: int = 4) { q - k < windw }",
              "unknown name `windw`; did you mean `window`?");
  EXPECT_DIAG("pattern p { causal and zzz }", "unknown name `zzz`");
  EXPECT_DIAG("pattern p { let a = b2\n let b2 = 1\n a < k }",
              "`b2` is used before its `let` definition");
  EXPECT_DIAG("pattern p { let a = 1\n let a = 2\n a < k }",
              "redefinition of `a`");
  EXPECT_DIAG("pattern p(w: int) { let w = 2\n w < k }",
              "let `w` shadows a parameter");
  EXPECT_DIAG("pattern p(q: int) { causal }", "`q` is a built-in name");
  EXPECT_DIAG("pattern p(a: int, a: int) { causal }",
              "redefinition of parameter `a`");
  EXPECT_DIAG("pattern p { causal }\npattern p { causal }",
              "redefinition of pattern `p`");
  EXPECT_DIAG("pattern abs { causal }", "reserved for a built-in");
  EXPECT_DIAG("pattern a { causal }\npattern p { a and causal }",
              "`a` is a pattern; call it");
  EXPECT_DIAG("pattern p { abs < 3 }", "`abs` is a function");
}

TEST(Sema, CallChecks) {
  const std::string w =
      "pattern w(window: int, extra: int = 1) { q - k < window }\n";
  EXPECT_DIAG(w + "pattern p { w() }",
              "missing argument for parameter `window`");
  EXPECT_DIAG(w + "pattern p { w(1, 2, 3) }", "too many arguments");
  EXPECT_DIAG(w + "pattern p { w(windo = 3) }",
              "has no parameter `windo`; did you mean `window`?");
  EXPECT_DIAG(w + "pattern p { w(window = 3, 4) }",
              "positional argument after a named");
  EXPECT_DIAG(w + "pattern p { w(3, window = 4) }",
              "parameter `window` is given twice");
  EXPECT_DIAG(w + "pattern p { w(causal) }",
              "argument for `window` must be int");
  EXPECT_DIAG(w + "pattern p { wx(3) }",
              "unknown pattern or function `wx`; did you mean `w`?");
  EXPECT_DIAG("pattern p { abs(1, 2) < k }",
              "abs takes 1 argument, but 2 were given");
  EXPECT_DIAG("pattern p { max(1) < k }",
              "max takes 2 arguments, but 1 was given");
  EXPECT_DIAG("pattern p { abs(x = 1) < k }", "takes no named arguments");
  EXPECT_DIAG("pattern p { q(1) }", "`q` is not a function or pattern");
  test::Loaded ok = load(w + "pattern p { w(3) and w(window = 2, extra = 5) }");
  EXPECT_NE(ok.program, nullptr) << ok.diagnostics;
}

TEST(Sema, Selectors) {
  EXPECT_DIAG("pattern p { topk_columns(4, 8) }",
              "is a set; use it after `in`");
  EXPECT_DIAG("pattern p { k in topk_columns(q, 8) }",
              "cannot depend on the position");
  EXPECT_DIAG("pattern p { k in topk_blocks(0, 64) }", "must be positive");
  EXPECT_DIAG("pattern p { k in topk_diagonals(4) }", "takes 2 arguments");
  test::Loaded ok = load("pattern p(n: int = 4) { k in topk_columns(n, 64) or "
                         "q - k in topk_diagonals(n * 2, 64) or "
                         "k / 64 in topk_blocks(n, 64) }");
  EXPECT_NE(ok.program, nullptr) << ok.diagnostics;
}

TEST(Sema, RecursionAndCallDepth) {
  EXPECT_DIAG("pattern p { p() }", "recursive pattern call (p -> p)");
  EXPECT_DIAG("pattern a { b() }\npattern b { c() }\npattern c { a() }",
              "recursive pattern call (a -> b -> c -> a)");
  std::string chain = "pattern p0 { causal }\n";
  for (int i = 1; i < 200; ++i)
    chain += "pattern p" + std::to_string(i) + " { p" + std::to_string(i - 1) +
             "() }\n";
  EXPECT_DIAG(chain, "pattern calls nest too deeply");
}

TEST(Sema, HeadRanges) {
  EXPECT_DIAG("pattern p { heads 0..3 => causal\n heads 2.. => causal }",
              "head range overlaps an earlier one (head 2 is claimed twice)");
  EXPECT_DIAG("pattern p { heads 0..3 => causal\n heads 5.. => causal }",
              "heads 4..4 of pattern `p` are not covered");
  EXPECT_DIAG("pattern p { heads 1.. => causal }",
              "heads 0..0 of pattern `p` are not covered");
  EXPECT_DIAG("pattern p { heads 0..7 => causal\n heads 9..8 => causal }",
              "empty head range 9..8");
  EXPECT_DIAG("pattern p { heads 0.. => q - k }", "must be bool");
}

TEST(Sema, ImportsAcrossFiles) {
  test::Loaded l =
      test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/mixed.mask");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  EXPECT_NE(l.program->find("a_shape"), nullptr);
  EXPECT_NE(l.program->find("vertical_slash"), nullptr);
  EXPECT_EQ(l.program->mainPatterns().size(), 1u);
  EXPECT_DIAG("import \"does_not_exist.mask\"\npattern p { causal }",
              "cannot import \"does_not_exist.mask\": no such file");
}
