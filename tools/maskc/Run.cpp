//===- Run.cpp - maskc compile and maskc run ------------------------------===//
#include "Run.h"

#include "maskjit/harness/BackwardCheck.h"
#include "maskjit/harness/EstimateCheck.h"
#include "maskjit/harness/ForwardCheck.h"
#include "maskjit/harness/Timing.h"

#include "maskjit/plan/PlanKernel.h"
#include "maskjit/runtime/Attention.h"
#include "maskjit/runtime/CubinInfo.h"
#include "maskjit/runtime/Estimators.h"
#include "maskjit/support/OutputFile.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <unistd.h>

namespace maskjit::maskc {
namespace {

/// The front end's runtime values as a launch takes them.
runtime::RuntimeValues launchValues(const dsl::ParamBindings &values) {
  runtime::RuntimeValues out;
  for (const auto &[name, v] : values) {
    const bool array =
        v.type == dsl::Type::IntArray || v.type == dsl::Type::HeadArray;
    out[name] = {array, v.scalar, v.array};
  }
  return out;
}

using runtime::Driver;

} // namespace

/// Threads per CTA: the launch bounds in the cubin, where there is one (a
/// kernel experiment, MJ_EXP_NO_WS, may run another count than the
/// source's).
static int ctaThreads(const codegen::KernelSource &src,
                      const runtime::CubinFunctionInfo &info) {
  return info.maxThreads > 0 ? info.maxThreads : src.threads;
}

/// One line on the kernel's shape and, from its cubin when there is one,
/// the registers and stack frame ptxas gave it.
static std::string kernelStats(const runtime::CompiledKernel &kernel,
                               const runtime::CubinFunctionInfo &info) {
  const codegen::KernelSource &src = kernel.source;
  const int threads = ctaThreads(src, info);
  std::string line =
      fmt::format("{} kernel, {}x{} tiles, head_dim {}, {}, {} threads per CTA",
                  codegen::kernelFamilyName(src.family), src.tileM, src.tileN,
                  src.headDim, src.dtype, threads);
  if (src.family == codegen::KernelFamily::Hopper) {
    // Its grid is persistent: as many CTAs as fit on the SMs.
    const int consumers = src.tileM / 64;
    const bool producer = threads > src.tileM * 2;
    line += fmt::format(" ({} {}warpgroup{}{}), {} CTA{} per SM", consumers,
                        producer ? "consumer " : "", consumers > 1 ? "s" : "",
                        producer ? " and a producer" : "", src.ctasPerSm,
                        src.ctasPerSm > 1 ? "s" : "");
  }
  line += fmt::format(", {:.1f} KiB shared memory", src.sharedBytes / 1024.0);
  if (info.registers >= 0) // (-1 without a cubin, e.g. a compute_ target)
    line += fmt::format("; cubin: {} registers per thread", info.registers);
  if (info.frameBytes >= 0)
    line += fmt::format(", {}-byte stack frame{}", info.frameBytes,
                        info.frameBytes > 0 ? " (local memory: spills?)" : "");
  return line;
}

int runCompile(const MaskOptions &mask, const CompileCmdOptions &opts,
               const CommonOptions &common) {
  return withPattern(
      mask.file, mask.pattern, common,
      [&](dsl::Frontend &fe, const dsl::Program &program,
          const dsl::PatternDecl &pattern) {
        if (opts.emit != "cuda" && opts.emit != "ptx" && opts.emit != "cubin")
          throw UsageError("--emit must be cuda, ptx or cubin");
        if (opts.emit == "cubin" && opts.arch.rfind("sm_", 0) != 0)
          throw UsageError(
              "--emit cubin needs a real architecture such as sm_90a");
        if (opts.emit == "cubin" && (opts.output.empty() || opts.output == "-"))
          throw UsageError("--emit cubin needs -o FILE");
        SplitSets split = splitSets(pattern, mask.sets);
        const std::map<std::string, int64_t> &constants = split.constants;
        plan::KernelRequest req{constants, opts.headDim, opts.dtype,
                                opts.arch, opts.tileM,   opts.kernel};
        req.tileN = opts.tileN;
        std::ostringstream errors;
        runtime::KernelRegistry registry;
        auto start = std::chrono::steady_clock::now();
        auto kernel = plan::compileKernel(program, pattern, fe.sources(), req,
                                          errors, opts.emit != "cuda",
                                          opts.noCache ? nullptr : &registry);
        if (opts.backward) {
          plan::KernelPlan backward = kernel;
          backward.source = codegen::backwardSource(kernel.source);
          if (opts.emit == "cuda")
            kernel.source = backward.source; // (no binary: NVRTC not needed)
          else
            kernel = runtime::buildKernel(std::move(backward),
                                          opts.noCache ? nullptr : &registry);
        }
        double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count();
        std::cerr << errors.str();
        if (opts.emit != "cuda")
          std::cerr << fmt::format(
              "maskc: kernel {} for {}: {} in {:.1f} ms\n", kernel.cacheKey,
              opts.arch,
              opts.noCache ? "compiled"
                           : runtime::cacheSourceName(kernel.cacheSource),
              ms);
        if (opts.emit != "cuda")
          std::cerr << "maskc: "
                    << kernelStats(kernel,
                                   runtime::readCubinFunctionInfo(
                                       kernel.cubin, kernel.source.kernelName))
                    << "\n";
        std::string text =
            opts.emit == "cuda" ? kernel.source.code : kernel.ptx;
        const void *data = opts.emit == "cubin"
                               ? static_cast<const void *>(kernel.cubin.data())
                               : static_cast<const void *>(text.data());
        size_t size = opts.emit == "cubin" ? kernel.cubin.size() : text.size();
        if (opts.output.empty() || opts.output == "-")
          std::cout.write(static_cast<const char *>(data),
                          static_cast<std::streamsize>(size));
        else
          support::writeOutputFile(opts.output, data, size);
        return 0;
      });
}

int runRun(const MaskOptions &mask, const RunOptions &opts,
           const CommonOptions &common) {
  return withPattern(
      mask.file, mask.pattern, common,
      [&](dsl::Frontend &fe, const dsl::Program &program,
          const dsl::PatternDecl &pattern) {
        const int64_t B = opts.batch, H = opts.heads,
                      Hkv = opts.kvHeads ? opts.kvHeads : H;
        const int64_t Lq = mask.lq, Lk = mask.lk < 0 ? mask.lq : mask.lk,
                      D = opts.headDim;
        if (B <= 0 || H <= 0 || Hkv <= 0 || Lq <= 0 || Lk <= 0)
          throw UsageError(
              "--batch, --heads, --kv-heads, --lq and --lk must be positive");
        const bool fp16 = opts.dtype == "fp16";
        SplitSets split = splitSets(pattern, mask.sets);
        const std::map<std::string, int64_t> &constants = split.constants;
        const dsl::ParamBindings &runtimeValues = split.runtime;

        Driver &drv = Driver::get();
        int cc = drv.computeCapability();
        if (cc < 80)
          throw std::runtime_error(
              "the portable kernel needs sm_80 or newer; this GPU is sm_" +
              std::to_string(cc));
        std::string arch = "sm_" + std::to_string(cc) + (cc == 90 ? "a" : "");
        plan::KernelRequest req{constants, D,          opts.dtype,
                                arch,      opts.tileM, opts.kernel};
        req.tileN = opts.tileN;
        std::ostringstream errors;
        auto t0 = std::chrono::steady_clock::now();
        runtime::KernelRegistry registry;
        auto kernel = plan::compileKernel(program, pattern, fe.sources(), req,
                                          errors, true, &registry);
        double compileMs = std::chrono::duration<double, std::milli>(
                               std::chrono::steady_clock::now() - t0)
                               .count();
        std::cerr << errors.str();
        runtime::Launcher launcher(kernel);

        // Inputs: BSHD, random, fixed seed.
        const harness::AttentionShape shape{B, H, Hkv, Lq, Lk, D, fp16};
        const harness::HostInputs inputs = harness::randomInputs(
            shape, opts.seed,
            opts.inputs == "positional" ? harness::InputKind::Positional
                                        : harness::InputKind::Random);
        const std::vector<uint16_t> &hq = inputs.q, &hk = inputs.k,
                                    &hv = inputs.v;
        auto dq = drv.alloc(hq.size() * 2), dk = drv.alloc(hk.size() * 2),
             dv = drv.alloc(hv.size() * 2),
             dout = drv.alloc(B * Lq * H * D * 2),
             dlse = drv.alloc(B * H * Lq * 4);
        drv.upload(dq, hq.data(), hq.size() * 2);
        drv.upload(dk, hk.data(), hk.size() * 2);
        drv.upload(dv, hv.data(), hv.size() * 2);
        drv.memset8(dout, 0xFF,
                    B * Lq * H * D * 2); // Poison: NaN in bf16/fp16.
        drv.memset8(dlse, 0xFF, B * H * Lq * 4);

        runtime::AttentionCall call;
        call.batch = B;
        call.heads = H;
        call.kvHeads = Hkv;
        call.lq = Lq;
        call.lk = Lk;
        call.q = dq;
        call.k = dk;
        call.v = dv;
        call.o = dout;
        call.lse = dlse;
        int64_t qs[3] = {Lq * H * D, H * D, D},
                ks[3] = {Lk * Hkv * D, Hkv * D, D};
        std::memcpy(call.qStrides, qs, sizeof qs);
        std::memcpy(call.oStrides, qs, sizeof qs);
        std::memcpy(call.kStrides, ks, sizeof ks);
        std::memcpy(call.vStrides, ks, sizeof ks);
        call.runtimeValues = launchValues(runtimeValues);
        // A sets file gives each head its own (e.g. sets an earlier run
        // estimated and exported); otherwise one set for all heads.
        call.headSelections = parseHeadSets(mask.selects);
        if (!call.headSelections.empty() &&
            static_cast<int64_t>(call.headSelections.size()) != H)
          throw UsageError("--select sets: the file has sets for " +
                           std::to_string(call.headSelections.size()) +
                           " heads, the run has " + std::to_string(H));
        if (call.headSelections.empty())
          call.selections = parseSelections(mask.selects);
        checkSelectionsApply(call.selections, program, pattern);
        for (const dsl::Selections &h : call.headSelections)
          checkSelectionsApply(h, program, pattern);
        // With --check, a schedule the GPU builds is compared with the
        // host's.
        launcher.setCheckSchedule(opts.check);
        launcher.launch(call);
        drv.synchronize();

        nlohmann::json result;
        result["pattern"] = pattern.name;
        result["device"] = drv.deviceName();
        result["shape"] = {
            {"batch", B}, {"heads", H},    {"kv_heads", Hkv},    {"lq", Lq},
            {"lk", Lk},   {"head_dim", D}, {"dtype", opts.dtype}};
        result["compile_ms"] = compileMs;
        result["cache"] = runtime::cacheSourceName(kernel.cacheSource);
        result["visited_tiles"] = launcher.visitedTiles();
        result["gathered_keys"] = launcher.gatheredKeys();
        const runtime::CubinFunctionInfo cubinInfo =
            runtime::readCubinFunctionInfo(kernel.cubin,
                                           kernel.source.kernelName);
        result["kernel"] = {
            {"family", codegen::kernelFamilyName(kernel.source.family)},
            {"tile", {kernel.source.tileM, kernel.source.tileN}},
            {"dilation", kernel.source.dilation},
            {"threads", ctaThreads(kernel.source, cubinInfo)},
            {"shared_bytes", kernel.source.sharedBytes},
            {"registers", cubinInfo.registers},
            {"stack_frame_bytes", cubinInfo.frameBytes}};
        std::cout << fmt::format(
            "{}  B={} H={} KV={} Lq={} Lk={} D={} {}  on {}  ({} kernel, "
            "{}x{} tiles)\n",
            pattern.name, B, H, Hkv, Lq, Lk, D, opts.dtype, drv.deviceName(),
            codegen::kernelFamilyName(kernel.source.family),
            kernel.source.tileM, kernel.source.tileN);
        const std::string classes =
            kernel.source.dilation > 1
                ? fmt::format(" over {} classes of positions (dilation)",
                              kernel.source.dilation)
                : std::string();
        // A kernel experiment shows in the log it ran in.
        const char *flags = std::getenv("MASKJIT_NVRTC_FLAGS");
        const std::string experiment =
            flags && *flags ? fmt::format(" [kernel flags: {}]", flags)
                            : std::string();
        if (!experiment.empty())
          result["kernel_flags"] = flags;
        std::cout << fmt::format(
            "compile {:.0f} ms (kernel cache: {}{}); schedule (built on the "
            "{} in {:.2f} ms): {} key tiles, {} gathered keys{}{}\n",
            compileMs, runtime::cacheSourceName(kernel.cacheSource), experiment,
            launcher.scheduleBuilder(), launcher.scheduleBuildMs(),
            launcher.visitedTiles(), launcher.gatheredKeys(), classes,
            launcher.bitTiles() > 0
                ? fmt::format("; bits of {} PARTIAL tiles built on the GPU",
                              launcher.bitTiles())
                : std::string());
        result["bit_tiles"] = launcher.bitTiles();
        result["first_schedule_build_ms"] = launcher.scheduleBuildMs();
        std::cout << "kernel: " << kernelStats(kernel, cubinInfo) << "\n";
        result["schedule_builder"] = launcher.scheduleBuilder();
        if (!launcher.scheduleCheck().empty()) {
          std::cout << "schedule check: " << launcher.scheduleCheck() << "\n";
          result["schedule_check"] = launcher.scheduleCheck();
        }
        int status = 0;
        // Sets estimated on the GPU (no --select): report, export, and check
        // them against the CPU reference estimator. (A copy: the launcher
        // reads the sets back from the GPU after each launch that asks.)
        const std::vector<dsl::Selections> estimated = launcher.estimatedSets();
        // The reference mask of head h of sequence b, under the sets the
        // launch used (estimated ones are per (batch, head)).
        const harness::HeadEvaluator headEvaluator = [&](int64_t h, int64_t b) {
          MaskOptions m = mask;
          m.head = h;
          m.lk = Lk;
          const dsl::Selections *sets =
              !estimated.empty()
                  ? &estimated[static_cast<int64_t>(estimated.size()) > H
                                   ? b * H + h
                                   : h]
              : !call.headSelections.empty() ? &call.headSelections[h]
                                             : nullptr;
          return makeEvaluator(program, pattern, m, sets);
        };
        if (!estimated.empty()) {
          const dsl::Selections &first = estimated[0];
          std::string what;
          if (first.columns)
            what = fmt::format("{} columns and {} diagonals",
                               first.columns->size(), first.diagonals->size());
          if (first.blocks) {
            size_t chosen = 0;
            for (const auto &row : *first.blocks)
              chosen += row.size();
            what += fmt::format("{}{} key blocks over {} query blocks",
                                what.empty() ? "" : " and ", chosen,
                                first.blocks->size());
          }
          std::cout << fmt::format(
              "selectors estimated on the GPU: {} per head in {:.3f} ms; "
              "schedule tables built on the {} in {:.2f} ms\n",
              what, launcher.estimateMs(), launcher.scheduleBuilder(),
              launcher.scheduleBuildMs());
          if (first.diagonals && !first.diagonals->empty()) {
            // Where the chosen diagonals lie decides the attention's cost
            // (near the main diagonal: few tiles; spread: many).
            std::vector<int64_t> d = *estimated[0].diagonals;
            std::sort(d.begin(), d.end());
            std::cout << fmt::format("head 0 diagonals: {} .. {} (median {})\n",
                                     d.front(), d.back(), d[d.size() / 2]);
          }
          result["estimate_ms"] = launcher.estimateMs();
          result["schedule_build_ms"] = launcher.scheduleBuildMs();
          if (!opts.exportSets.empty()) {
            nlohmann::json heads = nlohmann::json::array();
            for (const dsl::Selections &sel : estimated) {
              nlohmann::json head = nlohmann::json::object();
              if (sel.columns)
                head["columns"] = *sel.columns;
              if (sel.diagonals)
                head["diagonals"] = *sel.diagonals;
              if (sel.blocks)
                head["blocks"] = *sel.blocks;
              heads.push_back(head);
            }
            const std::string text =
                nlohmann::json{{"heads", heads}}.dump() + "\n";
            support::writeOutputFile(opts.exportSets, text.data(), text.size());
          }
          if (opts.check)
            status |= harness::checkEstimatedSets(kernel, estimated, inputs,
                                                  shape, std::cout, result);
        }

        // Reference check on rows (all of them when small, else a sample).
        if (opts.check) {
          std::vector<uint16_t> ho(B * Lq * H * D);
          std::vector<float> hl(B * H * Lq);
          drv.download(ho.data(), dout, ho.size() * 2);
          drv.download(hl.data(), dlse, hl.size() * 4);
          const harness::ForwardCheck check = harness::checkForward(
              shape, inputs, ho, hl, headEvaluator, opts.seed);
          std::cout << "check: " << check.describe() << "\n";
          result["check"] = {
              {"rows", check.rows},      {"max_err", check.maxErr},
              {"ref_err", check.refErr}, {"tolerance", check.tolerance},
              {"lse_err", check.lseErr}, {"bad_values", check.badValues},
              {"pass", check.pass}};
          if (!check.pass)
            status = 1;
        }

        if (opts.backward) {
          harness::BackwardInputs in{hq, hk, hv, B, Lq, Lk, H, Hkv, D, fp16};
          status |= harness::runBackward(
              launcher, call, in,
              {opts.check, opts.bench, opts.iters, opts.seed}, headEvaluator,
              std::cout, result);
        }

        if (opts.bench) {
          // Sets estimated per call: each launch estimates, builds its
          // schedule and attends, as a call with new inputs would.
          const bool pipeline = !estimated.empty();
          launcher.setCheckSchedule(false);
          const double ms = harness::medianLaunchMs(
              [&] {
                if (pipeline)
                  launcher.invalidateSchedule();
                launcher.launch(call);
              },
              opts.iters);
          // Useful work: 4*D flops per allowed (q, k) pair.
          int64_t pairs = 0;
          bool perHead = pattern.isDispatch() || !estimated.empty() ||
                         !call.headSelections.empty();
          for (const dsl::ParamDecl &p : pattern.params)
            perHead |= p.type == dsl::Type::HeadArray;
          int64_t rowStep = 1;
          pairs = harness::usefulPairs(shape, perHead, headEvaluator, &rowStep);
          if (rowStep > 1)
            std::cout << fmt::format("useful pairs estimated from every {}th "
                                     "query row\n",
                                     rowStep);
          pairs *= B;
          double tflops =
              4.0 * D * static_cast<double>(pairs) / (ms * 1e-3) / 1e12;
          std::cout << fmt::format(
              "bench: median {:.3f} ms over {} launches, {:.1f} useful "
              "TFLOP/s, density {:.2f}%\n",
              ms, opts.iters, tflops,
              100.0 * static_cast<double>(pairs) /
                  static_cast<double>(B * H * Lq * Lk));
          result["bench"] = {{"median_ms", ms},
                             {"iters", opts.iters},
                             {"tflops", tflops},
                             {"pairs", pairs}};
          if (pipeline) {
            std::cout << fmt::format(
                "each launch: estimate {:.3f} ms (GPU) + schedule build on "
                "the {} {:.3f} ms (host wall time; {:.3f} ms GPU) + "
                "attention\n",
                launcher.estimateMs(), launcher.scheduleBuilder(),
                launcher.scheduleBuildMs(), launcher.scheduleBuildGpuMs());
            result["bench"]["estimate_ms"] = launcher.estimateMs();
            result["bench"]["schedule_build_ms"] = launcher.scheduleBuildMs();
            result["bench"]["schedule_build_gpu_ms"] =
                launcher.scheduleBuildGpuMs();
            result["bench"]["includes"] = "estimate, schedule build, attention";
          }
        }
        drv.free(dq);
        drv.free(dk);
        drv.free(dv);
        drv.free(dout);
        drv.free(dlse);
        if (!opts.json.empty()) {
          std::string text = result.dump(2) + "\n";
          support::writeOutputFile(opts.json, text.data(), text.size());
        }
        return status;
      });
}

} // namespace maskjit::maskc
