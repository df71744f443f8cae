//===- Commands.h - maskc subcommands ---------------------------*- C++ -*-===//
#ifndef MASKJIT_TOOLS_MASKC_COMMANDS_H
#define MASKJIT_TOOLS_MASKC_COMMANDS_H

#include "Inputs.h"

namespace maskjit::maskc {

struct ShowOptions {
  std::string tile = "64x64";
  std::string png;
  int64_t maxCols = 128;
  double timeLimit = 120; ///< Seconds of evaluation before giving up.
};

struct EmitOptions {
  std::string file;
  std::string pattern;
  std::string stage = "ast";
  std::vector<std::string> sets; ///< Compile-time params, name=value.
  int64_t head = -1;
  int64_t headDim = 128;
  std::string dtype = "bf16";
  std::string arch = "sm_90a";
  std::string tile; ///< BMxBN; empty: chosen for the target.
  bool printIrAfterAll = false;
  bool debugLocations = false;
};

struct BlocksOptions {
  std::string tile; ///< BMxBN; empty: the tile chosen for the target.
  bool json = false;
  bool remarks = false; ///< Say which tier decided the tiles.
  int64_t headDim = 128;
  std::string arch = "sm_90a";
};

// Each returns the process exit status: 0 ok, 1 bad input, 2 bad usage.
int runCheck(const std::vector<std::string> &files,
             const CommonOptions &common);
int runShow(const MaskOptions &mask, const ShowOptions &show,
            const CommonOptions &common);
int runEval(const MaskOptions &mask, bool json, const CommonOptions &common);
int runEmit(const EmitOptions &emit, const CommonOptions &common);
int runBlocks(const MaskOptions &mask, const BlocksOptions &blocks,
              const CommonOptions &common);

} // namespace maskjit::maskc

#endif
