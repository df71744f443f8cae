//===- KernelSource.h - CUDA source of a pattern's attention kernel -*- C++
//-*-===//
#ifndef MASKJIT_CODEGEN_KERNELSOURCE_H
#define MASKJIT_CODEGEN_KERNELSOURCE_H

#include "maskjit/runtime/KernelAbi.h"

#include <cstdint>
#include <optional>

#include <string>
#include <vector>

namespace maskjit::codegen {

/// Which attention kernel a pattern instantiates.
enum class KernelFamily {
  Portable, ///< sm_80+: mma.sync, 64x64 tiles (or 128x64), 4 or 8 warps.
  Hopper,   ///< sm_90a only: wgmma, 128x128 tiles (two consumer
            ///< warpgroups) or 64x64 (one, two CTAs per SM), each with a
            ///< producer warpgroup unless dilated; or 128x64.
};

/// "portable" or "hopper".
const char *kernelFamilyName(KernelFamily family);

/// The kernel an architecture gets by default: Hopper for sm_90a (and
/// compute_90a), the portable kernel for everything else.
KernelFamily defaultKernelFamily(const std::string &arch);

struct KernelConfig {
  int64_t headDim = 128;
  std::string dtype = "bf16"; ///< bf16 or fp16
  /// Query rows per CTA: 0 (the family's default: 64 portable, 128
  /// Hopper), 64 or 128.
  int64_t tileM = 0;
  KernelFamily family = KernelFamily::Portable;
  /// Classes of positions the schedule runs separately
  /// (mask::scheduleDilation): query and key tiles are of positions r,
  /// r + d, r + 2d, ... for each class r; 1 for plain tiles.
  int64_t dilation = 1;
  /// Keys per tile: 0 (the default: 64 portable; on Hopper as many as the
  /// query rows), or 64 with 128 query rows on Hopper (two query blocks of
  /// 64 share the key tiles either chose; each warpgroup skips the tiles
  /// its rows may not see).
  int64_t tileN = 0;
  /// PARTIAL tiles read bits built once per schedule (the kernel's
  /// maskjit_tile_bits) instead of evaluating the predicate per element:
  /// for patterns with no row mask, on undilated Hopper tiles.
  bool tileBits = false;
};

/// Query and key tile sizes of a configuration (the schedule's tiles).
int64_t kernelTileM(const KernelConfig &config);
int64_t kernelTileN(const KernelConfig &config);
/// Throws std::invalid_argument when the kernel family does not run the
/// configuration's tiles.
void checkTiles(const KernelConfig &config);

/// One field of the `maskjit_args` struct the predicate reads, in order.
/// Every field is 8 bytes, so the host builds it as an array of words.
struct ArgField {
  runtime::ArgKind kind; ///< Its words: runtime::argWords(kind, name).
  std::string name;
  /// A scalar's declared default, used when a launch gives no value.
  std::optional<int64_t> defaultValue;
};

struct KernelSource {
  std::string code; ///< Complete CUDA C++, no toolkit header needed.
  /// The part of `code` before the attention template: types, the args
  /// struct, the predicate (what the backward kernels share with it).
  std::string prelude;
  std::vector<ArgField> args; ///< Layout of maskjit_args.
  std::string kernelName = "maskjit_attention_fwd";
  KernelFamily family = KernelFamily::Portable;
  int tileM = 64, tileN = 64, threads = 128;
  int headDim = 128;
  std::string dtype = "bf16";
  int sharedBytes = 0; ///< Dynamic shared memory per CTA.
  int ctasPerSm = 1;   ///< Hopper: CTAs of the persistent grid per SM.
  int dilation = 1;    ///< KernelConfig::dilation: works per query tile.
  /// The module also holds maskjit_tile_bits, and PARTIAL tiles read its
  /// bits where the launch gives them (KernelConfig::tileBits).
  bool tileBits = false;
};

/// The backward kernels of a forward kernel's pattern: its prelude and the
/// portable backward template (codegen/kernels/attention_bwd.cuh), named
/// after its three kernels' first, for any family's forward (it reads the
/// forward's schedule key tile by key tile).
KernelSource backwardSource(const KernelSource &forward);
/// Bytes of dynamic shared memory of the backward kernel for a head_dim.
int backwardSharedBytes(int headDim);

/// The attention template of a family alone (embedded in the library at
/// build time).
const char *attentionTemplate(KernelFamily family);
/// The backward template (common parts included).
const char *backwardTemplate();
/// The helpers a row-mask function needs (codegen/kernels/row_mask.cuh).
const char *rowMaskHelpers();
/// The vertical-slash estimator kernels
/// (codegen/kernels/estimate_vertical_slash.cuh), with the kernel that
/// chooses their sets and hands them on as bitmaps and sorted lists
/// (codegen/kernels/topk_select.cuh).
const char *verticalSlashEstimatorTemplate();
/// The block top-k estimator kernels
/// (codegen/kernels/estimate_block_topk.cuh).
const char *blockTopkEstimatorTemplate();
/// The schedule builder of set patterns (codegen/kernels/schedule_build.cuh).
const char *scheduleBuilderTemplate();

} // namespace maskjit::codegen

#endif
