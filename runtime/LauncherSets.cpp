//===- LauncherSets.cpp - The launcher's dynamic selectors ----------------===//
//
// What a launch does for patterns whose sets are chosen at run time: runs
// the GPU estimators when the call gives no sets (the sets stay on the
// device), passes topk_blocks' chosen blocks to the kernel, and reads the
// estimated sets back when asked.
//
//===----------------------------------------------------------------------===//
#include "maskjit/runtime/Attention.h"
#include "maskjit/runtime/GpuEstimators.h"

#include <cmath>
#include <stdexcept>

namespace maskjit::runtime {

float softmaxScale(const AttentionCall &c, int64_t headDim) {
  return c.softmaxScale > 0 ? c.softmaxScale
                            : 1.0f / std::sqrt(static_cast<float>(headDim));
}

bool Launcher::needsColumnEstimate(const AttentionCall &c) const {
  return (kernel_.selectorArgs.count("topk_columns") ||
          kernel_.selectorArgs.count("topk_diagonals")) &&
         c.headSelections.empty() && !c.selections.columns &&
         !c.selections.diagonals;
}

bool Launcher::needsBlockEstimate(const AttentionCall &c) const {
  bool given = c.selections.blocks.has_value();
  for (const Selections &s : c.headSelections)
    given = given || s.blocks.has_value();
  return kernel_.selectorArgs.count("topk_blocks") && !given;
}

void Launcher::estimate(const AttentionCall &c) {
  // Selectors without chosen sets: estimate them on the GPU, per head of
  // every sequence (one launch for the batch), and leave them there for
  // the schedule builder and the kernel.
  estimated_.clear();
  deviceSets_ = false;
  if (needsColumnEstimate(c)) {
    if (!kernel_.selectorArgsError.empty())
      throw std::invalid_argument(kernel_.selectorArgsError +
                                  ": give the chosen sets");
    if (!estimator_)
      estimator_ = std::make_unique<VerticalSlashEstimator>(
          kernel_.source.headDim, kernel_.source.dtype, kernel_.arch,
          kernel_.registry);
    auto [vertical, lastQ] = kernel_.selectorArg("topk_columns");
    auto [slash, lastQd] = kernel_.selectorArg("topk_diagonals");
    if (vertical && slash && lastQ != lastQd)
      throw std::invalid_argument(
          "topk_columns and topk_diagonals with different last_q");
    const float scale = softmaxScale(c, kernel_.source.headDim);
    // The previous launch may still read the estimator's buffers: the
    // estimate is queued after it on the same stream.
    deviceSetsOf_ = estimator_->estimate(c, vertical, slash,
                                         std::max(lastQ, lastQd), scale);
    deviceSets_ = true;
  }
  // topk_blocks without chosen blocks: estimated on the GPU too.
  deviceBlocks_ = false;
  if (needsBlockEstimate(c)) {
    if (!kernel_.selectorArgsError.empty())
      throw std::invalid_argument(kernel_.selectorArgsError +
                                  ": give the chosen key blocks");
    if (!blockEstimator_)
      blockEstimator_ = std::make_unique<BlockTopkEstimator>(
          kernel_.source.headDim, kernel_.source.dtype, kernel_.arch,
          kernel_.registry);
    auto [keep, block] = kernel_.selectorArg("topk_blocks");
    const float scale = softmaxScale(c, kernel_.source.headDim);
    deviceBlocksOf_ = blockEstimator_->estimate(c, keep, block, scale);
    deviceBlocks_ = true;
  }
}

void Launcher::pushBlockSets(const AttentionCall &c, const UploadFn &upload) {
  // topk_blocks(keep, block): for each head (of each sequence, when
  // estimated), one row of bits over the key blocks per query block
  // (SelectorBits' layout, a row at a time).
  if (!kernel_.selectorArgsError.empty())
    throw std::invalid_argument(kernel_.selectorArgsError);
  const int64_t block = kernel_.selectorArg("topk_blocks").second;
  if (block <= 0)
    throw std::invalid_argument("topk_blocks: the block size must be "
                                "positive, not " +
                                std::to_string(block));
  const int64_t qBlocks = (c.lq + block - 1) / block,
                kBlocks = (c.lk + block - 1) / block,
                rowWords = (kBlocks + 31) / 32;
  if (deviceBlocks_) {
    const DeviceBlockSets &e = deviceBlocksOf_;
    argWords_.push_back(e.bits);
    argWords_.push_back(static_cast<uint64_t>(e.rows));
    argWords_.push_back(static_cast<uint64_t>(e.rowWords));
    argWords_.push_back(static_cast<uint64_t>(e.rows * e.rowWords));
    argWords_.push_back(static_cast<uint64_t>(c.heads * e.rows * e.rowWords));
    return;
  }
  const bool perHeadSets = !c.headSelections.empty();
  const int64_t heads = perHeadSets ? c.heads : 1;
  std::vector<uint32_t> words(size_t(heads * qBlocks * rowWords), 0u);
  for (int64_t h = 0; h < heads; ++h) {
    const auto &sets =
        perHeadSets ? c.headSelections[h].blocks : c.selections.blocks;
    if (!sets)
      throw std::invalid_argument(
          "pattern `" + kernel_.patternName +
          "` uses topk_blocks(...): give the chosen key blocks of each query "
          "block (they are not estimated on the GPU yet)");
    if (static_cast<int64_t>(sets->size()) < qBlocks)
      throw std::invalid_argument(
          "topk_blocks: " + std::to_string(sets->size()) +
          " lists of key blocks for " + std::to_string(qBlocks) +
          " query blocks (Lq " + std::to_string(c.lq) + ", block " +
          std::to_string(block) + ")" +
          (perHeadSets ? " in head " + std::to_string(h) : std::string()));
    for (int64_t qb = 0; qb < qBlocks; ++qb)
      for (int64_t kb : (*sets)[qb])
        if (kb >= 0 && kb < kBlocks) // others match no key
          words[size_t((h * qBlocks + qb) * rowWords + (kb >> 5))] |=
              1u << (kb & 31);
  }
  argWords_.push_back(upload(words.data(), words.size() * 4));
  argWords_.push_back(static_cast<uint64_t>(qBlocks));
  argWords_.push_back(static_cast<uint64_t>(rowWords));
  argWords_.push_back(
      static_cast<uint64_t>(perHeadSets ? qBlocks * rowWords : 0));
  argWords_.push_back(0); // the sequences share them
}

const std::vector<Selections> &Launcher::estimatedSets() const {
  if ((deviceSets_ || deviceBlocks_) && estimated_.empty()) {
    const int64_t heads =
        deviceSets_ ? deviceSetsOf_.heads : deviceBlocksOf_.heads;
    estimated_.resize(heads);
    if (deviceSets_) {
      VerticalSlashSets sets = estimator_->download();
      for (int64_t h = 0; h < heads; ++h) {
        estimated_[h].columns = std::move(sets.columns[h]);
        estimated_[h].diagonals = std::move(sets.diagonals[h]);
      }
    }
    if (deviceBlocks_) {
      auto blocks = blockEstimator_->download();
      for (int64_t h = 0; h < heads; ++h)
        estimated_[h].blocks = std::move(blocks[h]);
    }
  }
  return estimated_;
}

float Launcher::estimateMs() const {
  return (deviceSets_ ? estimator_->lastMs() : 0.f) +
         (deviceBlocks_ ? blockEstimator_->lastMs() : 0.f);
}

} // namespace maskjit::runtime
