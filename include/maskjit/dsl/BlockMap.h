//===- BlockMap.h - Tile classification by the reference evaluator -*- C++
//-*-===//
//
// The ground truth the compiler's schedule is tested against: each
// (query tile, key tile) is FULL (every in-range pair allowed), EMPTY (none)
// or PARTIAL. Computed row by row; memory is O(tiles + picture), never S².
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_DSL_BLOCKMAP_H
#define MASKJIT_DSL_BLOCKMAP_H

#include "maskjit/dsl/Evaluator.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace maskjit::dsl {

enum class TileClass : char { Empty = '.', Partial = 'P', Full = 'F' };

/// A coarse picture of the mask: each cell counts the allowed pairs of a
/// rectangle of (q, k) positions.
struct DensityGrid {
  int64_t rows = 0, cols = 0;   ///< Cells.
  int64_t cellQ = 1, cellK = 1; ///< Positions per cell.
  std::vector<int64_t> allowed; ///< rows * cols counts.
};

struct BlockMap {
  int64_t tileQ = 0, tileK = 0; ///< BM, BN.
  int64_t rows = 0, cols = 0;   ///< Query tiles, key tiles.
  std::vector<TileClass> tiles; ///< rows * cols.
  int64_t allowedPairs = 0;
  int64_t totalPairs = 0;

  TileClass at(int64_t r, int64_t c) const { return tiles[r * cols + c]; }
  /// One string per query tile, one char per key tile (`F`, `P`, `.`).
  std::vector<std::string> rowStrings() const;
  int64_t count(TileClass c) const;
};

/// Called after each query row with the rows done; it may throw to stop.
using RowProgress = std::function<void(int64_t rowsDone)>;

/// Classifies every tile. When `grid` is given (with rows/cols set, or
/// zero for automatic at most 1024x1024), fills it in the same pass.
BlockMap computeBlockMap(const MaskEvaluator &eval, int64_t tileQ,
                         int64_t tileK, DensityGrid *grid = nullptr,
                         const RowProgress &progress = nullptr);

/// Draws the map as text, merging tiles so it fits `maxCols` columns.
std::string renderBlockMap(const BlockMap &map, int64_t maxCols = 128,
                           int64_t maxRows = 64);

} // namespace maskjit::dsl

#endif
