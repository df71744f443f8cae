// RUN: %maskjit-opt %s --mask-tile="head-dim=128 arch=sm_90a" | FileCheck %s --check-prefix=H128
// RUN: %maskjit-opt %s --mask-tile="head-dim=128 arch=sm_80" | FileCheck %s --check-prefix=A128
// RUN: %maskjit-opt %s --mask-tile="head-dim=64 arch=sm_80" | FileCheck %s --check-prefix=A64
// RUN: %maskjit-opt %s --mask-tile="tile-m=64 tile-n=32" | FileCheck %s --check-prefix=FORCED
// RUN: not %maskjit-opt %s --mask-tile="head-dim=100" 2>&1 | FileCheck %s --check-prefix=BADDIM
// RUN: not %maskjit-opt %s --mask-tile="tile-m=50" 2>&1 | FileCheck %s --check-prefix=BADTILE

// H128: mask.pattern @p attributes {mask.tile = array<i64: 128, 128>}
// A128: mask.pattern @p attributes {mask.tile = array<i64: 128, 64>}
// A64: mask.pattern @p attributes {mask.tile = array<i64: 128, 128>}
// FORCED: mask.pattern @p attributes {mask.tile = array<i64: 64, 32>}
// BADDIM: error: mask-tile: unsupported head dimension 100
// BADTILE: error: mask-tile: tile 50x128 is not a multiple of 16 up to 256
mask.pattern @p {
  %c = mask.causal
  mask.yield %c
}
