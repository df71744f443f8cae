// The search for a pair at which the reference evaluator stops, on random
// patterns of every operator: a pair it reports traps in the evaluator, and
// a pattern the evaluator traps on is reported.
#include "RandomPatterns.h"
#include "SymbolicUtil.h"

#include "maskjit/dsl/Evaluator.h"
#include "maskjit/schedule/ScheduleBinding.h"

#include <gtest/gtest.h>

using namespace maskjit;

namespace {

/// The first pair (row-major) at which the evaluator traps, if any.
std::optional<std::pair<int64_t, int64_t>> firstTrap(dsl::MaskEvaluator &e,
                                                     int64_t lq, int64_t lk) {
  for (int64_t q = 0; q < lq; ++q)
    for (int64_t k = 0; k < lk; ++k) {
      try {
        (void)e.allowed(q, k);
      } catch (const dsl::MaskError &) {
        return std::make_pair(q, k);
      }
    }
  return std::nullopt;
}

} // namespace

TEST(TrapSearch, AgreesWithTheEvaluatorOnRandomPatterns) {
  test::RandomPatternGen gen(20261207);
  int compiled = 0, trapping = 0, found = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const int64_t w = gen.pickOf(7) - 1;
    std::string src = "pattern p(w: int = 0) {\n  let m = " + gen.intExpr(2) +
                      "\n  " + gen.boolExpr(4) + "\n}\n";
    test::Loaded l = test::load(src);
    if (!l.program)
      continue;
    mask::CompileOptions opts;
    opts.constants = {{"w", w}};
    mask::SymbolicSchedule sym;
    try {
      sym = test::symbolicFor(l, "p", opts);
    } catch (const std::runtime_error &) {
      continue; // a trap the bound values make certain: rejected, fine
    }
    if (sym.predicate.empty())
      continue;
    ++compiled;
    const int64_t lq = 1 + gen.pickOf(24), lk = 1 + gen.pickOf(48);
    dsl::MaskEvaluator e(*l.program, l.pattern("p"),
                         {{"w", dsl::ParamValue::integer(w)}}, {}, {lq, lk});
    auto want = firstTrap(e, lq, lk);
    auto got = mask::predicateTrap(sym, {{"h", 0}, {"b", 0}}, lq, lk, {});
    trapping += want.has_value();
    if (got) {
      ++found;
      ASSERT_TRUE(want) << src << "w=" << w << " Lq=" << lq << " Lk=" << lk
                        << ": reported " << *got;
      // The reported pair is one the evaluator stops at.
      auto at = got->find(" at q=");
      ASSERT_NE(at, std::string::npos) << *got;
      int64_t q = 0, k = 0;
      ASSERT_EQ(std::sscanf(got->c_str() + at, " at q=%ld, k=%ld", &q, &k), 2);
      EXPECT_THROW((void)e.allowed(q, k), dsl::MaskError) << src << *got;
    } else {
      EXPECT_FALSE(want) << src << "w=" << w << " Lq=" << lq << " Lk=" << lk
                         << ": the evaluator traps at q=" << want->first
                         << ", k=" << want->second;
    }
  }
  EXPECT_GT(compiled, 150);
  EXPECT_GT(trapping, 10); // the generator reaches the traps
  EXPECT_EQ(found, trapping);
}
