//===- EstimateCheck.cpp - GPU-estimated sets against the CPU's -----------===//
#include "maskjit/harness/EstimateCheck.h"

#include "maskjit/runtime/Estimators.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace maskjit::harness {
namespace {

/// The (sequence, head) pairs whose estimates are checked: the first and
/// the last.
std::vector<std::pair<int64_t, int64_t>> checkedHeads(int64_t B, int64_t H) {
  return {{0, 0}, {B - 1, H - 1}};
}

/// The GPU's topk_blocks against the CPU reference (the same arithmetic:
/// the same blocks expected), for the first and last head.
int checkBlockEstimate(const runtime::CompiledKernel &kernel,
                       const std::vector<dsl::Selections> &estimated,
                       const HostInputs &in, const AttentionShape &s,
                       std::ostream &out, nlohmann::json &result) {
  const int64_t B = s.batch, H = s.heads, Lq = s.lq, Lk = s.lk, D = s.headDim;
  const auto [keep, block] = kernel.selectorArg("topk_blocks");
  int status = 0;
  nlohmann::json heads = nlohmann::json::array();
  for (auto [b, h] : checkedHeads(B, H)) {
    auto [q, k] = headRows(in, s, b, h);
    const std::vector<std::vector<int64_t>> ref = runtime::estimateBlockTopk(
        {q.data(), Lq, D, D}, {k.data(), Lk, D, D}, keep, block,
        1.0f / std::sqrt(static_cast<float>(D)));
    const std::vector<std::vector<int64_t>> &got = *estimated[b * H + h].blocks;
    int64_t differing = 0;
    for (size_t r = 0; r < ref.size(); ++r)
      differing += r < got.size() && got[r] == ref[r] ? 0 : 1;
    const bool ok = got.size() == ref.size() && differing == 0;
    out << fmt::format(
        "estimate check: {}head {}: {} of {} query blocks chose the key "
        "blocks the CPU reference chose: {}\n",
        B > 1 ? fmt::format("sequence {} ", b) : "", h,
        static_cast<int64_t>(ref.size()) - differing, ref.size(),
        ok ? "PASS" : "FAIL");
    heads.push_back({{"batch", b},
                     {"head", h},
                     {"query_blocks_differing", differing},
                     {"pass", ok}});
    if (!ok)
      status = 1;
  }
  result["estimate_check"] = heads;
  return status;
}

} // namespace

int checkEstimatedSets(const runtime::CompiledKernel &kernel,
                       const std::vector<dsl::Selections> &estimated,
                       const HostInputs &in, const AttentionShape &s,
                       std::ostream &out, nlohmann::json &result) {
  const int64_t B = s.batch, H = s.heads, Lq = s.lq, Lk = s.lk, D = s.headDim;
  if (estimated.empty() || !estimated[0].columns)
    return checkBlockEstimate(kernel, estimated, in, s, out, result);
  const auto [vertical, lastQc] = kernel.selectorArg("topk_columns");
  const auto [slash, lastQd] = kernel.selectorArg("topk_diagonals");
  const int64_t lastQ = std::max(lastQc, lastQd);
  int status = 0;
  nlohmann::json heads = nlohmann::json::array();
  for (auto [b, h] : checkedHeads(B, H)) {
    auto [q, k] = headRows(in, s, b, h);
    const dsl::Selections &got = estimated[b * H + h];
    runtime::VerticalSlash ref = runtime::estimateVerticalSlash(
        {q.data(), Lq, D, D}, {k.data(), Lk, D, D}, vertical, slash, lastQ,
        1.0f / std::sqrt(static_cast<float>(D)));
    auto differing = [](const std::vector<int64_t> &a,
                        const std::vector<int64_t> &b) {
      std::vector<int64_t> common;
      std::set_intersection(a.begin(), a.end(), b.begin(), b.end(),
                            std::back_inserter(common));
      return static_cast<int64_t>(std::max(a.size(), b.size()) - common.size());
    };
    const int64_t dc = differing(*got.columns, ref.columns),
                  dd = differing(*got.diagonals, ref.diagonals);
    const bool ok =
        got.columns->size() == ref.columns.size() &&
        got.diagonals->size() == ref.diagonals.size() &&
        dc <= std::max<int64_t>(1, static_cast<int64_t>(ref.columns.size()) /
                                       100) &&
        dd <= std::max<int64_t>(1, static_cast<int64_t>(ref.diagonals.size()) /
                                       100);
    out << fmt::format(
        "estimate check: {}head {}: {} of {} columns and {} of {} diagonals "
        "as the CPU reference chose: {}\n",
        B > 1 ? fmt::format("sequence {} ", b) : "", h, ref.columns.size() - dc,
        ref.columns.size(), ref.diagonals.size() - dd, ref.diagonals.size(),
        ok ? "PASS" : "FAIL");
    heads.push_back({{"batch", b},
                     {"head", h},
                     {"columns_differing", dc},
                     {"diagonals_differing", dd},
                     {"pass", ok}});
    if (!ok)
      status = 1;
  }
  result["estimate_check"] = heads;
  return status;
}

} // namespace maskjit::harness
