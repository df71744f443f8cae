//===- BlockMap.cpp - Tile classification by the reference evaluator ------===//
#include "maskjit/dsl/BlockMap.h"

#include <algorithm>
#include <sstream>

namespace maskjit::dsl {

std::vector<std::string> BlockMap::rowStrings() const {
  std::vector<std::string> out(rows, std::string(cols, '.'));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[r][c] = static_cast<char>(at(r, c));
  return out;
}

int64_t BlockMap::count(TileClass c) const {
  return std::count(tiles.begin(), tiles.end(), c);
}

BlockMap computeBlockMap(const MaskEvaluator &eval, int64_t tileQ,
                         int64_t tileK, DensityGrid *grid,
                         const RowProgress &progress) {
  const EvalShape &s = eval.shape();
  BlockMap map;
  map.tileQ = tileQ;
  map.tileK = tileK;
  map.rows = (s.lq + tileQ - 1) / tileQ;
  map.cols = (s.lk + tileK - 1) / tileK;
  map.totalPairs = s.lq * s.lk;
  std::vector<int64_t> counts(map.rows * map.cols, 0);
  if (grid) {
    if (grid->rows <= 0)
      grid->rows = std::min<int64_t>(s.lq, 1024);
    if (grid->cols <= 0)
      grid->cols = std::min<int64_t>(s.lk, 1024);
    grid->rows = std::max<int64_t>(grid->rows, 1);
    grid->cols = std::max<int64_t>(grid->cols, 1);
    grid->cellQ = std::max<int64_t>(1, (s.lq + grid->rows - 1) / grid->rows);
    grid->cellK = std::max<int64_t>(1, (s.lk + grid->cols - 1) / grid->cols);
    grid->rows = std::max<int64_t>(1, (s.lq + grid->cellQ - 1) / grid->cellQ);
    grid->cols = std::max<int64_t>(1, (s.lk + grid->cellK - 1) / grid->cellK);
    grid->allowed.assign(grid->rows * grid->cols, 0);
  }
  std::vector<uint8_t> row(s.lk);
  for (int64_t q = 0; q < s.lq; ++q) {
    eval.row(q, row.data());
    int64_t *tileRow = &counts[(q / tileQ) * map.cols];
    int64_t *cellRow =
        grid ? &grid->allowed[(q / grid->cellQ) * grid->cols] : nullptr;
    for (int64_t k0 = 0, t = 0; k0 < s.lk; k0 += tileK, ++t) {
      int64_t end = std::min(s.lk, k0 + tileK), n = 0;
      for (int64_t k = k0; k < end; ++k)
        n += row[k];
      tileRow[t] += n;
    }
    if (cellRow)
      for (int64_t k = 0; k < s.lk; ++k)
        cellRow[k / grid->cellK] += row[k];
    if (progress)
      progress(q + 1);
  }
  map.tiles.resize(counts.size());
  for (int64_t r = 0; r < map.rows; ++r) {
    int64_t h = std::min(tileQ, s.lq - r * tileQ);
    for (int64_t c = 0; c < map.cols; ++c) {
      int64_t w = std::min(tileK, s.lk - c * tileK);
      int64_t n = counts[r * map.cols + c];
      map.allowedPairs += n;
      map.tiles[r * map.cols + c] = n == 0       ? TileClass::Empty
                                    : n == h * w ? TileClass::Full
                                                 : TileClass::Partial;
    }
  }
  return map;
}

std::string renderBlockMap(const BlockMap &map, int64_t maxCols,
                           int64_t maxRows) {
  // Merge groups of tiles into one character: F only if all are full,
  // `.` only if all are empty, else P.
  int64_t gc = std::max<int64_t>(1, (map.cols + maxCols - 1) / maxCols);
  int64_t gr = std::max<int64_t>(1, (map.rows + maxRows - 1) / maxRows);
  std::ostringstream os;
  if (gc > 1 || gr > 1)
    os << "(each character is " << gr << "x" << gc << " tiles)\n";
  for (int64_t r0 = 0; r0 < map.rows; r0 += gr) {
    for (int64_t c0 = 0; c0 < map.cols; c0 += gc) {
      bool allFull = true, allEmpty = true;
      for (int64_t r = r0; r < std::min(map.rows, r0 + gr); ++r)
        for (int64_t c = c0; c < std::min(map.cols, c0 + gc); ++c) {
          TileClass t = map.at(r, c);
          allFull &= t == TileClass::Full;
          allEmpty &= t == TileClass::Empty;
        }
      os << (allFull ? 'F' : allEmpty ? '.' : 'P');
    }
    os << '\n';
  }
  return os.str();
}

} // namespace maskjit::dsl
