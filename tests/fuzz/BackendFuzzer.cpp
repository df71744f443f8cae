//===- BackendFuzzer.cpp - libFuzzer target past the front end ------------===//
//
// A .mask source that checks must compile: through mask-specialize, the
// schedule analysis, EmitC and the kernel source (everything but NVRTC),
// for the portable and the Hopper kernel. The only errors allowed past
// `check` are the traps the bound values make certain, which the
// evaluator agrees are traps. The schedule bound on small shapes is then
// held to the reference evaluator: a tile it calls FULL or skips must be
// that in the evaluator's block map, and a trap it reports at a pair is
// one the evaluator stops at. Any disagreement aborts.
//
//===----------------------------------------------------------------------===//
#include "maskjit/dsl/BlockMap.h"
#include "maskjit/dsl/Evaluator.h"
#include "maskjit/dsl/Frontend.h"
#include "maskjit/plan/PlanKernel.h"
#include "maskjit/runtime/Attention.h"
#include "maskjit/schedule/KvSchedule.h"
#include "maskjit/schedule/ScheduleBinding.h"

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>

namespace {

using namespace maskjit;

[[noreturn]] void finding(const std::string &what) {
  std::fprintf(stderr, "backend fuzzer: %s\n", what.c_str());
  __builtin_trap();
}

/// Values for the params without one: compile-time ints from `seed`,
/// runtime arrays of documents.
void bindParams(const dsl::PatternDecl &p, uint8_t seed,
                std::map<std::string, int64_t> &constants,
                std::map<std::string, int64_t> &runtime,
                std::map<std::string, std::vector<int64_t>> &arrays,
                dsl::ParamBindings &all) {
  const int64_t small = 1 + seed % 7;
  for (const dsl::ParamDecl &param : p.params) {
    if (param.type == dsl::Type::IntArray) {
      std::vector<int64_t> v(64);
      for (size_t i = 0; i < v.size(); ++i)
        v[i] = static_cast<int64_t>(i / (1 + seed % 13));
      arrays[param.name] = v;
      all[param.name] = dsl::ParamValue::ints(v);
      continue;
    }
    if (param.type == dsl::Type::HeadArray) {
      all[param.name] = dsl::ParamValue::ints({small, small + 1});
      all[param.name].type = dsl::Type::HeadArray;
      runtime[param.name] = small;
      continue;
    }
    const bool isBool = param.type == dsl::Type::Bool;
    int64_t v =
        param.defaultConstant ? *param.defaultConstant : (isBool ? 1 : small);
    all[param.name] =
        isBool ? dsl::ParamValue::boolean(v != 0) : dsl::ParamValue::integer(v);
    if (param.runtime)
      runtime[param.name] = v;
    else if (!param.defaultConstant)
      constants[param.name] = v;
  }
}

/// The evaluator's block map, or nothing when it traps somewhere.
std::optional<std::vector<std::string>>
truthMap(const dsl::Program &program, const dsl::PatternDecl &p,
         const dsl::ParamBindings &params, int64_t lq, int64_t lk, int64_t bm,
         int64_t bn) {
  try {
    dsl::MaskEvaluator e(program, p, params, {}, {lq, lk, 0, 0});
    return dsl::computeBlockMap(e, bm, bn).rowStrings();
  } catch (const dsl::MaskError &) {
    return std::nullopt;
  }
}

void checkPattern(const dsl::Program &program, const dsl::PatternDecl &p,
                  const dsl::SourceManager &sources, const uint8_t *data,
                  size_t size) {
  if (!dsl::selectorsUsed(program, p).empty())
    return; // sets chosen at run time: the front-end fuzzer covers them
  const uint8_t seed = size ? data[size - 1] : 0;
  std::map<std::string, int64_t> constants;
  std::map<std::string, int64_t> runtime{{"h", 0}, {"b", 0}};
  std::map<std::string, std::vector<int64_t>> arrays;
  dsl::ParamBindings all;
  bindParams(p, seed, constants, runtime, arrays, all);
  runtime::CompiledKernel kernel;
  for (const char *arch : {"sm_80", "sm_90a"}) {
    plan::KernelRequest request;
    request.constants = constants;
    request.arch = arch;
    std::ostringstream errors;
    try {
      kernel = plan::compileKernel(program, p, sources, request, errors,
                                   /*compile=*/false);
    } catch (const std::exception &e) {
      const std::string what = e.what();
      if (what.find("once the compile-time values are bound") !=
          std::string::npos)
        return; // a certain trap, reported as such
      finding("a checked pattern does not compile for " + std::string(arch) +
              ": " + what);
    }
    if (kernel.source.code.empty())
      finding("no kernel source");
  }
  // The schedule against the evaluator on a few small shapes.
  const int64_t lq = 1 + seed % 37, lk = 1 + (seed * 7) % 53;
  for (int64_t tile : {8, 16}) {
    std::string error;
    auto schedule = mask::bindSchedule(kernel.schedule, runtime, lq, lk, tile,
                                       tile, error, arrays);
    auto truth = truthMap(program, p, all, lq, lk, tile, tile);
    if (!schedule) {
      if (error.find(" at q=") != std::string::npos && truth)
        finding("a trap the evaluator does not see: " + error);
      continue; // a reported trap, or a value the shape lacks
    }
    if (!truth)
      continue; // the evaluator traps where the search ran out of budget
    const std::vector<std::string> got = blockRows(*schedule);
    if (got.size() != truth->size())
      finding("block map has the wrong number of rows");
    for (size_t r = 0; r < got.size(); ++r)
      for (size_t c = 0; c < (*truth)[r].size() && c < got[r].size(); ++c) {
        const char g = got[r][c], t = (*truth)[r][c];
        if ((g == 'F' || g == '.') && g != t)
          finding("unsound tile (" + std::to_string(r) + "," +
                  std::to_string(c) + "): schedule '" + g + "', evaluator '" +
                  t + "' at Lq=" + std::to_string(lq) + " Lk=" +
                  std::to_string(lk) + " tile " + std::to_string(tile));
      }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096)
    return 0;
  dsl::Frontend fe;
  const dsl::Program *program = fe.loadString(
      "fuzz.mask", std::string(reinterpret_cast<const char *>(data), size));
  if (!program)
    return 0;
  int patterns = 0;
  for (const dsl::PatternDecl *p : program->mainPatterns())
    if (patterns++ < 2)
      checkPattern(*program, *p, fe.sources(), data, size);
  return 0;
}
