//===- main.cpp - maskc, the maskjit command-line tool --------------------===//
#include "Commands.h"
#include "Run.h"

#include <CLI/CLI.hpp>

#include "maskjit/dsl/Diagnostics.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <regex>
#include <sstream>

using namespace maskjit::maskc;

namespace {

/// `sm_NN` or `sm_NNa` (a cubin); with `ptx`, also `compute_NN[a]`.
CLI::Validator archValidator(bool ptx, bool list) {
  return CLI::Validator(
      [ptx, list](std::string &value) -> std::string {
        const std::regex one(ptx ? "(sm|compute)_[0-9]{2,3}a?"
                                 : "sm_[0-9]{2,3}a?");
        std::stringstream ss(value);
        std::string item;
        bool any = false;
        while (std::getline(ss, item, list ? ',' : '\0')) {
          any = true;
          if (!ptx && item.rfind("compute_", 0) == 0)
            return "takes real architectures such as sm_80 or sm_90a, not " +
                   item;
          if (!std::regex_match(item, one))
            return "'" + item + "' is not an architecture (expected " +
                   (ptx ? "sm_NN[a] or compute_NN[a]" : "sm_NN[a]") +
                   ", e.g. sm_90a)";
        }
        return any ? "" : "an architecture is expected";
      },
      ptx ? "ARCH" : "SM_ARCH");
}

/// An index: an integer, 0 or more.
const CLI::Validator kIndex(
    [](std::string &value) -> std::string {
      long long v = 0;
      if (!CLI::detail::lexical_cast(value, v))
        return "expects an integer, got '" + value + "'";
      return v < 0 ? "must be 0 or more, got " + value : "";
    },
    "INDEX");

void addMaskOptions(CLI::App *cmd, MaskOptions &m) {
  cmd->add_option("file", m.file, "The .mask file")->required();
  cmd->add_option("-p,--pattern", m.pattern,
                  "Pattern to use (default: the only pattern of the file)");
  cmd->add_option("--lq", m.lq, "Query length Lq")->required();
  cmd->add_option("--lk", m.lk, "Key length Lk (default: Lq)");
  cmd->add_option("--set", m.sets,
                  "Set a param: name=value; arrays as 0,0,1,1 or @file")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--head", m.head, "Head index h (default 0)")->check(kIndex);
  cmd->add_option("--batch-index", m.batchIndex, "Batch index b (default 0)")
      ->check(kIndex);
  cmd->add_option("--select", m.selects,
                  "Chosen sets of dynamic selectors: columns=1,5,9 | "
                  "diagonals=0,64 | blocks=0,1;0,2 (one list per query block) "
                  "or @file; sets=@FILE: per head, as maskc run "
                  "--export-sets writes them")
      ->take_all()
      ->allow_extra_args(false);
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{
      "maskc: compile and inspect maskjit attention masks (.mask files)",
      "maskc"};
  app.set_version_flag("--version", std::string("maskc 0.1.0"));
  app.require_subcommand(1);
  app.fallthrough();
  CommonOptions common;
  app.add_option("--color", common.color,
                 "Color diagnostics: auto, always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("-I,--import-dir", common.importDirs,
                 "Extra folder searched by `import`")
      ->take_all()
      ->allow_extra_args(false);
  app.footer(
      "Examples:\n"
      "  maskc check patterns/*.mask\n"
      "  maskc show sliding_window.mask --lq 8192 --set window=1024 "
      "--tile 128x128 --png sw.png\n"
      "  maskc eval a_shape.mask --lq 16 --set sink=2 --set window=4 --json\n"
      "  maskc emit strided.mask --stage ast\n"
      "Environment: MASKJIT_CACHE_DIR (kernel cache folder), "
      "MASKJIT_NVRTC_FLAGS (extra NVRTC\n"
      "options for kernel experiments (bench/experiments/), e.g. "
      "-DMJ_EXP_NO_WS; JIT only: maskc "
      "aot "
      "refuses them), MASKJIT_TILE_BITS=0 (PARTIAL tiles by the predicate\n"
      "per element instead of bits built per schedule, to compare).\n"
      "Exit status: 0 success, 1 errors in the input, 2 bad usage.");

  std::vector<std::string> checkFiles;
  auto *check = app.add_subcommand("check", "Parse and check .mask files; "
                                            "diagnostics go to stderr");
  check->add_option("files", checkFiles, "Files to check")->required();

  MaskOptions showMask;
  ShowOptions show;
  auto *showCmd = app.add_subcommand(
      "show", "Print the block map of a pattern (and draw it with --png)");
  addMaskOptions(showCmd, showMask);
  showCmd->add_option("--tile", show.tile, "Tile size BMxBN (default 64x64)");
  showCmd->add_option("--png", show.png, "Also write a picture of the mask");
  showCmd->add_option("--time-limit", show.timeLimit,
                      "Stop with an error after this many seconds of "
                      "evaluation (default 120)");
  showCmd->add_option("--width", show.maxCols,
                      "Widest block map in characters (default 128)");

  MaskOptions evalMask;
  bool json = false;
  auto *evalCmd = app.add_subcommand(
      "eval", "Print the dense 0/1 mask from the reference evaluator "
              "(small sizes)");
  addMaskOptions(evalCmd, evalMask);
  evalCmd->add_flag("--json", json, "Print JSON: {\"mask\": [[0,1,...],...]}");

  MaskOptions blocksMask;
  BlocksOptions blocks;
  auto *blocksCmd = app.add_subcommand(
      "blocks", "Print the compiler's KV schedule as a block map "
                "(F full, P partial, . skipped); for a dilated pattern "
                "also each class of positions' own map");
  addMaskOptions(blocksCmd, blocksMask);
  blocksCmd->add_option("--tile", blocks.tile,
                        "Tile size BMxBN (default: chosen for the target)");
  blocksCmd->add_flag(
      "--json", blocks.json,
      "Print {\"tile\":[BM,BN],\"rows\":[\"FP..\",...],\"kernel_tiles\":"
      "[...],\"gathered_keys\":[...]}, plus \"dilation\":d and "
      "\"classes\":[{...},...] for a dilated pattern");
  blocksCmd->add_flag(
      "--remarks", blocks.remarks,
      "Also say which tier decided the tiles: for each clause whether the "
      "closed forms read it, each comparison they cannot read (file:line:col), "
      "how many tiles the closed forms, the abstract domain and the exact "
      "evaluation decided, and where the domain gave up most often (remarks "
      "on stderr; with --json also as \"remarks\":[{\"where\",\"message\"}])");
  blocksCmd->add_option("--head-dim", blocks.headDim,
                        "Head dimension (default 128)");
  blocksCmd
      ->add_option("--arch", blocks.arch,
                   "Target architecture (default sm_90a)")
      ->check(archValidator(false, false));

  MaskOptions compileMask;
  CompileCmdOptions compileOpts;
  auto *compileCmd = app.add_subcommand(
      "compile",
      "Compile a pattern's attention kernel with NVRTC (no GPU needed); "
      "prints its tiles, threads, shared memory and, for an sm_ target, the "
      "registers and stack frame ptxas gave it");
  compileCmd->add_option("file", compileMask.file, "The .mask file")
      ->required();
  compileCmd->add_option("-p,--pattern", compileMask.pattern,
                         "Pattern to compile");
  compileCmd
      ->add_option("--set", compileMask.sets, "Compile-time param: name=value")
      ->take_all()
      ->allow_extra_args(false);
  compileCmd
      ->add_option("--arch", compileOpts.arch,
                   "sm_80, sm_90a, ... (cubin) or compute_90a (PTX only)")
      ->check(archValidator(true, false));
  compileCmd->add_option("--head-dim", compileOpts.headDim,
                         "64 or 128 (default 128)");
  compileCmd->add_option("--dtype", compileOpts.dtype,
                         "bf16 or fp16 (default bf16)");
  compileCmd->add_option("--emit", compileOpts.emit,
                         "cuda, ptx or cubin (default ptx)");
  compileCmd->add_option("-o,--output", compileOpts.output,
                         "Output file (default stdout)");
  compileCmd->add_flag("--no-cache", compileOpts.noCache,
                       "Skip the kernel cache ($MASKJIT_CACHE_DIR, default "
                       "~/.cache/maskjit)");
  compileCmd->add_option(
      "--tile-m", compileOpts.tileM,
      "Query rows per CTA, 64 or 128 (default: 64 on the portable kernel; "
      "128 on Hopper, 64 for block top-k in blocks under 128; Hopper tiles "
      "are square unless --tile-n 64)");
  compileCmd->add_option(
      "--tile-n", compileOpts.tileN,
      "Keys per tile (default: 64 on the portable kernel; on Hopper as many "
      "as --tile-m). Hopper also runs --tile-m 128 --tile-n 64: two query "
      "blocks of 64 share the key tiles either chose (block top-k; "
      "experimental: correct, but 2-3x slower than the default 64 x 64 "
      "on H100)");
  compileCmd->add_option("--kernel", compileOpts.kernel,
                         "auto (default: hopper for sm_90a, else portable), "
                         "portable or hopper");
  compileCmd->add_flag("--backward", compileOpts.backward,
                       "Emit the backward kernels (dQ, dK, dV) instead, which "
                       "read the schedule of the forward these options give");

  MaskOptions aotMask;
  AotOptions aotOpts;
  auto *aotCmd = app.add_subcommand(
      "aot", "Write a pattern's kernels ahead of time: a C++ header and source "
             "with embedded cubins and PTX that need only the CUDA driver");
  aotCmd->add_option("file", aotMask.file, "The .mask file")->required();
  aotCmd->add_option("-p,--pattern", aotMask.pattern, "Pattern to compile");
  aotCmd->add_option("--set", aotMask.sets, "Compile-time param: name=value")
      ->take_all()
      ->allow_extra_args(false);
  aotCmd
      ->add_option("--arch", aotOpts.archs,
                   "Comma-separated real architectures (default "
                   "sm_80,sm_90a); PTX for the oldest is added")
      ->check(archValidator(false, true));
  aotCmd->add_option("--head-dim", aotOpts.headDim, "64 or 128 (default 128)");
  aotCmd->add_option("--dtype", aotOpts.dtype, "bf16 or fp16 (default bf16)");
  aotCmd->add_option("-o,--output", aotOpts.outDir, "Output folder")
      ->required();

  MaskOptions runMask;
  RunOptions runOpts;
  auto *runCmd = app.add_subcommand(
      "run", "Run a pattern's kernel on the GPU: --check against the CPU "
             "reference, --bench for time and TFLOP/s");
  addMaskOptions(runCmd, runMask);
  runCmd->add_option("--batch", runOpts.batch, "Batch size (default 1)");
  runCmd->add_option("--heads", runOpts.heads, "Query heads (default 1)");
  runCmd->add_option("--kv-heads", runOpts.kvHeads,
                     "Key/value heads (default: --heads)");
  runCmd->add_option("--head-dim", runOpts.headDim, "64 or 128 (default 128)");
  runCmd->add_option("--dtype", runOpts.dtype, "bf16 or fp16 (default bf16)");
  runCmd->add_flag("--check", runOpts.check, "Compare with the CPU reference");
  runCmd->add_flag("--bench", runOpts.bench,
                   "Time it (median of --iters launches)");
  runCmd->add_option("--iters", runOpts.iters, "Timed launches (default 20)");
  runCmd->add_option("--seed", runOpts.seed, "Random inputs' seed (default 1)");
  runCmd
      ->add_option("--inputs", runOpts.inputs,
                   "random (default: normal Q, K, V) or positional (Q and K "
                   "also get rotary-like position terms and a few heavy key "
                   "columns, so that attention has the local diagonals and "
                   "columns of real models)")
      ->check(CLI::IsMember({"random", "positional"}));
  runCmd->add_flag("--backward", runOpts.backward,
                   "Also run the backward kernels (dQ, dK, dV from a random "
                   "dO): with --check against an fp64 CPU reference, with "
                   "--bench timed");
  runCmd->add_option("--json", runOpts.json, "Also write the results as JSON");
  runCmd->add_option("--export-sets", runOpts.exportSets,
                     "Dynamic patterns run without --select: write the sets "
                     "estimated on the GPU (JSON, per head; with --batch, per "
                     "sequence and head)");
  runCmd->add_option(
      "--tile-m", runOpts.tileM,
      "Query rows per CTA, 64 or 128 (default: 64 on the portable kernel; "
      "128 on Hopper, 64 for block top-k in blocks under 128; Hopper tiles "
      "are square unless --tile-n 64)");
  runCmd->add_option(
      "--tile-n", runOpts.tileN,
      "Keys per tile (default: 64 on the portable kernel; on Hopper as many "
      "as --tile-m). Hopper also runs --tile-m 128 --tile-n 64: two query "
      "blocks of 64 share the key tiles either chose (block top-k; "
      "experimental: correct, but 2-3x slower than the default 64 x 64 "
      "on H100)");
  runCmd->add_option("--kernel", runOpts.kernel,
                     "auto (default: hopper on an H100, else portable), "
                     "portable or hopper");

  EmitOptions emit;
  auto *emitCmd = app.add_subcommand("emit", "Print a stage of the compiler");
  emitCmd->add_option("file", emit.file, "The .mask file")->required();
  emitCmd->add_option("-p,--pattern", emit.pattern,
                      "Pattern to print (default: all of the file)");
  emitCmd->add_option(
      "--stage", emit.stage,
      "Stage: ast, mlir, specialized, tiled, schedule, emitc, cpp "
      "(default ast)");
  emitCmd
      ->add_option("--set", emit.sets, "Bind a compile-time param: name=value")
      ->take_all()
      ->allow_extra_args(false);
  emitCmd
      ->add_option("--head", emit.head,
                   "Specialize per-head dispatch for this head")
      ->check(kIndex);
  emitCmd->add_option("--head-dim", emit.headDim,
                      "Head dimension (default 128)");
  emitCmd->add_option("--dtype", emit.dtype, "bf16 or fp16 (default bf16)");
  emitCmd
      ->add_option("--arch", emit.arch, "Target architecture (default sm_90a)")
      ->check(archValidator(false, false));
  emitCmd->add_option("--tile", emit.tile, "Force the tile size BMxBN");
  emitCmd->add_flag("--print-ir-after-all", emit.printIrAfterAll,
                    "Print the IR after every pass (on stderr)");
  emitCmd->add_flag("--debug-locations", emit.debugLocations,
                    "Print source locations in the IR");

  // Name an unknown command plainly (CLI11 would only say that one is
  // required), with a hint when it is a likely typo.
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.empty() || arg[0] == '-') {
      if (arg == "--color" || arg == "-I" || arg == "--import-dir")
        ++i; // Skip the option's value.
      continue;
    }
    std::vector<std::string> names;
    for (const CLI::App *sub : app.get_subcommands({}))
      names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), arg) == names.end()) {
      std::cerr << "maskc: error: unknown command '" << arg << "'";
      if (auto best = maskjit::dsl::closestName(arg, names))
        std::cerr << "; did you mean '" << *best << "'?";
      std::cerr << " (commands: check, show, eval, emit, blocks, compile, run; "
                   "see maskc --help)\n";
      return 2;
    }
    break;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    app.exit(e);
    return 2;
  }

  // Output that cannot be written (a full disk, a closed pipe) is an error
  // like any other: the exit status says so.
  auto finish = [](int status) {
    std::cout.flush();
    const bool failed =
        !std::cout || std::fflush(stdout) != 0 || std::ferror(stdout);
    if (failed) {
      std::cerr << "maskc: error: cannot write to standard output: "
                << std::strerror(errno ? errno : EIO) << '\n';
      return status == 0 ? 1 : status;
    }
    return status;
  };
  errno = 0;
  try {
    if (*check)
      return finish(runCheck(checkFiles, common));
    if (*showCmd)
      return finish(runShow(showMask, show, common));
    if (*evalCmd)
      return finish(runEval(evalMask, json, common));
    if (*emitCmd)
      return finish(runEmit(emit, common));
    if (*blocksCmd)
      return finish(runBlocks(blocksMask, blocks, common));
    if (*compileCmd)
      return finish(runCompile(compileMask, compileOpts, common));
    if (*runCmd)
      return finish(runRun(runMask, runOpts, common));
    if (*aotCmd)
      return finish(runAot(aotMask, aotOpts, common));
  } catch (const UsageError &e) {
    std::cerr << "maskc: error: " << e.what() << '\n';
    return finish(2);
  } catch (const std::exception &e) {
    std::cerr << "maskc: error: " << e.what() << '\n';
    return finish(1);
  }
  return 2;
}
