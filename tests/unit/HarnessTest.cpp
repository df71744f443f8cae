//===- HarnessTest.cpp - The shared run harness on the host ---------------===//
//
// The harness holds kernels to their references; here it is held to its
// own contract without a GPU: inputs are reproducible, a correct output
// passes the forward check and each kind of wrong one fails it, and
// useful-pair counts are the mask's.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "maskjit/harness/ForwardCheck.h"
#include "maskjit/harness/Half.h"

#include <cmath>

namespace maskjit::harness {
namespace {

// Queries see keys up to their own position, but query 0 sees none: rows
// with no allowed key are part of the contract.
const char *kMask = R"(
pattern p {
  k <= q and q > 0
}
)";

struct Fixture {
  test::Loaded loaded = test::load(kMask);
  AttentionShape shape{2, 4, 2, 37, 53, 64, false};
  HeadEvaluator evaluator = [this](int64_t h, int64_t b) {
    return std::make_unique<dsl::MaskEvaluator>(
        *loaded.program, loaded.pattern("p"), dsl::ParamBindings{},
        dsl::Selections{}, dsl::EvalShape{shape.lq, shape.lk, h, b});
  };
};

/// O and LSE computed in float on the host, rounded to the dtype: what a
/// correct kernel returns, up to its summation order.
void attendInFloat(const Fixture &f, const HostInputs &in,
                   std::vector<uint16_t> &o, std::vector<float> &lse) {
  const AttentionShape &s = f.shape;
  o.assign(s.qElements(), 0);
  lse.assign(s.batch * s.heads * s.lq, 0);
  std::vector<uint8_t> allowed(s.lk);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h) {
      auto ev = f.evaluator(h, b);
      auto [q, k] = headRows(in, s, b, h);
      const int64_t kvh = h / (s.heads / s.kvHeads), D = s.headDim;
      for (int64_t i = 0; i < s.lq; ++i) {
        ev->row(i, allowed.data());
        std::vector<float> score(s.lk, -INFINITY), acc(D, 0.f);
        float mx = -INFINITY, l = 0;
        for (int64_t j = 0; j < s.lk; ++j)
          if (allowed[j]) {
            float dot = 0;
            for (int64_t d = 0; d < D; ++d)
              dot += q[i * D + d] * k[j * D + d];
            score[j] = dot / std::sqrt(float(D));
            mx = std::max(mx, score[j]);
          }
        float &out = lse[(b * s.heads + h) * s.lq + i];
        uint16_t *row = &o[AttentionShape::at(b, i, h, s.lq, s.heads, D)];
        if (mx == -INFINITY) {
          out = -INFINITY;
          continue;
        }
        for (int64_t j = 0; j < s.lk; ++j)
          if (allowed[j]) {
            const float p = std::exp(score[j] - mx);
            l += p;
            const uint16_t *v =
                &in.v[AttentionShape::at(b, j, kvh, s.lk, s.kvHeads, D)];
            for (int64_t d = 0; d < D; ++d)
              acc[d] += p * fromHalf(v[d], s.fp16);
          }
        for (int64_t d = 0; d < D; ++d)
          row[d] = toHalf(acc[d] / l, s.fp16);
        out = mx + std::log(l);
      }
    }
}

TEST(Harness, InputsAreTheSameForASeed) {
  AttentionShape s{1, 2, 1, 300, 200, 64, true};
  HostInputs a = randomInputs(s, 7), b = randomInputs(s, 7),
             c = randomInputs(s, 8);
  EXPECT_EQ(a.q, b.q);
  EXPECT_EQ(a.v, b.v);
  EXPECT_NE(a.q, c.q);
  EXPECT_FALSE(std::equal(a.k.begin(), a.k.end(), a.q.begin())) // apart
      << "K repeats Q";
  double sum = 0, squares = 0;
  for (uint16_t x : a.q) {
    const double v = fromHalf(x, true);
    sum += v;
    squares += v * v;
  }
  const double n = double(a.q.size()), mean = sum / n;
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(squares / n - mean * mean, 1.0, 0.03);
  HostInputs p = randomInputs(s, 7, InputKind::Positional);
  EXPECT_EQ(p.v, a.v);
  EXPECT_NE(p.q, a.q);
}

TEST(Harness, ACorrectOutputPassesTheForwardCheck) {
  Fixture f;
  ASSERT_NE(f.loaded.program, nullptr) << f.loaded.diagnostics;
  const HostInputs in = randomInputs(f.shape, 3);
  std::vector<uint16_t> o;
  std::vector<float> lse;
  attendInFloat(f, in, o, lse);
  const ForwardCheck c = checkForward(f.shape, in, o, lse, f.evaluator, 3);
  EXPECT_TRUE(c.pass) << c.describe();
  EXPECT_EQ(c.rows, f.shape.batch * f.shape.heads * f.shape.lq);
  EXPECT_EQ(c.emptyRows, f.shape.batch * f.shape.heads); // query 0
  EXPECT_GT(c.refErr, 0);
  EXPECT_LE(c.maxErr, c.tolerance);
}

TEST(Harness, EachWrongOutputFailsTheForwardCheck) {
  Fixture f;
  ASSERT_NE(f.loaded.program, nullptr) << f.loaded.diagnostics;
  const HostInputs in = randomInputs(f.shape, 4);
  std::vector<uint16_t> o;
  std::vector<float> lse;
  attendInFloat(f, in, o, lse);
  const int64_t row5 =
      AttentionShape::at(1, 5, 3, f.shape.lq, f.shape.heads, f.shape.headDim);
  auto check = [&](std::vector<uint16_t> out, std::vector<float> l) {
    return checkForward(f.shape, in, out, l, f.evaluator, 4);
  };
  { // One value off by 0.05.
    std::vector<uint16_t> bad = o;
    bad[row5 + 7] = toHalf(fromHalf(bad[row5 + 7], false) + 0.05f, false);
    ForwardCheck c = check(bad, lse);
    EXPECT_FALSE(c.pass);
    EXPECT_GT(c.maxErr, c.tolerance);
  }
  { // A NaN (the poison a kernel left unwritten).
    std::vector<uint16_t> bad = o;
    bad[row5] = 0xFFFF;
    ForwardCheck c = check(bad, lse);
    EXPECT_FALSE(c.pass);
    EXPECT_EQ(c.badValues, 1);
  }
  { // An LSE off by 0.01.
    std::vector<float> bad = lse;
    bad[(1 * f.shape.heads + 3) * f.shape.lq + 5] += 0.01f;
    EXPECT_FALSE(check(o, bad).pass);
  }
  { // A row with no allowed key must be O = 0 and LSE = -inf.
    std::vector<float> bad = lse;
    bad[0] = 0.f;
    ForwardCheck c = check(o, bad);
    EXPECT_FALSE(c.pass);
    EXPECT_EQ(c.badValues, 1);
  }
}

TEST(Harness, UsefulPairsAreTheMasks) {
  Fixture f;
  ASSERT_NE(f.loaded.program, nullptr) << f.loaded.diagnostics;
  // Rows 1..36 see keys 0..q: sum of (q + 1) for q in [1, 36].
  const int64_t perHead = 36 * 37 / 2 + 36;
  EXPECT_EQ(usefulPairs(f.shape, true, f.evaluator), perHead * f.shape.heads);
  int64_t step = 0;
  EXPECT_EQ(usefulPairs(f.shape, false, f.evaluator, &step),
            perHead * f.shape.heads);
  EXPECT_EQ(step, 1);
}

} // namespace
} // namespace maskjit::harness
