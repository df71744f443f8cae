//===- LauncherTileBits.cpp - Bits of the schedule's PARTIAL tiles --------===//
//
// A mask the closed forms cannot read leaves PARTIAL tiles that the kernel
// would mask element by element with the predicate (for a 3-D
// neighbourhood, a dozen 64-bit divisions and moduli per pair). Instead,
// once per schedule (a shape and its values), the kernel's module builds
// the bits of every PARTIAL tile on the GPU (maskjit_tile_bits, from the
// same predicate), and the attention kernel loads a row's words. Memory:
// tileM x tileN / 8 bytes per PARTIAL tile, never an S^2 mask.
//
//===----------------------------------------------------------------------===//
#include "maskjit/runtime/Attention.h"

#include <cstdlib>
#include <string>

namespace maskjit::runtime {

namespace {
/// Past this, the kernel evaluates the predicate (the bits would crowd
/// L2 and device memory for little gain over the predicate's cost).
constexpr int64_t kMaxTileBitsBytes = int64_t{256} << 20;
} // namespace

void Launcher::prepareTileBits(const mask::KernelTables &t,
                               const AttentionCall &c) {
  bitTiles_ = 0;
  tileBitsPending_ = false;
  // MASKJIT_TILE_BITS=0: the predicate per element (to compare).
  const char *env = std::getenv("MASKJIT_TILE_BITS");
  if (t.dilation != 1 || (env && std::string(env) == "0"))
    return;
  const int64_t bm = kernel_.source.tileM, bn = kernel_.source.tileN;
  const int64_t slotBytes = bm * bn / 8;
  const int q = t.queryTiles;
  std::vector<int> segBits(t.segs.size() / 3, -1);
  std::vector<int32_t> tiles; // h, b, first query, first key per slot
  int64_t slots = 0;
  for (int r = 0; r < t.heads; ++r) {
    // A schedule row's head (the kernel's row: one for all, or one per
    // head); the predicate of a kernel with tile bits reads no batch index.
    const int h = t.heads == 1 ? 0 : r % static_cast<int>(c.heads);
    for (int qt = 0; qt < q; ++qt) {
      const size_t at = static_cast<size_t>(r) * (q + 1) + qt;
      for (int s = t.segPtr[at]; s < t.segPtr[at + 1]; ++s) {
        // FULL, or a segment another head's row shares (the same schedule
        // and mask: scheduleFingerprint) with its bits built already.
        if (t.segs[3 * s + 2] != 0 || segBits[s] >= 0)
          continue;
        segBits[s] = static_cast<int>(slots);
        for (int kt = t.segs[3 * s]; kt < t.segs[3 * s + 1]; ++kt) {
          tiles.insert(tiles.end(), {h, 0, static_cast<int32_t>(qt * bm),
                                     static_cast<int32_t>(kt * bn)});
          ++slots;
        }
        if (slots * slotBytes > kMaxTileBitsBytes)
          return; // the predicate decides
      }
    }
  }
  if (slots == 0)
    return;
  segBits_.upload(segBits.data(), segBits.size() * sizeof(int));
  bitTileList_.upload(tiles.data(), tiles.size() * sizeof(int32_t));
  tileBits_.ensure(static_cast<size_t>(slots * slotBytes));
  bitTiles_ = slots;
  tileBitsPending_ = true;
}

void Launcher::buildTileBits(void *params, const AttentionCall &c) {
  Driver::DevicePtr list = bitTileList_.get(), bits = tileBits_.get();
  int n = static_cast<int>(bitTiles_);
  void *args[] = {params, &list, &n, &bits};
  Driver::get().launch(tileBitsFn_, static_cast<unsigned>(bitTiles_), 1, 1, 128,
                       0, args, c.stream);
  tileBitsPending_ = false;
}

} // namespace maskjit::runtime
