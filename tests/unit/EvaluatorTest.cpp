#include "TestUtil.h"

using namespace maskjit;
using namespace maskjit::dsl;

namespace {

std::string errorOf(const std::string &src, const ParamBindings &params,
                    EvalShape shape, const Selections &sel = {}) {
  test::Loaded l = test::load(src);
  EXPECT_NE(l.program, nullptr) << l.diagnostics;
  if (!l.program)
    return "";
  try {
    MaskEvaluator e(*l.program, *l.program->mainPatterns().back(), params, sel,
                    shape);
    test::denseRows(e);
  } catch (const MaskError &err) {
    std::string where;
    if (err.loc)
      where = std::to_string(err.loc->begin.line) + ":" +
              std::to_string(err.loc->begin.column) + ": ";
    return where + err.what();
  }
  ADD_FAILURE() << "no error for " << src;
  return "";
}

std::vector<std::string> rows(const std::string &src,
                              const ParamBindings &params, EvalShape shape,
                              const Selections &sel = {}) {
  test::Loaded l = test::load(src);
  EXPECT_NE(l.program, nullptr) << l.diagnostics;
  if (!l.program)
    return {};
  MaskEvaluator e(*l.program, *l.program->mainPatterns().back(), params, sel,
                  shape);
  return test::denseRows(e);
}

} // namespace

TEST(Evaluator, BindingErrors) {
  const std::string src =
      "pattern p(w: int, flag: bool = true, doc: int[]) { causal }";
  EXPECT_NE(errorOf(src, {}, {4, 4})
                .find("parameter `w` of pattern `p` has no default"),
            std::string::npos);
  EXPECT_NE(
      errorOf(src,
              {{"w", ParamValue::integer(1)}, {"wx", ParamValue::integer(1)}},
              {4, 4})
          .find("has no parameter `wx`"),
      std::string::npos);
  EXPECT_NE(
      errorOf(src, {{"w", ParamValue::ints({1})}}, {4, 4}).find("`w` is int"),
      std::string::npos);
  EXPECT_NE(
      errorOf(src,
              {{"w", ParamValue::integer(1)}, {"flag", ParamValue::integer(1)}},
              {4, 4})
          .find("`flag` is bool"),
      std::string::npos);
  EXPECT_NE(errorOf("pattern p { heads 0..1 => causal }", {}, {4, 4, 2})
                .find("head 2 is not covered"),
            std::string::npos);
  EXPECT_NE(errorOf("pattern p { k in topk_columns(4, 8) }", {}, {4, 4})
                .find("needs the chosen columns"),
            std::string::npos);
}

TEST(Evaluator, RuntimeErrorsPointAtTheSource) {
  EXPECT_EQ(errorOf("pattern p(s: int = 0) {\n  k % s == 0\n}", {}, {4, 4}),
            "2:5: modulo by zero");
  EXPECT_EQ(errorOf("pattern p(doc: int[]) {\n  doc[q] == doc[k] }",
                    {{"doc", ParamValue::ints({0, 0, 1})}}, {4, 4}),
            "2:13: index 3 is out of range for `doc` (it has 3 values)");
  EXPECT_EQ(errorOf("pattern p(big: int = 4611686018427387904) { k * big > 0 }",
                    {}, {4, 4}),
            "1:47: integer overflow (2, 4611686018427387904)");
}

TEST(Evaluator, LazySemanticsAvoidUnreachedTraps) {
  // The division is never reached where s == 0, so there is no error.
  EXPECT_EQ(
      rows("pattern p(s: int = 0) { if s == 0 then causal else k % s == 0 }",
           {}, {3, 3}),
      (std::vector<std::string>{"#..", "##.", "###"}));
  // Position-dependent guard: only k == 0 would divide by zero.
  EXPECT_EQ(rows("pattern p { k != 0 and q / k >= 1 }", {}, {3, 3}),
            (std::vector<std::string>{"...", ".#.", ".##"}));
  EXPECT_EQ(rows("pattern p { k == 0 or q % k == 0 }", {}, {3, 4}),
            (std::vector<std::string>{"####", "##..", "###."}));
}

TEST(Evaluator, HeadsBatchLengthsAndPerHeadParams) {
  const std::string src = "pattern p(w: int[heads]) { causal and q - k < w }";
  ParamBindings params{{"w", ParamValue::ints({1, 2, 3})}};
  params["w"].type = Type::HeadArray;
  EXPECT_EQ(rows(src, params, {3, 3, 0}),
            (std::vector<std::string>{"#..", ".#.", "..#"}));
  EXPECT_EQ(rows(src, params, {3, 3, 2}),
            (std::vector<std::string>{"#..", "##.", "###"}));
  EXPECT_NE(
      errorOf(src, params, {3, 3, 3}).find("has 3 values, so head 3 has none"),
      std::string::npos);
  EXPECT_EQ(rows("pattern p { k == h + b }", {}, {1, 4, 1, 2}),
            (std::vector<std::string>{"...#"}));
  EXPECT_EQ(rows("pattern p { k == Lk - 1 or q == Lq - 1 }", {}, {2, 3}),
            (std::vector<std::string>{"..#", "###"}));
  EXPECT_EQ(rows("pattern p(w: int[heads]) { k < w[1] }", params, {1, 4}),
            (std::vector<std::string>{"##.."}));
}

TEST(Evaluator, UserIndexArraysAndCalls) {
  const std::string src = "pattern keep(cols: int[]) { k in cols }\n"
                          "pattern p(cols: int[], w: int = 1) { causal and "
                          "(keep(cols) or q - k < w) }";
  EXPECT_EQ(rows(src, {{"cols", ParamValue::ints({2, 0, 2})}}, {4, 4}),
            (std::vector<std::string>{"#...", "##..", "#.#.", "#.##"}));
}

TEST(Evaluator, ConstantPatternsFoldCompletely) {
  test::Loaded l = test::load("pattern p(on: bool = false) { on and causal }");
  ASSERT_NE(l.program, nullptr);
  MaskEvaluator e(*l.program, l.pattern("p"), {}, {}, {8, 8});
  bool v = true;
  EXPECT_TRUE(e.constantResult(v));
  EXPECT_FALSE(v);
  MaskEvaluator on(*l.program, l.pattern("p"),
                   {{"on", ParamValue::boolean(true)}}, {}, {8, 8});
  EXPECT_FALSE(on.constantResult(v));
  EXPECT_LE(on.programSize(), 6u);
}

TEST(Evaluator, LargeRowsWithoutDenseStorage) {
  // 1M keys in one row: the evaluator works per row, never per S^2.
  test::Loaded l =
      test::load("pattern p { causal and (k < 128 or q - k < 2048) }");
  ASSERT_NE(l.program, nullptr);
  const int64_t n = 1 << 20;
  MaskEvaluator e(*l.program, l.pattern("p"), {}, {}, {n, n});
  std::vector<uint8_t> row(n);
  e.row(n - 1, row.data());
  int64_t count = 0;
  for (uint8_t v : row)
    count += v;
  EXPECT_EQ(count, 128 + 2048);
}
