//===- Run.cpp - maskc compile and maskc run ------------------------------===//
#include "Run.h"

#include "BackwardCheck.h"
#include "Half.h"

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
#include <random>
#include <sstream>
#include <thread>
#include <tuple>
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

/// Inputs with the structure attention has in trained models, which random
/// ones lack: rotary-like terms A*(cos(i*w_p), sin(i*w_p)) on the first 32
/// dimensions of Q row i and K row j (their product adds A^2 * sum_p
/// cos((i - j) * w_p), largest near the diagonal: local "slash" lines), and
/// a shared direction u on the other dimensions, strong in every Q row and
/// in 32 random "heavy" K rows and key 0 (vertical lines, attention sinks).
/// Q and K stay random otherwise; V is untouched.
void addPositionalStructure(std::vector<uint16_t> &q, std::vector<uint16_t> &k,
                            int64_t batch, int64_t lq, int64_t lk,
                            int64_t heads, int64_t kvHeads, int64_t d,
                            bool fp16, uint64_t seed) {
  constexpr int kPairs = 16;
  constexpr float kRotary = 2.0f, kHeavy = 6.0f;
  std::mt19937_64 rng(seed ^ 0x5eed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> u(d, 0.f);
  float norm = 0;
  for (int64_t c = 2 * kPairs; c < d; ++c) {
    u[c] = normal(rng);
    norm += u[c] * u[c];
  }
  for (float &x : u)
    x /= std::sqrt(norm);
  std::vector<char> heavy(lk, 0);
  heavy[0] = 1;
  for (int i = 0; i < 32; ++i)
    heavy[rng() % lk] = 1;
  auto add = [&](std::vector<uint16_t> &t, int64_t len, int64_t nh,
                 bool isQuery) {
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < len; ++i)
        for (int64_t h = 0; h < nh; ++h) {
          uint16_t *row = &t[((b * len + i) * nh + h) * d];
          auto plus = [&](int64_t c, float v) {
            row[c] = toHalf(fromHalf(row[c], fp16) + v, fp16);
          };
          for (int p = 0; p < kPairs && 2 * p + 1 < d; ++p) {
            const double w =
                std::pow(10000.0, -static_cast<double>(p) / kPairs);
            plus(2 * p, kRotary * static_cast<float>(std::cos(i * w)));
            plus(2 * p + 1, kRotary * static_cast<float>(std::sin(i * w)));
          }
          if (isQuery || heavy[i])
            for (int64_t c = 2 * kPairs; c < d; ++c)
              plus(c, kHeavy * u[c]);
        }
  };
  add(q, lq, heads, true);
  add(k, lk, kvHeads, false);
}

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

/// The sets the GPU chose against the CPU reference estimator (fp32) for
/// the first and the last head of batch 0. Summation orders differ, so
/// near-ties may fall either way: a set passes with at most max(1, n/100)
/// indices that differ.
/// The rows of Q and K of head h of sequence b from the host copies
/// ([B, L, H, D]), as float.
static std::pair<std::vector<float>, std::vector<float>>
headRows(const std::vector<uint16_t> &hq, const std::vector<uint16_t> &hk,
         int64_t Lq, int64_t Lk, int64_t H, int64_t Hkv, int64_t D, bool fp16,
         int64_t b, int64_t h) {
  const int64_t kvh = h / (H / Hkv);
  std::vector<float> q(Lq * D), k(Lk * D);
  for (int64_t i = 0; i < Lq; ++i)
    for (int64_t c = 0; c < D; ++c)
      q[i * D + c] = fromHalf(hq[((b * Lq + i) * H + h) * D + c], fp16);
  for (int64_t i = 0; i < Lk; ++i)
    for (int64_t c = 0; c < D; ++c)
      k[i * D + c] = fromHalf(hk[((b * Lk + i) * Hkv + kvh) * D + c], fp16);
  return {std::move(q), std::move(k)};
}

/// The (sequence, head) pairs whose estimates are checked: the first and
/// the last.
static std::vector<std::pair<int64_t, int64_t>> checkedHeads(int64_t B,
                                                             int64_t H) {
  return {{0, 0}, {B - 1, H - 1}};
}

/// The GPU's topk_blocks against the CPU reference (the same arithmetic:
/// the same blocks expected), for the first and last head.
static int checkBlockEstimate(const runtime::CompiledKernel &kernel,
                              const std::vector<dsl::Selections> &estimated,
                              const std::vector<uint16_t> &hq,
                              const std::vector<uint16_t> &hk, int64_t B,
                              int64_t Lq, int64_t Lk, int64_t H, int64_t Hkv,
                              int64_t D, bool fp16, nlohmann::json &result) {
  const auto [keep, block] = kernel.selectorArg("topk_blocks");
  int status = 0;
  nlohmann::json heads = nlohmann::json::array();
  for (auto [b, h] : checkedHeads(B, H)) {
    auto [q, k] = headRows(hq, hk, Lq, Lk, H, Hkv, D, fp16, b, h);
    const std::vector<std::vector<int64_t>> ref = runtime::estimateBlockTopk(
        {q.data(), Lq, D, D}, {k.data(), Lk, D, D}, keep, block,
        1.0f / std::sqrt(static_cast<float>(D)));
    const std::vector<std::vector<int64_t>> &got = *estimated[b * H + h].blocks;
    int64_t differing = 0;
    for (size_t r = 0; r < ref.size(); ++r)
      differing += r < got.size() && got[r] == ref[r] ? 0 : 1;
    const bool ok = got.size() == ref.size() && differing == 0;
    std::cout << fmt::format(
        "estimate check: {}head {}: {} of {} query blocks chose the key "
        "blocks the CPU reference chose: {}\n",
        B > 1 ? fmt::format("sequence {} ", b) : "", h,
        static_cast<int64_t>(ref.size()) - differing, ref.size(),
        ok ? "PASS" : "FAIL");
    heads.push_back({{"batch", b},
                     {"head", h},
                     {"query_blocks_differing", differing},
                     {"pass", ok}});
    if (!ok)
      status = 1;
  }
  result["estimate_check"] = heads;
  return status;
}

static int checkEstimate(const runtime::CompiledKernel &kernel,
                         const std::vector<dsl::Selections> &estimated,
                         const std::vector<uint16_t> &hq,
                         const std::vector<uint16_t> &hk, int64_t B, int64_t Lq,
                         int64_t Lk, int64_t H, int64_t Hkv, int64_t D,
                         bool fp16, nlohmann::json &result) {
  if (estimated.empty() || !estimated[0].columns)
    return checkBlockEstimate(kernel, estimated, hq, hk, B, Lq, Lk, H, Hkv, D,
                              fp16, result);
  const auto [vertical, lastQc] = kernel.selectorArg("topk_columns");
  const auto [slash, lastQd] = kernel.selectorArg("topk_diagonals");
  const int64_t lastQ = std::max(lastQc, lastQd);
  int status = 0;
  nlohmann::json heads = nlohmann::json::array();
  for (auto [b, h] : checkedHeads(B, H)) {
    auto [q, k] = headRows(hq, hk, Lq, Lk, H, Hkv, D, fp16, b, h);
    const dsl::Selections &got = estimated[b * H + h];
    runtime::VerticalSlash ref = runtime::estimateVerticalSlash(
        {q.data(), Lq, D, D}, {k.data(), Lk, D, D}, vertical, slash, lastQ,
        1.0f / std::sqrt(static_cast<float>(D)));
    auto differing = [](const std::vector<int64_t> &a,
                        const std::vector<int64_t> &b) {
      std::vector<int64_t> common;
      std::set_intersection(a.begin(), a.end(), b.begin(), b.end(),
                            std::back_inserter(common));
      return static_cast<int64_t>(std::max(a.size(), b.size()) - common.size());
    };
    const int64_t dc = differing(*got.columns, ref.columns),
                  dd = differing(*got.diagonals, ref.diagonals);
    const bool ok =
        got.columns->size() == ref.columns.size() &&
        got.diagonals->size() == ref.diagonals.size() &&
        dc <= std::max<int64_t>(1, static_cast<int64_t>(ref.columns.size()) /
                                       100) &&
        dd <= std::max<int64_t>(1, static_cast<int64_t>(ref.diagonals.size()) /
                                       100);
    std::cout << fmt::format(
        "estimate check: {}head {}: {} of {} columns and {} of {} diagonals "
        "as the CPU reference chose: {}\n",
        B > 1 ? fmt::format("sequence {} ", b) : "", h, ref.columns.size() - dc,
        ref.columns.size(), ref.diagonals.size() - dd, ref.diagonals.size(),
        ok ? "PASS" : "FAIL");
    heads.push_back({{"batch", b},
                     {"head", h},
                     {"columns_differing", dc},
                     {"diagonals_differing", dd},
                     {"pass", ok}});
    if (!ok)
      status = 1;
  }
  result["estimate_check"] = heads;
  return status;
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
        std::mt19937_64 rng(opts.seed);
        // Blocks of 2^20 values, each from its own generator seeded from
        // --seed and the block's index, filled on several threads: the same
        // inputs for a seed whatever the thread count, and seconds rather
        // than a minute at 128k tokens.
        uint64_t tensorIndex = 0;
        auto fill = [&](size_t n) {
          std::vector<uint16_t> v(n);
          constexpr size_t kBlock = size_t{1} << 20;
          const size_t blocks = (n + kBlock - 1) / kBlock;
          const uint64_t tensorSeed = rng() ^ (++tensorIndex << 48);
          const size_t workers = std::min<size_t>(
              blocks,
              std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 16));
          std::vector<std::thread> pool;
          for (size_t w = 0; w < workers; ++w)
            pool.emplace_back([&, w] {
              for (size_t blk = w; blk < blocks; blk += workers) {
                std::mt19937_64 gen(tensorSeed + blk * 0x9E3779B97F4A7C15ull);
                std::normal_distribution<float> dist(0.f, 1.f);
                for (size_t i = blk * kBlock;
                     i < std::min(n, (blk + 1) * kBlock); ++i)
                  v[i] = toHalf(dist(gen), fp16);
              }
            });
          for (std::thread &t : pool)
            t.join();
          return v;
        };
        std::vector<uint16_t> hq = fill(B * Lq * H * D),
                              hk = fill(B * Lk * Hkv * D),
                              hv = fill(B * Lk * Hkv * D);
        if (opts.inputs == "positional")
          addPositionalStructure(hq, hk, B, Lq, Lk, H, Hkv, D, fp16, opts.seed);
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
        auto headEvaluator = [&](int64_t h, int64_t b = 0) {
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
            status |= checkEstimate(kernel, estimated, hq, hk, B, Lq, Lk, H,
                                    Hkv, D, fp16, result);
        }

        // Reference check on rows (all of them when small, else a sample).
        if (opts.check) {
          std::vector<uint16_t> ho(B * Lq * H * D);
          std::vector<float> hl(B * H * Lq);
          drv.download(ho.data(), dout, ho.size() * 2);
          drv.download(hl.data(), dlse, hl.size() * 4);
          std::vector<std::tuple<int64_t, int64_t, int64_t>> rows;
          if (B * H * Lq <= 4096) {
            for (int64_t b = 0; b < B; ++b)
              for (int64_t h = 0; h < H; ++h)
                for (int64_t q = 0; q < Lq; ++q)
                  rows.push_back({b, h, q});
          } else {
            std::uniform_int_distribution<int64_t> rb(0, B - 1), rh(0, H - 1),
                rq(0, Lq - 1);
            rows.push_back({0, 0, 0});
            rows.push_back({B - 1, H - 1, Lq - 1});
            for (int i = 0; i < 510; ++i)
              rows.push_back({rb(rng), rh(rng), rq(rng)});
          }
          std::map<int64_t, std::unique_ptr<dsl::MaskEvaluator>> evals;
          const double scale = 1.0 / std::sqrt(static_cast<double>(D));
          double errKernel = 0, errLow = 0, errLse = 0;
          int64_t bad = 0, emptyRows = 0;
          std::vector<uint8_t> allowed(Lk);
          std::vector<double> sc(Lk);
          for (auto [b, h, q] : rows) {
            auto &ev = evals[b * H + h];
            if (!ev)
              ev = headEvaluator(h, b);
            ev->row(q, allowed.data());
            const int64_t kvh = h / (H / Hkv);
            const uint16_t *qrow = &hq[((b * Lq + q) * H + h) * D];
            double mx = -INFINITY;
            for (int64_t k = 0; k < Lk; ++k) {
              if (!allowed[k])
                continue;
              const uint16_t *krow = &hk[((b * Lk + k) * Hkv + kvh) * D];
              double s = 0;
              for (int64_t d = 0; d < D; ++d)
                s += static_cast<double>(fromHalf(qrow[d], fp16)) *
                     fromHalf(krow[d], fp16);
              sc[k] = s * scale;
              mx = std::max(mx, sc[k]);
            }
            const uint16_t *orow = &ho[((b * Lq + q) * H + h) * D];
            float lse = hl[(b * H + h) * Lq + q];
            if (mx == -INFINITY) { // No allowed key: O = 0, LSE = -inf.
              ++emptyRows;
              bool ok = lse == -INFINITY;
              for (int64_t d = 0; d < D; ++d)
                ok &= fromHalf(orow[d], fp16) == 0.f;
              bad += !ok;
              continue;
            }
            std::vector<double> ref(D, 0.0), low(D, 0.0);
            double l = 0;
            for (int64_t k = 0; k < Lk; ++k) {
              if (!allowed[k])
                continue;
              double pk = std::exp(sc[k] - mx);
              double pLow =
                  fromHalf(toHalf(static_cast<float>(pk), fp16), fp16);
              l += pk;
              const uint16_t *vrow = &hv[((b * Lk + k) * Hkv + kvh) * D];
              for (int64_t d = 0; d < D; ++d) {
                double vv = fromHalf(vrow[d], fp16);
                ref[d] += pk * vv;
                low[d] += pLow * vv;
              }
            }
            for (int64_t d = 0; d < D; ++d) {
              double r = ref[d] / l;
              double lowOut =
                  fromHalf(toHalf(static_cast<float>(low[d] / l), fp16), fp16);
              double got = fromHalf(orow[d], fp16);
              if (!std::isfinite(got))
                ++bad;
              errKernel = std::max(errKernel, std::fabs(got - r));
              errLow = std::max(errLow, std::fabs(lowOut - r));
            }
            errLse = std::max(errLse, std::fabs(lse - (mx + std::log(l))));
          }
          double tol = 2 * errLow;
          bool pass = bad == 0 && errKernel <= tol && errLse <= 1e-3;
          std::cout << fmt::format("check: {} rows ({} with no allowed key): "
                                   "max |O - ref| = {:.3g}, "
                                   "same-precision reference {:.3g} (tolerance "
                                   "{:.3g}), max |LSE - ref| = "
                                   "{:.3g}, bad values {}: {}\n",
                                   rows.size(), emptyRows, errKernel, errLow,
                                   tol, errLse, bad, pass ? "PASS" : "FAIL");
          result["check"] = {{"rows", rows.size()}, {"max_err", errKernel},
                             {"ref_err", errLow},   {"tolerance", tol},
                             {"lse_err", errLse},   {"bad_values", bad},
                             {"pass", pass}};
          if (!pass)
            status = 1;
        }

        if (opts.backward) {
          BackwardInputs in{hq, hk, hv, B, Lq, Lk, H, Hkv, D, fp16};
          status |= runBackward(
              launcher, call, in,
              {opts.check, opts.bench, opts.iters, opts.seed},
              [&](int64_t h, int64_t b) { return headEvaluator(h, b); },
              result);
        }

        if (opts.bench) {
          // Sets estimated per call: each launch estimates, builds its
          // schedule and attends, as a call with new inputs would.
          const bool pipeline = !estimated.empty();
          launcher.setCheckSchedule(false);
          for (int i = 0; i < 3; ++i) {
            if (pipeline)
              launcher.invalidateSchedule();
            launcher.launch(call);
          }
          drv.synchronize();
          // Events around each launch, read after the last one: a launch's
          // host work overlaps the previous launch, as in a stream of calls,
          // so each interval is the GPU's time (a pipeline call that waits
          // on the GPU within the launch still counts its waits).
          std::vector<float> times;
          std::vector<Driver::Event> starts, stops;
          for (int i = 0; i < opts.iters; ++i) {
            starts.push_back(drv.createEvent());
            stops.push_back(drv.createEvent());
          }
          for (int i = 0; i < opts.iters; ++i) {
            if (pipeline)
              launcher.invalidateSchedule();
            drv.record(starts[i]);
            launcher.launch(call);
            drv.record(stops[i]);
          }
          for (int i = 0; i < opts.iters; ++i)
            times.push_back(drv.elapsedMs(starts[i], stops[i]));
          std::sort(times.begin(), times.end());
          double ms = times[times.size() / 2];
          // Useful work: 4*D flops per allowed (q, k) pair.
          int64_t pairs = 0;
          bool perHead = pattern.isDispatch() || !estimated.empty() ||
                         !call.headSelections.empty();
          for (const dsl::ParamDecl &p : pattern.params)
            perHead |= p.type == dsl::Type::HeadArray;
          // Counted on the CPU with the evaluator: every row up to 2^31
          // (q, k) pairs in all, else evenly spaced rows, scaled (the count
          // then says so), so that per-head patterns at long lengths do not
          // take minutes; heads on several threads.
          const int64_t heads = perHead ? H : 1;
          const int64_t budget = int64_t{1} << 31;
          const int64_t rowStep =
              std::max<int64_t>(1, (heads * Lq * Lk + budget - 1) / budget);
          std::vector<int64_t> headPairs(heads, 0);
          std::vector<std::string> countErrors(heads);
          auto countHead = [&](int64_t h) {
            try {
              auto ev = headEvaluator(h);
              std::vector<uint8_t> row(Lk);
              int64_t n = 0, rowsSeen = 0;
              for (int64_t q = 0; q < Lq; q += rowStep, ++rowsSeen) {
                ev->row(q, row.data());
                for (uint8_t x : row)
                  n += x;
              }
              headPairs[h] =
                  static_cast<int64_t>(static_cast<double>(n) * Lq / rowsSeen);
            } catch (const std::exception &e) {
              countErrors[h] = e.what();
            }
          };
          const int64_t workers = std::min<int64_t>(
              heads,
              std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, 16));
          std::vector<std::thread> pool;
          for (int64_t w = 0; w < workers; ++w)
            pool.emplace_back([&, w] {
              for (int64_t h = w; h < heads; h += workers)
                countHead(h);
            });
          for (std::thread &t : pool)
            t.join();
          for (const std::string &e : countErrors)
            if (!e.empty())
              throw std::runtime_error(e);
          for (int64_t n : headPairs)
            pairs += perHead ? n : n * H;
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
