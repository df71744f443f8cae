//===- LauncherPrepare.cpp - What a launch prepares before the kernel -----===//
//
// The predicate's arguments in the kernel's layout (runtime params and
// arrays, the selectors' chosen sets) and the schedule tables: planned on
// the host once per shape and values, completed with the call's sets on
// the GPU (runtime/GpuScheduleBuilder), or built on the host.
//
//===----------------------------------------------------------------------===//
#include "maskjit/runtime/Attention.h"

#include "maskjit/runtime/GpuEstimators.h"
#include "maskjit/runtime/GpuScheduleBuilder.h"
#include "maskjit/runtime/KernelAbi.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <stdexcept>

namespace maskjit::runtime {

std::optional<mask::SetSchedulePlan> *
Launcher::setPlan(const AttentionCall &c,
                  const std::map<std::string, int64_t> &symbols,
                  const std::vector<std::map<std::string, int64_t>> &perHead) {
  // MASKJIT_SCHEDULE_BUILDER=host keeps every build on the host (to compare).
  const char *env = std::getenv("MASKJIT_SCHEDULE_BUILDER");
  if (env && std::string(env) == "host")
    return nullptr;
  std::string key = std::to_string(c.lq) + "/" + std::to_string(c.lk) + "/" +
                    std::to_string(schedHeads_);
  for (auto &[name, v] : symbols)
    key += ";" + name + "=" + std::to_string(v);
  for (const auto &head : perHead)
    for (auto &[name, v] : head)
      key += ";" + name + "=" + std::to_string(v);
  if (hasPlan_ && key == planKey_)
    return plan_ ? &plan_ : nullptr;
  std::string whyNot, error;
  plan_ = mask::planSetSchedule(kernel_.schedule, symbols, perHead, schedHeads_,
                                c.lq, c.lk, kernel_.source.tileM,
                                kernel_.source.tileN, whyNot, error);
  if (!error.empty())
    throw std::invalid_argument(error);
  planKey_ = key;
  hasPlan_ = true;
  return plan_ ? &plan_ : nullptr;
}

void Launcher::prepare(const AttentionCall &c) {
  Driver &d = Driver::get();
  ++prepareCount_;
  hostTables_ = {};
  const std::string &patternName = kernel_.patternName;
  // Argument buffers, reused from call to call (sets change every call of
  // an estimated pattern): the last launch must be done with them before
  // one is written.
  bool waited = !launched_;
  auto waitForLastLaunch = [&] {
    if (!waited)
      d.synchronize();
    waited = true;
  };
  size_t slot = 0;
  auto uploadBuffer = [&](const void *data, size_t bytes) {
    waitForLastLaunch();
    if (slot == buffers_.size())
      buffers_.push_back(std::make_unique<DeviceBuffer>());
    return buffers_[slot++]->upload(data, bytes);
  };
  // A selector's chosen set for each head (one for all when the call gives
  // one), or null when missing.
  // (Sets estimated by this launch are per (sequence, head) row, b * heads
  // + h, on the device; they come to the host only where the host needs
  // them.)
  const bool estimated = deviceSets_ || deviceBlocks_;
  const bool perHeadSets = !c.headSelections.empty() || estimated;
  const int64_t setRows = estimated     ? c.batch * c.heads
                          : perHeadSets ? c.heads
                                        : 1;
  if (!c.headSelections.empty() &&
      static_cast<int64_t>(c.headSelections.size()) != c.heads)
    throw std::invalid_argument(
        "per-head selections: " + std::to_string(c.headSelections.size()) +
        " sets for " + std::to_string(c.heads) + " heads");
  // Where row r's sets of one kind are: estimated by this launch (a row
  // per sequence and head), given per head, or given for all heads.
  auto selectionsOf = [&](int64_t r, bool blocks) -> const Selections & {
    if (blocks ? deviceBlocks_ : deviceSets_)
      return estimatedSets()[r];
    return !c.headSelections.empty() ? c.headSelections[r % c.heads]
                                     : c.selections;
  };
  auto chosen = [&](const std::string &selector,
                    int64_t h) -> const std::optional<std::vector<int64_t>> & {
    const Selections &s = selectionsOf(h, false);
    return selector == "topk_columns" ? s.columns : s.diagonals;
  };
  // Arguments of the predicate, in the kernel's layout.
  argWords_.clear();
  std::map<std::string, int64_t> symbols;
  for (const codegen::ArgField &f : kernel_.source.args) {
    if (f.kind == ArgKind::SelectorBlocks) {
      pushBlockSets(c, uploadBuffer);
      continue;
    }
    if (f.kind == ArgKind::SelectorSet) {
      if (f.name != "topk_columns" && f.name != "topk_diagonals")
        throw std::invalid_argument("pattern `" + patternName + "` uses " +
                                    f.name +
                                    "(...), which the kernels do not run yet");
      // Bitmaps over every index a (q, k) of the call reaches: keys, or
      // diagonals q - k from 1 - Lk to Lq - 1.
      const bool columns = f.name == "topk_columns";
      if (deviceSets_) {
        const DeviceVerticalSlash &e = deviceSetsOf_;
        argWords_.push_back(columns ? e.columnBits : e.diagonalBits);
        argWords_.push_back(
            static_cast<uint64_t>(columns ? e.columnLo : e.diagonalLo));
        argWords_.push_back(
            static_cast<uint64_t>(columns ? e.columnHi : e.diagonalHi));
        const int64_t words = columns ? e.columnWords : e.diagonalWords;
        argWords_.push_back(static_cast<uint64_t>(words)); // a head
        argWords_.push_back(
            static_cast<uint64_t>(c.heads * words)); // a sequence
        continue;
      }
      std::vector<const std::vector<int64_t> *> sets;
      for (int64_t h = 0; h < (perHeadSets ? c.heads : 1); ++h) {
        // (Given sets: the same for every sequence.)
        const auto &set = chosen(f.name, h);
        if (!set)
          throw std::invalid_argument("pattern `" + patternName + "` uses " +
                                      f.name + "(...): give the chosen set");
        sets.push_back(&*set);
      }
      SelectorBits bits =
          selectorBits(sets, columns ? 0 : 1 - c.lk, columns ? c.lk : c.lq);
      argWords_.push_back(
          uploadBuffer(bits.words.data(), bits.words.size() * 4));
      argWords_.push_back(static_cast<uint64_t>(bits.lo));
      argWords_.push_back(static_cast<uint64_t>(bits.hi));
      argWords_.push_back(static_cast<uint64_t>(bits.headWords));
      argWords_.push_back(0); // the sequences share them
      continue;
    }
    auto it = c.runtimeValues.find(f.name);
    if (f.kind == ArgKind::Scalar) {
      int64_t v;
      if (it != c.runtimeValues.end())
        v = it->second.scalar;
      else if (f.defaultValue)
        v = *f.defaultValue;
      else
        throw std::invalid_argument("runtime parameter `" + f.name +
                                    "` has no value");
      argWords_.push_back(static_cast<uint64_t>(v));
      symbols[f.name] = v;
      continue;
    }
    if (it == c.runtimeValues.end())
      throw std::invalid_argument("array parameter `" + f.name +
                                  "` has no value");
    const std::vector<int64_t> &arr = it->second.array;
    if (f.kind == ArgKind::HeadArray &&
        static_cast<int64_t>(arr.size()) < c.heads)
      throw std::invalid_argument("per-head parameter `" + f.name + "` has " +
                                  std::to_string(arr.size()) + " values for " +
                                  std::to_string(c.heads) + " heads");
    // (uploadBuffer throws on failure.)
    auto upload = [&](const void *data, size_t bytes, uint64_t &address) {
      address = uploadBuffer(data, bytes);
      return true;
    };
    if (f.kind == ArgKind::Array)
      packArray(arr, upload, argWords_);
    else
      packHeadArray(arr, upload, argWords_);
  }
  argWords_.push_back(0); // maskjit_unused

  // The schedule, per query tile, as CSR tables (one per head when per-head
  // params move it).
  std::map<std::string, std::vector<int64_t>> arrays;
  // Per-head arrays too: the predicate reads `w[h]` from the whole array
  // (the exact tiers then decide its tiles), the closed forms each head's
  // value (perHead below).
  for (const codegen::ArgField &f : kernel_.source.args)
    if (f.kind == ArgKind::Array || f.kind == ArgKind::HeadArray)
      arrays[f.name] = c.runtimeValues.at(f.name).array;
  // The selectors' chosen sets bind the schedule's set atoms too; sets
  // chosen per head give each head its schedule.
  // (Filled when the host needs the sets: estimated ones are read back.)
  std::vector<std::map<std::string, std::vector<int64_t>>> headArrays;
  bool haveHostSets = false;
  auto hostSets = [&] {
    if (haveHostSets)
      return;
    haveHostSets = true;
    if (perHeadSets) {
      for (int64_t r = 0; r < setRows; ++r) {
        headArrays.emplace_back();
        for (const char *name : {"topk_columns", "topk_diagonals"})
          if (const auto &set = chosen(name, r))
            headArrays.back()[name] = *set;
        const Selections &s = selectionsOf(r, true);
        if (s.blocks)
          headArrays.back()["topk_blocks"] = mask::flattenBlockSets(*s.blocks);
      }
    } else {
      if (c.selections.columns)
        arrays["topk_columns"] = *c.selections.columns;
      if (c.selections.diagonals)
        arrays["topk_diagonals"] = *c.selections.diagonals;
      if (c.selections.blocks)
        arrays["topk_blocks"] = mask::flattenBlockSets(*c.selections.blocks);
    }
  };
  // One schedule for all, one per head, or (sets estimated per sequence)
  // one per (sequence, head) row; a row binds its own h and b.
  schedHeads_ =
      static_cast<int>(estimated                                  ? setRows
                       : kernel_.scheduleNeedsHead || perHeadSets ? c.heads
                                                                  : 1);
  std::vector<std::map<std::string, int64_t>> perHead(schedHeads_);
  for (int r = 0; r < schedHeads_; ++r) {
    const int h = r % static_cast<int>(c.heads);
    for (const codegen::ArgField &f : kernel_.source.args)
      if (f.kind == ArgKind::HeadArray)
        perHead[r][f.name] = c.runtimeValues.at(f.name).array[h];
    if (schedHeads_ > c.heads) {
      perHead[r]["h"] = h;
      perHead[r]["b"] = r / c.heads;
    }
  }
  // Sets chosen at run time: the GPU adds them to the set-independent part
  // of the schedule, which the host plans once per shape and values.
  onGpuTables_ = false;
  builder_ = "host";
  std::optional<mask::SetSchedulePlan> *plan = setPlan(c, symbols, perHead);
  // Estimated sets stay on the device when the plan reads only them.
  bool onDevice = plan && (deviceSets_ || deviceBlocks_);
  DeviceSetValues deviceValues;
  if (onDevice && !(*plan)->blockSet.empty()) {
    const DeviceBlockSets &e = deviceBlocksOf_;
    onDevice = deviceBlocks_ && (*plan)->blockSet == "topk_blocks" &&
               e.heads == schedHeads_ && (*plan)->setNames.empty();
    deviceValues.blockBits = e.bits;
    deviceValues.blockRows = e.rows;
    deviceValues.blockRowWords = e.rowWords;
    deviceValues.blockHeadWords = e.rows * e.rowWords;
  } else if (onDevice) {
    const DeviceVerticalSlash &e = deviceSetsOf_;
    deviceValues.values = e.sorted;
    for (const std::string &name : (*plan)->setNames) {
      const bool columns = name == "topk_columns";
      onDevice = onDevice && (columns || name == "topk_diagonals") &&
                 e.heads == schedHeads_;
      const int64_t n = columns ? e.nColumns : e.nDiagonals,
                    at = columns ? 0 : e.heads * e.nColumns;
      for (int64_t h = 0; h < e.heads; ++h) {
        deviceValues.begin.push_back(static_cast<int>(at + h * n));
        deviceValues.end.push_back(static_cast<int>(at + (h + 1) * n));
      }
    }
  }
  if (!onDevice)
    hostSets();
  // (Block top-k with given blocks: built on the host, once per set.)
  if (plan && ((*plan)->blockSet.empty() || onDevice)) {
    std::vector<std::vector<const std::vector<int64_t> *>> sets;
    bool complete = true;
    for (const std::string &name : (*plan)->setNames) {
      sets.emplace_back();
      for (int h = 0; h < schedHeads_; ++h) {
        const std::vector<int64_t> *v = nullptr;
        if (h < static_cast<int>(headArrays.size()) &&
            headArrays[h].count(name))
          v = &headArrays[h].at(name);
        else if (arrays.count(name))
          v = &arrays.at(name);
        complete = complete && v;
        sets.back().push_back(v);
      }
    }
    if (onDevice || complete) {
      if (!scheduleBuilder_) {
        // Compiled (or found in the cache) once: not part of a build's time.
        auto t0 = std::chrono::steady_clock::now();
        scheduleBuilder_ = std::make_unique<GpuScheduleBuilder>(
            kernel_.arch, kernel_.registry);
        untimedMs_ += std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
      }
      gpuTables_ =
          onDevice ? scheduleBuilder_->build(**plan, planKey_, deviceValues,
                                             c.stream)
                   : scheduleBuilder_->build(**plan, planKey_, sets, c.stream);
      onGpuTables_ = true;
      builder_ = "gpu";
      bitTiles_ = 0; // (the GPU-built tables hold no slots)
      tileBitsPending_ = false;
      numQTiles_ = gpuTables_.queryTiles;
      gatheredKeys_ = gpuTables_.gatheredKeys;
      scheduleCheck_.clear();
      if (checkSchedule_) {
        // A check, not part of a build's time.
        auto c0 = std::chrono::steady_clock::now();
        struct Untimed {
          std::chrono::steady_clock::time_point t0;
          double &ms;
          ~Untimed() {
            ms += std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
          }
        } untimed{c0, untimedMs_};
        hostSets();
        mask::KernelTables host;
        std::string error;
        if (!mask::buildKernelTables(kernel_.schedule, symbols, perHead,
                                     schedHeads_, c.lq, c.lk,
                                     kernel_.source.tileM, kernel_.source.tileN,
                                     arrays, host, error, headArrays))
          throw std::invalid_argument(error);
        mask::KernelTables gpu = scheduleBuilder_->download();
        const int64_t keyTiles =
            (c.lk + kernel_.source.tileN - 1) / kernel_.source.tileN;
        std::string diff = mask::compareTables(host, gpu, keyTiles);
        if (!diff.empty())
          throw std::runtime_error(
              "the GPU-built schedule differs from the host's: " + diff);
        auto fullTiles = [](const mask::KernelTables &t) {
          int64_t n = 0;
          for (size_t i = 0; i + 2 < t.segs.size(); i += 3)
            n += t.segs[i + 2] ? t.segs[i + 1] - t.segs[i] : 0;
          return n;
        };
        scheduleCheck_ = "GPU schedule == host schedule (" +
                         std::to_string(host.visitedTiles) + " tiles, " +
                         std::to_string(host.gatheredKeys) +
                         " gathered keys; full tiles " +
                         std::to_string(fullTiles(gpu)) + " of the host's " +
                         std::to_string(fullTiles(host)) + ")";
      }
      prepared_ = c;
      hasPrepared_ = true;
      return;
    }
  }
  mask::KernelTables tables;
  std::string error;
  if (!mask::buildKernelTables(kernel_.schedule, symbols, perHead, schedHeads_,
                               c.lq, c.lk, kernel_.source.tileM,
                               kernel_.source.tileN, arrays, tables, error,
                               headArrays))
    throw std::invalid_argument(error);
  if (tables.dilation != kernel_.source.dilation)
    throw std::logic_error("internal error: the schedule has " +
                           std::to_string(tables.dilation) +
                           " classes of positions, the kernel " +
                           std::to_string(kernel_.source.dilation));
  numQTiles_ = tables.queryTiles;
  visitedTiles_ = tables.visitedTiles;
  gatheredKeys_ = tables.gatheredKeys;
  auto upload32 = [&](Driver::DevicePtr &dst, const std::vector<int> &v) {
    waitForLastLaunch();
    d.free(dst);
    dst = d.alloc(std::max<size_t>(v.size(), 1) * 4);
    d.upload(dst, v.data(), v.size() * 4);
  };
  upload32(segPtr_, tables.segPtr);
  upload32(segs_, tables.segs);
  upload32(gatherPtr_, tables.gatherPtr);
  upload32(gatherKeys_, tables.gatherKeys);
  bitTiles_ = 0;
  tileBitsPending_ = false;
  if (tileBitsFn_) {
    waitForLastLaunch();
    prepareTileBits(tables, c);
  }
  hostTables_ = std::move(tables);
  prepared_ = c;
  hasPrepared_ = true;
}

} // namespace maskjit::runtime
