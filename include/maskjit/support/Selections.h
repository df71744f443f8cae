//===- Selections.h - The sets a pattern's dynamic selectors chose -*- C++
//-*-===//
//
// What `topk_columns`, `topk_diagonals` and `topk_blocks` selected for one
// (sequence, head): given by a caller or estimated on the GPU. Plain data,
// shared by the reference evaluator, the schedule and the launcher.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_SUPPORT_SELECTIONS_H
#define MASKJIT_SUPPORT_SELECTIONS_H

#include <cstdint>
#include <optional>
#include <vector>

namespace maskjit {

struct Selections {
  std::optional<std::vector<int64_t>> columns;   ///< topk_columns
  std::optional<std::vector<int64_t>> diagonals; ///< topk_diagonals: q - k
  /// topk_blocks: for each query block (q / block), the chosen key blocks.
  std::optional<std::vector<std::vector<int64_t>>> blocks;
};

} // namespace maskjit

#endif
