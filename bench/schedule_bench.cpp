// CPU benchmark of binding a schedule into the kernels' tables, what a
// launch pays when the shape or a runtime set changes: causal (static) and
// vertical-slash with given sets (1000 columns, 64 diagonals, local or
// spread), at 32k and 128k, 128x128 tiles; and 32 heads with sets of their
// own.
#include "maskjit/compiler/MaskDialect.h"
#include "maskjit/compiler/Pipeline.h"
#include "maskjit/compiler/SymbolicSchedule.h"
#include "maskjit/dsl/Frontend.h"
#include "maskjit/schedule/ScheduleBinding.h"
#include "maskjit/schedule/SetSchedule.h"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <sstream>

using namespace maskjit::mask;

namespace {
SymAtom causal(bool negated) {
  SymAtom t; // -q + k <= Lk - Lq, or its negation q - k <= Lq - Lk - 1
  t.a = negated ? 1 : -1;
  t.b = negated ? -1 : 1;
  t.rhs.constant = negated ? -1 : 0;
  t.rhs.terms = {{"Lk", negated ? -1 : 1}, {"Lq", negated ? 1 : -1}};
  return t;
}
SymAtom set(const char *name, bool diagonal, bool negated) {
  SymAtom t;
  t.setName = name;
  t.setOnDiagonal = diagonal;
  t.negated = negated;
  return t;
}
SymbolicSchedule verticalSlash() {
  SymbolicSchedule s;
  s.clauses = {{causal(false), set("topk_columns", false, false)},
               {causal(false), set("topk_diagonals", true, false)}};
  s.complement = {
      {causal(true)},
      {set("topk_columns", false, true), set("topk_diagonals", true, true)}};
  return s;
}
} // namespace

static void BM_CausalTables(benchmark::State &state) {
  const int64_t s = state.range(0);
  SymbolicSchedule sched;
  sched.clauses = {{causal(false)}};
  sched.complement = {{causal(true)}};
  for (auto _ : state) {
    KernelTables t;
    std::string error;
    buildKernelTables(sched, {}, {}, 1, s, s, 128, 128, {}, t, error);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_CausalTables)
    ->Arg(32768)
    ->Arg(131072)
    ->Unit(benchmark::kMillisecond);

static void BM_VerticalSlashTables(benchmark::State &state) {
  const int64_t s = state.range(0);
  const bool spread = state.range(1);
  std::mt19937_64 rng(0);
  std::vector<int64_t> cols(1000), diags(64);
  for (int64_t &c : cols)
    c = static_cast<int64_t>(rng() % s);
  for (size_t i = 0; i < diags.size(); ++i)
    diags[i] = spread ? static_cast<int64_t>(rng() % s) : int64_t(i);
  const std::map<std::string, std::vector<int64_t>> sets = {
      {"topk_columns", cols}, {"topk_diagonals", diags}};
  const SymbolicSchedule sched = verticalSlash();
  for (auto _ : state) {
    KernelTables t;
    std::string error;
    buildKernelTables(sched, {}, {}, 1, s, s, 128, 128, sets, t, error);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_VerticalSlashTables)
    ->Args({32768, 0})
    ->Args({32768, 1})
    ->Args({131072, 0})
    ->Args({131072, 1})
    ->Unit(benchmark::kMillisecond);

// 32 heads, each with its own spread sets (what an estimate per head
// gives on random inputs): the heads are built in parallel.
static void BM_VerticalSlashTablesPerHead(benchmark::State &state) {
  const int64_t s = state.range(0);
  const int heads = 32;
  std::mt19937_64 rng(0);
  std::vector<std::map<std::string, std::vector<int64_t>>> perHead(heads);
  for (auto &sets : perHead) {
    std::vector<int64_t> cols(1000), diags(64);
    for (int64_t &c : cols)
      c = static_cast<int64_t>(rng() % s);
    for (int64_t &d : diags)
      d = static_cast<int64_t>(rng() % s);
    sets = {{"topk_columns", cols}, {"topk_diagonals", diags}};
  }
  const SymbolicSchedule sched = verticalSlash();
  for (auto _ : state) {
    KernelTables t;
    std::string error;
    buildKernelTables(sched, {}, {}, heads, s, s, 128, 128, {}, t, error,
                      perHead);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_VerticalSlashTablesPerHead)
    ->Arg(32768)
    ->Arg(131072)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The host's part of a set schedule built on the GPU (compiler/
// SetSchedule.h): planned once per shape and parameter values, then reused
// by every call whatever its sets; 32 heads.
static void BM_VerticalSlashSetPlan(benchmark::State &state) {
  const int64_t s = state.range(0);
  const SymbolicSchedule sched = verticalSlash();
  for (auto _ : state) {
    std::string whyNot, error;
    auto plan =
        planSetSchedule(sched, {}, {}, 32, s, s, 128, 128, whyNot, error);
    if (!plan)
      state.SkipWithError((whyNot + error).c_str());
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_VerticalSlashSetPlan)
    ->Arg(32768)
    ->Arg(131072)
    ->Unit(benchmark::kMillisecond);

// Exact tile maps (TilePredicate.h) of masks the closed forms cannot read:
// the 3-D video neighbourhood (32x32 frames, radius 3, +-1 frame), NATTEN's
// exact 2-D neighbourhood (128 columns, 13x13), S2 shards (32 heads, one
// table each); 128x128 tiles, what a launch pays once per shape and
// static values.
namespace {
/// bench/patterns, or $MASKJIT_BENCH_PATTERNS where the binary travels.
std::string patternsDir() {
  const char *env = std::getenv("MASKJIT_BENCH_PATTERNS");
  return env && *env ? env : MASKJIT_BENCH_PATTERNS;
}

SymbolicSchedule compiledSchedule(const std::string &file,
                                  std::vector<std::string> bindings) {
  maskjit::dsl::Frontend fe;
  const maskjit::dsl::Program *program =
      fe.loadFile(patternsDir() + "/" + file);
  if (!program || program->mainPatterns().empty())
    throw std::runtime_error("cannot load " + file);
  mlir::MLIRContext context;
  std::ostringstream errors;
  maskjit::mask::CompileOptions opts;
  for (const std::string &b : bindings) // name=value
    opts.constants[b.substr(0, b.find('='))] =
        std::stoll(b.substr(b.find('=') + 1));
  opts.tileM = opts.tileN = 128;
  auto module = compilePattern(context, *program, *program->mainPatterns()[0],
                               fe.sources(), opts,
                               maskjit::mask::Stage::Schedule, errors);
  if (!module)
    throw std::runtime_error(errors.str());
  PatternOp op = *module->getOps<PatternOp>().begin();
  return *fromAttr(op->getAttrOfType<mlir::DictionaryAttr>("mask.schedule"));
}
} // namespace

static void BM_ExactMapTables(benchmark::State &state) {
  const int64_t s = state.range(0);
  const int which = static_cast<int>(state.range(1));
  const std::string rows = std::to_string(s / 128);
  const int64_t frames = s / 1024;
  SymbolicSchedule sched =
      which == 0   ? compiledSchedule("video3d.mask", {})
      : which == 1 ? compiledSchedule("natten_exact.mask", {"height=" + rows})
                   : compiledSchedule("s2_shards.mask", {});
  const int heads = which == 2 ? 32 : 1;
  state.SetLabel(
      std::string(which == 0   ? "video3d"
                  : which == 1 ? "natten_exact"
                               : "s2_shards x32 heads") +
      (which == 0 ? " (" + std::to_string(frames) + " frames)" : ""));
  for (auto _ : state) {
    KernelTables t;
    std::string error;
    if (!buildKernelTables(sched, {}, {}, heads, s, s, 128, 128, {}, t, error))
      state.SkipWithError(error.c_str());
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_ExactMapTables)
    ->ArgsProduct({{16384, 32768, 131072}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The search for a pair where the evaluator would stop, which binding a
// schedule runs once per shape and values before any table: its share of
// the map build above, on the same masks and on documents.
static void BM_TrapSearch(benchmark::State &state) {
  const int64_t s = state.range(0);
  const int which = static_cast<int>(state.range(1));
  const std::string rows = std::to_string(s / 128);
  SymbolicSchedule sched =
      which == 0   ? compiledSchedule("video3d.mask", {})
      : which == 1 ? compiledSchedule("natten_exact.mask", {"height=" + rows})
      : which == 2 ? compiledSchedule("s2_shards.mask", {})
                   : compiledSchedule("image_spans.mask", {});
  std::map<std::string, std::vector<int64_t>> arrays;
  if (which == 3) {
    std::vector<int64_t> img(static_cast<size_t>(s));
    for (int64_t i = 0; i < s; ++i)
      img[i] = (i / 150) % 3 == 1 ? 1 + i / 300 : 0;
    arrays["img"] = img;
  }
  state.SetLabel(which == 0   ? "video3d"
                 : which == 1 ? "natten_exact"
                 : which == 2 ? "s2_shards"
                              : "image_spans");
  for (auto _ : state) {
    auto trap = predicateTrap(sched, {{"h", 0}, {"b", 0}}, s, s, arrays);
    if (trap)
      state.SkipWithError(trap->c_str());
    benchmark::DoNotOptimize(trap);
  }
}
BENCHMARK(BM_TrapSearch)
    ->ArgsProduct({{16384, 131072}, {0, 1, 2, 3}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK_MAIN();
