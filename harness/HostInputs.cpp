//===- HostInputs.cpp - Random inputs, head rows, useful pairs ------------===//
#include "maskjit/harness/HostInputs.h"

#include "maskjit/harness/Half.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

namespace maskjit::harness {
namespace {

size_t workersFor(size_t tasks) {
  return std::min<size_t>(
      tasks, std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 16));
}

} // namespace

std::vector<uint16_t> randomHalf(size_t n, uint64_t seed, bool fp16) {
  std::vector<uint16_t> v(n);
  constexpr size_t kBlock = size_t{1} << 20;
  const size_t blocks = (n + kBlock - 1) / kBlock;
  const size_t workers = workersFor(blocks);
  std::vector<std::thread> pool;
  for (size_t w = 0; w < workers; ++w)
    pool.emplace_back([&, w] {
      for (size_t blk = w; blk < blocks; blk += workers) {
        std::mt19937_64 gen(seed + blk * 0x9E3779B97F4A7C15ull);
        std::normal_distribution<float> dist(0.f, 1.f);
        for (size_t i = blk * kBlock; i < std::min(n, (blk + 1) * kBlock); ++i)
          v[i] = toHalf(dist(gen), fp16);
      }
    });
  for (std::thread &t : pool)
    t.join();
  return v;
}

HostInputs randomInputs(const AttentionShape &shape, uint64_t seed,
                        InputKind kind) {
  std::mt19937_64 rng(seed);
  auto tensorSeed = [&](uint64_t index) { return rng() ^ (index << 48); };
  HostInputs in;
  in.q = randomHalf(shape.qElements(), tensorSeed(1), shape.fp16);
  in.k = randomHalf(shape.kElements(), tensorSeed(2), shape.fp16);
  in.v = randomHalf(shape.kElements(), tensorSeed(3), shape.fp16);
  if (kind == InputKind::Positional)
    addPositionalStructure(in, shape, seed);
  return in;
}

// Rotary-like terms A*(cos(i*w_p), sin(i*w_p)) on the first 32 dimensions
// of Q row i and K row j (their product adds A^2 * sum_p cos((i - j) * w_p),
// largest near the diagonal), and a shared direction u on the other
// dimensions, strong in every Q row and in 32 random heavy K rows and key 0.
void addPositionalStructure(HostInputs &in, const AttentionShape &shape,
                            uint64_t seed) {
  constexpr int kPairs = 16;
  constexpr float kRotary = 2.0f, kHeavy = 6.0f;
  const int64_t d = shape.headDim;
  const bool fp16 = shape.fp16;
  std::mt19937_64 rng(seed ^ 0x5eed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> u(d, 0.f);
  float norm = 0;
  for (int64_t c = 2 * kPairs; c < d; ++c) {
    u[c] = normal(rng);
    norm += u[c] * u[c];
  }
  for (float &x : u)
    x /= std::sqrt(norm);
  std::vector<char> heavy(shape.lk, 0);
  heavy[0] = 1;
  for (int i = 0; i < 32; ++i)
    heavy[rng() % shape.lk] = 1;
  auto add = [&](std::vector<uint16_t> &t, int64_t len, int64_t nh,
                 bool isQuery) {
    for (int64_t b = 0; b < shape.batch; ++b)
      for (int64_t i = 0; i < len; ++i)
        for (int64_t h = 0; h < nh; ++h) {
          uint16_t *row = &t[AttentionShape::at(b, i, h, len, nh, d)];
          auto plus = [&](int64_t c, float v) {
            row[c] = toHalf(fromHalf(row[c], fp16) + v, fp16);
          };
          for (int p = 0; p < kPairs && 2 * p + 1 < d; ++p) {
            const double w =
                std::pow(10000.0, -static_cast<double>(p) / kPairs);
            plus(2 * p, kRotary * static_cast<float>(std::cos(i * w)));
            plus(2 * p + 1, kRotary * static_cast<float>(std::sin(i * w)));
          }
          if (isQuery || heavy[i])
            for (int64_t c = 2 * kPairs; c < d; ++c)
              plus(c, kHeavy * u[c]);
        }
  };
  add(in.q, shape.lq, shape.heads, true);
  add(in.k, shape.lk, shape.kvHeads, false);
}

std::pair<std::vector<float>, std::vector<float>>
headRows(const HostInputs &in, const AttentionShape &s, int64_t b, int64_t h) {
  const int64_t D = s.headDim, kvh = h / (s.heads / s.kvHeads);
  std::vector<float> q(s.lq * D), k(s.lk * D);
  for (int64_t i = 0; i < s.lq; ++i)
    for (int64_t c = 0; c < D; ++c)
      q[i * D + c] = fromHalf(
          in.q[AttentionShape::at(b, i, h, s.lq, s.heads, D) + c], s.fp16);
  for (int64_t i = 0; i < s.lk; ++i)
    for (int64_t c = 0; c < D; ++c)
      k[i * D + c] = fromHalf(
          in.k[AttentionShape::at(b, i, kvh, s.lk, s.kvHeads, D) + c], s.fp16);
  return {std::move(q), std::move(k)};
}

int64_t usefulPairs(const AttentionShape &s, bool perHead,
                    const HeadEvaluator &evaluator, int64_t *rowStepOut) {
  const int64_t heads = perHead ? s.heads : 1;
  const int64_t budget = int64_t{1} << 31;
  const int64_t rowStep =
      std::max<int64_t>(1, (heads * s.lq * s.lk + budget - 1) / budget);
  std::vector<int64_t> headPairs(heads, 0);
  std::vector<std::string> errors(heads);
  auto countHead = [&](int64_t h) {
    try {
      auto ev = evaluator(h, 0);
      std::vector<uint8_t> row(s.lk);
      int64_t n = 0, rowsSeen = 0;
      for (int64_t q = 0; q < s.lq; q += rowStep, ++rowsSeen) {
        ev->row(q, row.data());
        for (uint8_t x : row)
          n += x;
      }
      headPairs[h] =
          static_cast<int64_t>(static_cast<double>(n) * s.lq / rowsSeen);
    } catch (const std::exception &e) {
      errors[h] = e.what();
    }
  };
  const size_t workers = workersFor(static_cast<size_t>(heads));
  std::vector<std::thread> pool;
  for (size_t w = 0; w < workers; ++w)
    pool.emplace_back([&, w] {
      for (int64_t h = static_cast<int64_t>(w); h < heads;
           h += static_cast<int64_t>(workers))
        countHead(h);
    });
  for (std::thread &t : pool)
    t.join();
  for (const std::string &e : errors)
    if (!e.empty())
      throw std::runtime_error(e);
  int64_t pairs = 0;
  for (int64_t n : headPairs)
    pairs += perHead ? n : n * s.heads;
  if (rowStepOut)
    *rowStepOut = rowStep;
  return pairs;
}

} // namespace maskjit::harness
