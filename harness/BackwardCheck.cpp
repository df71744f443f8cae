//===- BackwardCheck.cpp - The backward against an fp64 reference ---------===//
//
// The backward kernels against an fp64 reference computed here from the
// same inputs and the pattern's reference mask (the evaluator), and their
// time. The reference's own error in the kernel's precision (P and dS
// rounded to the dtype, as the kernels' GEMMs read them, and the gradients
// rounded) sets the tolerance: twice that.
//
//===----------------------------------------------------------------------===//
#include "maskjit/harness/BackwardCheck.h"

#include "maskjit/harness/Half.h"
#include "maskjit/harness/Timing.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <thread>

namespace maskjit::harness {
namespace {

using runtime::Driver;

/// One head's reference gradients: dQ (Lq x D) and its contribution to its
/// KV head's dK and dV (Lk x D), exact (fp64) and in the kernel's
/// precision.
struct HeadGrads {
  std::vector<double> dq, dk, dv, dqLow, dkLow, dvLow;
  std::vector<char> emptyRow;
};

HeadGrads headReference(const BackwardInputs &in,
                        const std::vector<uint16_t> &dout,
                        dsl::MaskEvaluator &ev, int64_t b, int64_t h) {
  const int64_t Lq = in.Lq, Lk = in.Lk, D = in.D, H = in.H, Hkv = in.Hkv;
  const int64_t kvh = h / (H / Hkv);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  auto val = [&](const std::vector<uint16_t> &t, int64_t rows, int64_t heads,
                 int64_t r, int64_t hh, int64_t d) {
    return static_cast<double>(
        fromHalf(t[((b * rows + r) * heads + hh) * D + d], in.fp16));
  };
  auto low = [&](double x) {
    return static_cast<double>(
        fromHalf(toHalf(static_cast<float>(x), in.fp16), in.fp16));
  };
  HeadGrads g;
  g.dq.assign(Lq * D, 0);
  g.dqLow.assign(Lq * D, 0);
  g.dk.assign(Lk * D, 0);
  g.dkLow.assign(Lk * D, 0);
  g.dv.assign(Lk * D, 0);
  g.dvLow.assign(Lk * D, 0);
  g.emptyRow.assign(Lq, 0);
  std::vector<uint8_t> allowed(Lk);
  std::vector<double> p(Lk), dp(Lk), o(D), qrow(D), dorow(D);
  for (int64_t q = 0; q < Lq; ++q) {
    ev.row(q, allowed.data());
    for (int64_t d = 0; d < D; ++d) {
      qrow[d] = val(in.q, Lq, H, q, h, d);
      dorow[d] = val(dout, Lq, H, q, h, d);
    }
    double mx = -INFINITY;
    for (int64_t k = 0; k < Lk; ++k) {
      if (!allowed[k])
        continue;
      double s = 0;
      for (int64_t d = 0; d < D; ++d)
        s += qrow[d] * val(in.k, Lk, Hkv, k, kvh, d);
      p[k] = s * scale;
      mx = std::max(mx, p[k]);
    }
    if (mx == -INFINITY) {
      g.emptyRow[q] = 1;
      continue;
    }
    double l = 0;
    for (int64_t k = 0; k < Lk; ++k)
      if (allowed[k])
        l += (p[k] = std::exp(p[k] - mx));
    std::fill(o.begin(), o.end(), 0.0);
    for (int64_t k = 0; k < Lk; ++k) {
      if (!allowed[k])
        continue;
      p[k] /= l;
      double s = 0;
      for (int64_t d = 0; d < D; ++d) {
        const double vv = val(in.v, Lk, Hkv, k, kvh, d);
        o[d] += p[k] * vv;
        s += dorow[d] * vv;
      }
      dp[k] = s;
    }
    // Delta = dO . O: exact, and from O in the dtype (as the kernels do).
    double delta = 0, deltaLow = 0;
    for (int64_t d = 0; d < D; ++d) {
      delta += dorow[d] * o[d];
      deltaLow += dorow[d] * low(o[d]);
    }
    for (int64_t k = 0; k < Lk; ++k) {
      if (!allowed[k])
        continue;
      const double pl = low(p[k]);
      const double ds = p[k] * (dp[k] - delta),
                   dsl = low(pl * (dp[k] - deltaLow));
      for (int64_t d = 0; d < D; ++d) {
        const double kk = val(in.k, Lk, Hkv, k, kvh, d);
        g.dq[q * D + d] += scale * ds * kk;
        g.dqLow[q * D + d] += scale * dsl * kk;
        g.dk[k * D + d] += scale * ds * qrow[d];
        g.dkLow[k * D + d] += scale * dsl * qrow[d];
        g.dv[k * D + d] += p[k] * dorow[d];
        g.dvLow[k * D + d] += pl * dorow[d];
      }
    }
  }
  return g;
}

struct Errors {
  double err = 0, low = 0;
  int64_t bad = 0;
  void add(double got, double ref, double lowRef) {
    if (!std::isfinite(got))
      ++bad;
    err = std::max(err, std::fabs(got - ref));
    low = std::max(low, std::fabs(lowRef - ref));
  }
};

} // namespace

int runBackward(runtime::Launcher &launcher, const runtime::AttentionCall &call,
                const BackwardInputs &in, const BackwardOptions &opts,
                const HeadEvaluator &evaluator, std::ostream &log,
                nlohmann::json &result) {
  Driver &drv = Driver::get();
  const int64_t B = in.B, Lq = in.Lq, Lk = in.Lk, H = in.H, Hkv = in.Hkv,
                D = in.D;
  std::mt19937_64 rng(opts.seed ^ 0xBACC);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<uint16_t> dout(B * Lq * H * D);
  for (uint16_t &x : dout)
    x = toHalf(dist(rng), in.fp16);
  const size_t qBytes = dout.size() * 2, kBytes = B * Lk * Hkv * D * 2;
  runtime::BackwardCall g;
  g.dout = drv.alloc(qBytes);
  g.dq = drv.alloc(qBytes);
  g.dk = drv.alloc(kBytes);
  g.dv = drv.alloc(kBytes);
  struct Free {
    runtime::BackwardCall &g;
    ~Free() {
      for (Driver::DevicePtr p : {g.dout, g.dq, g.dk, g.dv})
        Driver::get().free(p);
    }
  } freeGrads{g};
  drv.upload(g.dout, dout.data(), qBytes);
  for (Driver::DevicePtr p : {g.dq, g.dk, g.dv}) // poison: NaN
    drv.memset8(p, 0xFF, p == g.dq ? qBytes : kBytes);
  std::memcpy(g.doStrides, call.qStrides, sizeof g.doStrides);
  std::memcpy(g.dqStrides, call.qStrides, sizeof g.dqStrides);
  std::memcpy(g.dkStrides, call.kStrides, sizeof g.dkStrides);
  std::memcpy(g.dvStrides, call.kStrides, sizeof g.dvStrides);
  launcher.backward(call, g);
  drv.synchronize();
  int status = 0;
  nlohmann::json &out = result["backward"];

  if (opts.check) {
    std::vector<uint16_t> hdq(dout.size()), hdk(kBytes / 2), hdv(kBytes / 2);
    drv.download(hdq.data(), g.dq, qBytes);
    drv.download(hdk.data(), g.dk, kBytes);
    drv.download(hdv.data(), g.dv, kBytes);
    // KV heads checked: all when small, else the first and the last.
    std::vector<std::pair<int64_t, int64_t>> kvHeads;
    if (B * H * Lq * Lk <= (int64_t{1} << 26)) {
      for (int64_t b = 0; b < B; ++b)
        for (int64_t kv = 0; kv < Hkv; ++kv)
          kvHeads.push_back({b, kv});
    } else {
      kvHeads.push_back({0, 0});
      if (B * Hkv > 1)
        kvHeads.push_back({B - 1, Hkv - 1});
    }
    const int64_t group = H / Hkv;
    std::vector<std::pair<int64_t, int64_t>> heads; // (b, h)
    for (auto [b, kv] : kvHeads)
      for (int64_t j = 0; j < group; ++j)
        heads.push_back({b, kv * group + j});
    std::vector<HeadGrads> refs(heads.size());
    std::vector<std::string> errors(heads.size());
    const size_t workers = std::min<size_t>(
        heads.size(),
        std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 16));
    std::vector<std::thread> pool;
    for (size_t w = 0; w < workers; ++w)
      pool.emplace_back([&, w] {
        for (size_t i = w; i < heads.size(); i += workers) {
          try {
            auto ev = evaluator(heads[i].second, heads[i].first);
            refs[i] =
                headReference(in, dout, *ev, heads[i].first, heads[i].second);
          } catch (const std::exception &e) {
            errors[i] = e.what();
          }
        }
      });
    for (std::thread &t : pool)
      t.join();
    for (const std::string &e : errors)
      if (!e.empty())
        throw std::runtime_error(e);
    Errors eq, ek, ev;
    int64_t emptyRows = 0, emptyBad = 0;
    auto got = [&](const std::vector<uint16_t> &t, int64_t rows, int64_t nh,
                   int64_t b, int64_t r, int64_t hh, int64_t d) {
      return static_cast<double>(
          fromHalf(t[((b * rows + r) * nh + hh) * D + d], in.fp16));
    };
    for (size_t i = 0; i < heads.size(); ++i) {
      auto [b, h] = heads[i];
      for (int64_t q = 0; q < Lq; ++q) {
        emptyRows += refs[i].emptyRow[q];
        for (int64_t d = 0; d < D; ++d) {
          const double x = got(hdq, Lq, H, b, q, h, d);
          if (refs[i].emptyRow[q])
            emptyBad += x != 0.0;
          eq.add(x, refs[i].dq[q * D + d],
                 fromHalf(toHalf(static_cast<float>(refs[i].dqLow[q * D + d]),
                                 in.fp16),
                          in.fp16));
        }
      }
    }
    for (auto [b, kv] : kvHeads) {
      for (int64_t k = 0; k < Lk; ++k)
        for (int64_t d = 0; d < D; ++d) {
          double rk = 0, rkl = 0, rv = 0, rvl = 0;
          for (size_t i = 0; i < heads.size(); ++i)
            if (heads[i].first == b && heads[i].second / group == kv) {
              rk += refs[i].dk[k * D + d];
              rkl += refs[i].dkLow[k * D + d];
              rv += refs[i].dv[k * D + d];
              rvl += refs[i].dvLow[k * D + d];
            }
          auto lowOut = [&](double x) {
            return static_cast<double>(
                fromHalf(toHalf(static_cast<float>(x), in.fp16), in.fp16));
          };
          ek.add(got(hdk, Lk, Hkv, b, k, kv, d), rk, lowOut(rkl));
          ev.add(got(hdv, Lk, Hkv, b, k, kv, d), rv, lowOut(rvl));
        }
    }
    bool pass = emptyBad == 0;
    nlohmann::json check;
    for (auto [name, e] : {std::pair<const char *, Errors *>{"dQ", &eq},
                           {"dK", &ek},
                           {"dV", &ev}}) {
      const double tol = 2 * e->low;
      const bool ok = e->bad == 0 && e->err <= tol;
      pass = pass && ok;
      log << fmt::format(
          "backward check {}: max |got - ref| = {:.3g}, same-precision "
          "reference {:.3g} (tolerance {:.3g}), bad values {}: {}\n",
          name, e->err, e->low, tol, e->bad, ok ? "PASS" : "FAIL");
      check[name] = {{"max_err", e->err},
                     {"ref_err", e->low},
                     {"tolerance", tol},
                     {"bad_values", e->bad},
                     {"pass", ok}};
    }
    log << fmt::format("backward check: {} heads, {} rows with no allowed key "
                       "({} nonzero dQ values there): {}\n",
                       heads.size(), emptyRows, emptyBad,
                       pass ? "PASS" : "FAIL");
    check["heads"] = heads.size();
    check["empty_rows"] = emptyRows;
    check["pass"] = pass;
    out["check"] = check;
    status |= pass ? 0 : 1;
  }

  if (opts.bench) {
    const double ms =
        medianLaunchMs([&] { launcher.backward(call, g); }, opts.iters);
    log << fmt::format("backward bench: median {:.3f} ms over {} launches\n",
                       ms, opts.iters);
    out["bench"] = {{"median_ms", ms}, {"iters", opts.iters}};
  }
  return status;
}

} // namespace maskjit::harness
