//===- KernelSchedule.cpp - The schedule a launch would bind --------------===//
#include "KernelSchedule.h"

#include "maskjit/compiler/MaskDialect.h"
#include "maskjit/compiler/Pipeline.h"
#include "maskjit/compiler/SymbolicSchedule.h"

#include <fmt/core.h>

#include <sstream>

namespace maskjit::maskc {

std::pair<int64_t, int64_t> parseTile(const std::string &tile) {
  auto x = tile.find('x');
  std::string a = tile.substr(0, x),
              b = x == std::string::npos ? a : tile.substr(x + 1);
  auto num = [&](const std::string &s) {
    std::vector<int64_t> v = parseIntList(s, "--tile");
    if (v.size() != 1 || v[0] <= 0 || v[0] > 4096 ||
        s.find(',') != std::string::npos)
      throw UsageError("--tile expects BMxBN with sizes in 1..4096, got '" +
                       tile + "'");
    return v[0];
  };
  return {num(a), num(b)};
}

/// Tiles a printed or drawn block map may have (a byte or more each).
constexpr int64_t kMaxMapTiles = int64_t{1} << 26;

void checkTileCount(int64_t lq, int64_t lk, int64_t bm, int64_t bn) {
  const int64_t tiles = ((lq + bm - 1) / bm) * ((lk + bn - 1) / bn);
  if (tiles > kMaxMapTiles)
    throw UsageError(fmt::format(
        "{}x{} tiles over {}x{} pairs make {} tiles, over the limit of {}; "
        "use larger tiles (--tile) or shorter sequences",
        bm, bn, lq, lk, tiles, kMaxMapTiles));
}

std::optional<KernelSchedule>
bindKernelSchedule(const dsl::Frontend &fe, const dsl::Program &program,
                   const dsl::PatternDecl &pattern, const MaskOptions &mask,
                   const ScheduleTarget &target) {
  // Compile-time params are compiled in; runtime ones (and per-head
  // arrays) are bound when the schedule is, as at launch.
  mask::CompileOptions opts;
  std::map<std::string, int64_t> runtimeValues{{"h", mask.head},
                                               {"b", mask.batchIndex}};
  SplitSets split = splitSets(pattern, mask.sets);
  opts.constants = split.constants;
  for (const dsl::ParamDecl &param : pattern.params) {
    auto it = split.runtime.find(param.name);
    if (param.type == dsl::Type::HeadArray && it != split.runtime.end()) {
      const std::vector<int64_t> &v = it->second.array;
      if (mask.head < 0 || mask.head >= static_cast<int64_t>(v.size()))
        throw UsageError("--set " + param.name + " has no value for head " +
                         std::to_string(mask.head));
      runtimeValues[param.name] = v[mask.head];
    } else if (param.runtime && it != split.runtime.end()) {
      runtimeValues[param.name] = it->second.scalar;
    } else if (param.runtime && param.defaultConstant) {
      runtimeValues[param.name] = *param.defaultConstant;
    }
  }
  opts.head = mask.head;
  opts.headDim = target.headDim;
  opts.arch = target.arch;
  if (!target.tile.empty()) {
    auto [bm, bn] = parseTile(target.tile);
    opts.tileM = bm;
    opts.tileN = bn;
  }
  mlir::MLIRContext context;
  std::ostringstream errors;
  auto module = mask::compilePattern(context, program, pattern, fe.sources(),
                                     opts, mask::Stage::Schedule, errors);
  std::cerr << errors.str();
  if (!module)
    return std::nullopt;
  mask::PatternOp op = *module->getOps<mask::PatternOp>().begin();
  auto tile = op->getAttrOfType<mlir::DenseI64ArrayAttr>("mask.tile");
  auto sym =
      mask::fromAttr(op->getAttrOfType<mlir::DictionaryAttr>("mask.schedule"));
  if (!sym || !tile)
    throw std::runtime_error("internal error: no schedule attached");
  std::string error;
  int64_t lk = mask.lk < 0 ? mask.lq : mask.lk;
  checkTileCount(mask.lq, lk, tile[0], tile[1]);
  std::map<std::string, std::vector<int64_t>> arrays;
  // Per-head arrays too: the predicate reads `w[h]` from the whole array
  // (the exact tiers then decide its tiles), the closed forms the head's
  // value.
  for (auto &[name, v] : split.runtime)
    if (v.type == dsl::Type::IntArray || v.type == dsl::Type::HeadArray)
      arrays[name] = v.array;
  dsl::Selections sel = parseSelections(mask.selects, mask.head);
  checkSelectionsApply(sel, program, pattern);
  if (sel.columns)
    arrays["topk_columns"] = *sel.columns;
  if (sel.diagonals)
    arrays["topk_diagonals"] = *sel.diagonals;
  if (sel.blocks)
    arrays["topk_blocks"] = mask::flattenBlockSets(*sel.blocks);
  // Where the evaluator would stop, so does the command (exit 1: the
  // input is wrong, not the command line).
  if (auto trap = mask::predicateTrap(*sym, runtimeValues, mask.lq, lk, arrays))
    throw std::runtime_error(*trap);
  auto schedule = mask::bindSchedule(*sym, runtimeValues, mask.lq, lk, tile[0],
                                     tile[1], error, arrays);
  if (!schedule)
    throw UsageError(error);
  return KernelSchedule{*sym, std::move(*schedule),
                        mask::scheduleDilation(*sym)};
}

} // namespace maskjit::maskc
