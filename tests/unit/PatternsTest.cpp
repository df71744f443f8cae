// The normative example patterns (examples/patterns, copied unchanged from
// the design's shared/patterns) against masks written out by hand, and
// against independent C++ formulas of what each one means.
#include "TestUtil.h"

#include <functional>
#include <random>

using namespace maskjit;
using namespace maskjit::dsl;

namespace {

test::Loaded loadPattern(const std::string &file) {
  test::Loaded l =
      test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/" + file);
  EXPECT_NE(l.program, nullptr) << l.diagnostics;
  return l;
}

std::vector<std::string> evalRows(const std::string &file,
                                  const std::string &name,
                                  const ParamBindings &params, int64_t lq,
                                  int64_t lk, const Selections &sel = {},
                                  int64_t head = 0) {
  test::Loaded l = loadPattern(file);
  if (!l.program)
    return {};
  MaskEvaluator e(*l.program, l.pattern(name), params, sel, {lq, lk, head, 0});
  return test::denseRows(e);
}

using Formula =
    std::function<bool(int64_t q, int64_t k, int64_t lq, int64_t lk)>;

void expectMatchesFormula(const std::string &file, const std::string &name,
                          const ParamBindings &params, const Formula &f,
                          const Selections &sel = {}, int64_t head = 0) {
  test::Loaded l = loadPattern(file);
  ASSERT_NE(l.program, nullptr);
  const std::pair<int64_t, int64_t> shapes[] = {
      {1, 1}, {37, 37}, {64, 200}, {200, 64}, {300, 1000}, {513, 513}};
  for (auto [lq, lk] : shapes) {
    MaskEvaluator e(*l.program, l.pattern(name), params, sel,
                    {lq, lk, head, 0});
    std::vector<uint8_t> row(lk);
    for (int64_t q = 0; q < lq; ++q) {
      e.row(q, row.data());
      for (int64_t k = 0; k < lk; ++k) {
        bool want = f(q, k, lq, lk);
        ASSERT_EQ(row[k] != 0, want)
            << name << " Lq=" << lq << " Lk=" << lk << " q=" << q << " k=" << k;
        if ((q * 7 + k) % 97 == 0) {
          ASSERT_EQ(e.allowed(q, k), want)
              << "lazy path, q=" << q << " k=" << k;
        }
      }
    }
  }
}

bool causal(int64_t q, int64_t k, int64_t lq, int64_t lk) {
  return k <= q + (lk - lq);
}
int64_t fdiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}
int64_t fmod(int64_t a, int64_t b) { return a - fdiv(a, b) * b; }

} // namespace

TEST(Patterns, AllExamplesCheck) {
  for (const char *f :
       {"a_shape.mask", "block_topk.mask", "causal.mask", "document.mask",
        "mixed.mask", "neighborhood_2d.mask", "sliding_window.mask",
        "strided.mask", "vertical_slash.mask"}) {
    test::Loaded l = loadPattern(f);
    EXPECT_NE(l.program, nullptr) << f << ":\n" << l.diagnostics;
    EXPECT_EQ(l.diagnostics, "") << f;
  }
}

TEST(Patterns, CausalByHand) {
  EXPECT_EQ(evalRows("causal.mask", "causal_only", {}, 3, 5),
            (std::vector<std::string>{"###..", "####.", "#####"}));
  EXPECT_EQ(evalRows("causal.mask", "causal_only", {}, 4, 4),
            (std::vector<std::string>{"#...", "##..", "###.", "####"}));
  // More queries than keys: the first rows see nothing.
  EXPECT_EQ(evalRows("causal.mask", "causal_only", {}, 4, 2),
            (std::vector<std::string>{"..", "..", "#.", "##"}));
}

TEST(Patterns, SlidingWindowByHand) {
  EXPECT_EQ(evalRows("sliding_window.mask", "sliding_window",
                     {{"window", ParamValue::integer(3)}}, 6, 6),
            (std::vector<std::string>{"#.....", "##....", "###...", ".###..",
                                      "..###.", "...###"}));
}

TEST(Patterns, AShapeByHand) {
  EXPECT_EQ(evalRows("a_shape.mask", "a_shape",
                     {{"sink", ParamValue::integer(1)},
                      {"window", ParamValue::integer(2)}},
                     6, 6),
            (std::vector<std::string>{"#.....", "##....", "###...", "#.##..",
                                      "#..##.", "#...##"}));
}

TEST(Patterns, StridedByHand) {
  EXPECT_EQ(
      evalRows("strided.mask", "strided",
               {{"stride", ParamValue::integer(3)},
                {"local", ParamValue::integer(2)}},
               7, 7),
      (std::vector<std::string>{"#......", "##.....", ".##....", "..##...",
                                "..###..", "..#.##.", "..#..##"}));
}

TEST(Patterns, DocumentByHand) {
  EXPECT_EQ(evalRows("document.mask", "document",
                     {{"doc", ParamValue::ints({0, 0, 1, 1, 1, 2})}}, 6, 6),
            (std::vector<std::string>{"#.....", "##....", "..#...", "..##..",
                                      "..###.", ".....#"}));
}

TEST(Patterns, Neighborhood2dByHand) {
  // A 3x3 image, radius 1: each pixel sees its 3x3 neighbourhood.
  EXPECT_EQ(evalRows("neighborhood_2d.mask", "neighborhood_2d",
                     {{"width", ParamValue::integer(3)},
                      {"radius", ParamValue::integer(1)}},
                     9, 9),
            (std::vector<std::string>{"##.##....", "######...", ".##.##...",
                                      "##.##.##.", "#########", ".##.##.##",
                                      "...##.##.", "...######", "....##.##"}));
  // Dilation 2 on a 5-wide row of pixels: only even offsets within 2*1.
  EXPECT_EQ(
      evalRows("neighborhood_2d.mask", "neighborhood_2d",
               {{"width", ParamValue::integer(5)},
                {"radius", ParamValue::integer(1)},
                {"dilation", ParamValue::integer(2)}},
               5, 5),
      (std::vector<std::string>{"#.#..", ".#.#.", "#.#.#", ".#.#.", "..#.#"}));
}

TEST(Patterns, VerticalSlashByHand) {
  Selections sel;
  sel.columns = std::vector<int64_t>{3, 0};
  sel.diagonals = std::vector<int64_t>{0, 2};
  EXPECT_EQ(
      evalRows("vertical_slash.mask", "vertical_slash", {}, 5, 5, sel),
      (std::vector<std::string>{"#....", "##...", "#.#..", "##.#.", "#.###"}));
}

TEST(Patterns, BlockTopkByHand) {
  Selections sel;
  sel.blocks = std::vector<std::vector<int64_t>>{{0}, {0}, {1}};
  EXPECT_EQ(evalRows("block_topk.mask", "block_topk",
                     {{"keep", ParamValue::integer(1)},
                      {"block", ParamValue::integer(2)}},
                     6, 6, sel),
            (std::vector<std::string>{"#.....", "##....", "##....", "##....",
                                      "..##..", "..##.."}));
}

TEST(Patterns, FormulasOnManyShapes) {
  expectMatchesFormula("causal.mask", "causal_only", {}, causal);
  expectMatchesFormula("sliding_window.mask", "sliding_window",
                       {{"window", ParamValue::integer(50)}},
                       [](int64_t q, int64_t k, int64_t lq, int64_t lk) {
                         return causal(q, k, lq, lk) && q - k < 50;
                       });
  expectMatchesFormula("a_shape.mask", "a_shape", {},
                       [](int64_t q, int64_t k, int64_t lq, int64_t lk) {
                         return causal(q, k, lq, lk) &&
                                (k < 128 || q - k < 2048);
                       });
  expectMatchesFormula(
      "strided.mask", "strided",
      {{"stride", ParamValue::integer(16)}, {"local", ParamValue::integer(40)}},
      [](int64_t q, int64_t k, int64_t lq, int64_t lk) {
        return causal(q, k, lq, lk) && (q - k < 40 || k % 16 == 15);
      });
  std::vector<int64_t> doc(1000);
  for (size_t i = 0; i < doc.size(); ++i)
    doc[i] = static_cast<int64_t>(i / 77);
  expectMatchesFormula("document.mask", "document",
                       {{"doc", ParamValue::ints(doc)}},
                       [&](int64_t q, int64_t k, int64_t lq, int64_t lk) {
                         return causal(q, k, lq, lk) && doc[q] == doc[k];
                       });
  expectMatchesFormula("neighborhood_2d.mask", "neighborhood_2d",
                       {{"width", ParamValue::integer(23)},
                        {"radius", ParamValue::integer(3)},
                        {"dilation", ParamValue::integer(2)}},
                       [](int64_t q, int64_t k, int64_t, int64_t) {
                         int64_t dy = fdiv(q, 23) - fdiv(k, 23),
                                 dx = fmod(q, 23) - fmod(k, 23);
                         return std::abs(dy) <= 6 && std::abs(dx) <= 6 &&
                                fmod(dy, 2) == 0 && fmod(dx, 2) == 0;
                       });
  Selections sel;
  sel.columns = std::vector<int64_t>{0, 5, 63, 100, 999};
  sel.diagonals = std::vector<int64_t>{0, 1, 17, 64};
  auto vs = [&](int64_t q, int64_t k, int64_t lq, int64_t lk) {
    bool col = false, diag = false;
    for (int64_t c : *sel.columns)
      col |= c == k;
    for (int64_t d : *sel.diagonals)
      diag |= d == q - k;
    return causal(q, k, lq, lk) && (col || diag);
  };
  expectMatchesFormula("vertical_slash.mask", "vertical_slash", {}, vs, sel);
  // mixed: heads 0..7 are A-shape(64, 1024), the rest vertical-slash.
  expectMatchesFormula(
      "mixed.mask", "mixed", {},
      [](int64_t q, int64_t k, int64_t lq, int64_t lk) {
        return causal(q, k, lq, lk) && (k < 64 || q - k < 1024);
      },
      sel, /*head=*/7);
  expectMatchesFormula("mixed.mask", "mixed", {}, vs, sel, /*head=*/8);
  expectMatchesFormula("mixed.mask", "mixed", {}, vs, sel, /*head=*/31);
}
