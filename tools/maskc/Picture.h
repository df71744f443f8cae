//===- Picture.h - PNG pictures of masks ------------------------*- C++ -*-===//
#ifndef MASKJIT_TOOLS_MASKC_PICTURE_H
#define MASKJIT_TOOLS_MASKC_PICTURE_H

#include "maskjit/dsl/BlockMap.h"

#include <cstdint>
#include <string>
#include <vector>

namespace maskjit::maskc {

/// Draws the mask (density per cell, blue) over its tile classes (FULL tiles
/// green, PARTIAL amber, EMPTY white), with a tile grid when tiles are large
/// enough to see; tiles flagged in `vain` (the kernel visits them, though
/// they hold no allowed pair; rows * cols, or empty) are hatched red.
/// Writes atomically (temp file, then rename). Throws std::runtime_error on
/// failure.
void writeMaskPng(const std::string &path, const dsl::BlockMap &map,
                  const dsl::DensityGrid &grid,
                  const std::vector<uint8_t> &vain = {});

} // namespace maskjit::maskc

#endif
