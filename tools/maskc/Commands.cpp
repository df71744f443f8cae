//===- Commands.cpp - maskc subcommands -----------------------------------===//
#include "Commands.h"
#include "KernelSchedule.h"
#include "Picture.h"

#include "maskjit/compiler/MaskDialect.h"
#include "maskjit/compiler/Pipeline.h"
#include "maskjit/compiler/SymbolicSchedule.h"
#include "maskjit/dsl/BlockMap.h"
#include "maskjit/schedule/ScheduleRemarks.h"

#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <set>
#include <sstream>

#include <unistd.h>

namespace maskjit::maskc {
namespace {

/// `file:line:col` (as the compiler's locations say it) in `sources`.
std::optional<dsl::Location> locationOf(const dsl::SourceManager &sources,
                                        const std::string &where) {
  const size_t c2 = where.rfind(':');
  const size_t c1 = c2 == std::string::npos || c2 == 0
                        ? std::string::npos
                        : where.rfind(':', c2 - 1);
  if (c1 == std::string::npos)
    return std::nullopt;
  const std::string file = where.substr(0, c1);
  for (uint32_t id = 0; id < sources.size(); ++id) {
    if (sources.name(id) != file)
      continue;
    dsl::Location loc;
    loc.begin.file = id;
    loc.begin.line = static_cast<uint32_t>(
        std::strtoul(where.c_str() + c1 + 1, nullptr, 10));
    loc.begin.column = static_cast<uint32_t>(
        std::strtoul(where.c_str() + c2 + 1, nullptr, 10));
    loc.end = loc.begin;
    return loc;
  }
  return std::nullopt;
}

/// The schedule's remarks as diagnostics: `file:line:col: remark: ...` with
/// the source line and a caret where they name a sub-expression.
void printRemarks(const dsl::SourceManager &sources,
                  const std::vector<mask::ScheduleRemark> &remarks,
                  std::ostream &os) {
  dsl::DiagnosticEngine diags(sources);
  for (const mask::ScheduleRemark &r : remarks)
    diags.remark(locationOf(sources, r.where), r.message);
  diags.print(os, isatty(STDERR_FILENO) && &os == &std::cerr);
}

/// Operations `show` evaluates at most (pairs times the program's size):
/// about a minute of the reference evaluator on one core.
constexpr double kMaxShowWork = 68719476736.0; // 2^36

void checkLengths(const MaskOptions &m, int64_t limit) {
  int64_t lk = m.lk < 0 ? m.lq : m.lk;
  if (m.lq <= 0 || lk <= 0)
    throw UsageError("--lq and --lk must be positive");
  if (m.lq > limit || lk > limit)
    throw UsageError(fmt::format(
        "sequence length over the limit of {} for this command", limit));
}

} // namespace

int runCheck(const std::vector<std::string> &files,
             const CommonOptions &common) {
  int status = 0;
  for (const std::string &file : files) {
    dsl::Frontend fe(dsl::FrontendOptions{common.importDirs});
    const dsl::Program *program = loadProgram(fe, file, common);
    if (!program) {
      status = 1;
      continue;
    }
    auto patterns = program->mainPatterns();
    std::string names;
    for (auto *p : patterns)
      names += (names.empty() ? "" : ", ") + p->name;
    std::cout << fmt::format("{}: ok ({} pattern{}{}{})\n", file,
                             patterns.size(), patterns.size() == 1 ? "" : "s",
                             names.empty() ? "" : ": ", names);
  }
  return status;
}

/// What the kernel visits against the mask's own tiles: a line for
/// `show`, and per tile whether it is visited in vain (no allowed pair).
struct KernelWork {
  std::string line;
  std::vector<uint8_t> vain; ///< rows * cols of the map; empty: not known.
};

KernelWork kernelWork(const dsl::Frontend &fe, const dsl::Program &program,
                      const dsl::PatternDecl &pattern, const MaskOptions &mask,
                      const dsl::BlockMap &map) {
  KernelWork out;
  auto tileOk = [](int64_t t) { return t % 16 == 0 && t <= 256; };
  if (!tileOk(map.tileQ) || !tileOk(map.tileK)) {
    out.line = "kernel work: not shown (the kernels' tiles are multiples of "
               "16 up to 256)";
    return out;
  }
  auto bound = bindKernelSchedule(
      fe, program, pattern, mask,
      ScheduleTarget{fmt::format("{}x{}", map.tileQ, map.tileK), 128,
                     "sm_90a"});
  if (!bound)
    throw std::runtime_error("the pattern's kernel schedule did not compile");
  if (bound->dilation > 1) {
    out.line = fmt::format(
        "kernel work: {} classes of positions, each with its own tiles (`maskc "
        "blocks` shows them)",
        bound->dilation);
    return out;
  }
  const KvSchedule &s = bound->schedule;
  out.vain.assign(map.tiles.size(), 0);
  std::vector<uint8_t> visited(map.tiles.size(), 0);
  int64_t full = 0, partial = 0, vain = 0, gathered = 0;
  for (int64_t qt = 0; qt < map.rows; ++qt) {
    const std::vector<KvSegment> segs = s.kernelSegments(qt);
    for (const KvSegment &seg : segs)
      for (int64_t kt = seg.begin; kt < seg.end; ++kt) {
        const size_t i = static_cast<size_t>(qt * map.cols + kt);
        const dsl::TileClass truth = map.tiles[i];
        visited[i] = 1;
        (seg.kind == TileKind::Full ? full : partial) += 1;
        if (seg.kind == TileKind::Full && truth != dsl::TileClass::Full)
          throw std::runtime_error(fmt::format(
              "internal error: the kernel's schedule calls tile ({}, {}) "
              "FULL, which holds masked pairs",
              qt, kt));
        if (truth == dsl::TileClass::Empty) {
          out.vain[i] = 1;
          ++vain;
        }
      }
    for (const KeyRun &r : s.gather(qt, &segs))
      gathered += r.count;
  }
  // Allowed pairs off the whole tiles must be among the gathered keys.
  int64_t skipped = 0;
  for (size_t i = 0; i < map.tiles.size(); ++i)
    skipped += !visited[i] && map.tiles[i] != dsl::TileClass::Empty;
  out.line = fmt::format(
      "kernel work: {} whole tiles ({} full, {} partial){}; {} visited in "
      "vain (no allowed pair){}",
      full + partial, full, partial,
      gathered ? fmt::format(" and {} gathered keys", gathered) : "", vain,
      skipped ? fmt::format("; {} tiles with allowed pairs served by the "
                            "gathered keys",
                            skipped)
              : "");
  return out;
}

int runShow(const MaskOptions &mask, const ShowOptions &show,
            const CommonOptions &common) {
  return withPattern(
      mask.file, mask.pattern, common,
      [&](dsl::Frontend &fe, const dsl::Program &program,
          const dsl::PatternDecl &pattern) {
        checkLengths(mask, int64_t{1} << 20);
        auto [bm, bn] = parseTile(show.tile);
        if (show.maxCols < 8)
          throw UsageError("--width must be at least 8");
        if (!(show.timeLimit > 0))
          throw UsageError("--time-limit must be a positive number of seconds");
        auto eval = makeEvaluator(program, pattern, mask);
        const dsl::EvalShape &shape = eval->shape();
        checkTileCount(shape.lq, shape.lk, bm, bn);
        const double work = static_cast<double>(shape.lq) *
                            static_cast<double>(shape.lk) *
                            static_cast<double>(eval->programSize());
        if (work > kMaxShowWork)
          throw UsageError(fmt::format(
              "`show` evaluates every pair: {}x{} pairs of {} operations "
              "each is {:.2g} operations, over its limit of {:.2g} (about a "
              "minute); use shorter sequences, or `maskc blocks`, which "
              "decides tiles without visiting every pair",
              shape.lq, shape.lk, eval->programSize(), work, kMaxShowWork));
        auto start = std::chrono::steady_clock::now();
        auto lastReport = start;
        const bool tty = isatty(STDERR_FILENO);
        auto progress = [&](int64_t rows) {
          auto now = std::chrono::steady_clock::now();
          const double seconds =
              std::chrono::duration<double>(now - start).count();
          if (seconds > show.timeLimit)
            throw std::runtime_error(fmt::format(
                "`show` stopped after {:g} s (--time-limit) at query row {} "
                "of {}; nothing was written",
                show.timeLimit, rows, shape.lq));
          if (tty && now - lastReport > std::chrono::seconds(2)) {
            lastReport = now;
            std::cerr << fmt::format("\rmaskc show: row {} of {} ({:.0f} s)",
                                     rows, shape.lq, seconds)
                      << (rows == shape.lq ? "\n" : "") << std::flush;
          }
        };
        dsl::DensityGrid grid;
        dsl::BlockMap map = computeBlockMap(
            *eval, bm, bn, show.png.empty() ? nullptr : &grid, progress);
        if (tty && lastReport != start)
          std::cerr << '\n';
        double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count();
        const dsl::EvalShape &s = eval->shape();
        int64_t tiles = map.rows * map.cols;
        std::cout << fmt::format(
            "pattern {}  Lq={} Lk={} head={}  tile {}x{}\n", pattern.name, s.lq,
            s.lk, s.head, bm, bn);
        std::cout << renderBlockMap(map, show.maxCols);
        std::cout << fmt::format(
            "allowed pairs: {} of {} ({:.3f}%)\n"
            "tiles: {} full, {} partial, {} empty of {} ({:.1f}% visited)\n"
            "reference evaluator: {} operations, {:.1f} ms\n",
            map.allowedPairs, map.totalPairs,
            100.0 * static_cast<double>(map.allowedPairs) /
                static_cast<double>(std::max<int64_t>(1, map.totalPairs)),
            map.count(dsl::TileClass::Full), map.count(dsl::TileClass::Partial),
            map.count(dsl::TileClass::Empty), tiles,
            100.0 *
                static_cast<double>(tiles - map.count(dsl::TileClass::Empty)) /
                static_cast<double>(std::max<int64_t>(1, tiles)),
            eval->programSize(), ms);
        const KernelWork kernel = kernelWork(fe, program, pattern, mask, map);
        std::cout << kernel.line << "\n";
        if (!show.png.empty()) {
          writeMaskPng(show.png, map, grid, kernel.vain);
          std::cout << "wrote " << show.png << '\n';
        }
        return 0;
      });
}

int runEval(const MaskOptions &mask, bool json, const CommonOptions &common) {
  return withPattern(
      mask.file, mask.pattern, common,
      [&](dsl::Frontend &, const dsl::Program &program,
          const dsl::PatternDecl &pattern) {
        checkLengths(mask, int64_t{1} << 16);
        auto eval = makeEvaluator(program, pattern, mask);
        const dsl::EvalShape &s = eval->shape();
        constexpr int64_t kMaxDense = int64_t{1} << 22;
        if (s.lq * s.lk > kMaxDense)
          throw UsageError(fmt::format(
              "a dense mask of {}x{} is too large to print (limit {} entries); "
              "use `maskc show` for a block map",
              s.lq, s.lk, kMaxDense));
        std::vector<uint8_t> row(s.lk);
        if (json) {
          nlohmann::json out;
          out["pattern"] = pattern.name;
          out["lq"] = s.lq;
          out["lk"] = s.lk;
          out["head"] = s.head;
          out["batch"] = s.batch;
          nlohmann::json rows = nlohmann::json::array();
          for (int64_t q = 0; q < s.lq; ++q) {
            eval->row(q, row.data());
            rows.push_back(std::vector<int>(row.begin(), row.end()));
          }
          out["mask"] = std::move(rows);
          std::cout << out.dump() << '\n';
          return 0;
        }
        std::string line(s.lk, '.');
        for (int64_t q = 0; q < s.lq; ++q) {
          eval->row(q, row.data());
          for (int64_t k = 0; k < s.lk; ++k)
            line[k] = row[k] ? '#' : '.';
          std::cout << line << '\n';
        }
        return 0;
      });
}

int runEmit(const EmitOptions &emit, const CommonOptions &common) {
  std::vector<std::string> stages = {"ast"};
  for (const std::string &s : mask::stageNames())
    stages.push_back(s);
  stages.push_back("cpp");
  if (std::find(stages.begin(), stages.end(), emit.stage) == stages.end()) {
    std::string list;
    for (auto &s : stages)
      list += (list.empty() ? "" : ", ") + s;
    std::cerr << "maskc: error: unknown stage '" << emit.stage
              << "' (available: " << list << ")\n";
    return 2;
  }
  if (emit.stage == "ast" && emit.pattern.empty()) {
    // The whole main file and what it imports.
    dsl::Frontend fe(dsl::FrontendOptions{common.importDirs});
    const dsl::Program *program = loadProgram(fe, emit.file, common);
    if (!program)
      return 1;
    std::cout << dsl::printAst(*program, fe.sources());
    return 0;
  }
  return withPattern(
      emit.file, emit.pattern, common,
      [&](dsl::Frontend &fe, const dsl::Program &program,
          const dsl::PatternDecl &pattern) {
        if (emit.stage == "ast") {
          std::cout << dsl::printAst(program, fe.sources(), &pattern);
          return 0;
        }
        mask::CompileOptions opts;
        SplitSets split = splitSets(pattern, emit.sets);
        if (!split.runtime.empty())
          throw UsageError("`" + split.runtime.begin()->first +
                           "` is a runtime parameter; it is not compiled in");
        opts.constants = split.constants;
        opts.head = emit.head;
        opts.headDim = emit.headDim;
        opts.dtype = emit.dtype;
        opts.arch = emit.arch;
        if (!emit.tile.empty()) {
          auto [bm, bn] = parseTile(emit.tile);
          opts.tileM = bm;
          opts.tileN = bn;
        }
        opts.printIrAfterAll = emit.printIrAfterAll;
        mlir::MLIRContext context;
        std::ostringstream errors;
        auto module = mask::compilePattern(
            context, program, pattern, fe.sources(), opts,
            emit.stage == "cpp" ? mask::Stage::EmitC
                                : *mask::parseStage(emit.stage),
            errors);
        std::cerr << errors.str();
        if (!module)
          return 1;
        if (emit.stage == "cpp") {
          std::string cpp;
          std::ostringstream cppErrors;
          bool ok = mask::translatePredicates(*module, cpp, cppErrors);
          std::cerr << cppErrors.str();
          std::cout << cpp;
          return ok ? 0 : 1;
        }
        std::string text;
        llvm::raw_string_ostream os(text);
        mlir::OpPrintingFlags flags;
        if (emit.debugLocations)
          flags.enableDebugInfo(true, /*prettyForm=*/false).useLocalScope();
        module->print(os, flags);
        std::cout << text;
        return 0;
      });
}

int runBlocks(const MaskOptions &mask, const BlocksOptions &blocks,
              const CommonOptions &common) {
  return withPattern(
      mask.file, mask.pattern, common,
      [&](dsl::Frontend &fe, const dsl::Program &program,
          const dsl::PatternDecl &pattern) {
        checkLengths(mask, int64_t{1} << 31);
        auto bound = bindKernelSchedule(
            fe, program, pattern, mask,
            ScheduleTarget{blocks.tile, blocks.headDim, blocks.arch});
        if (!bound)
          return 1;
        const mask::SymbolicSchedule *sym = &bound->sym;
        const KvSchedule *schedule = &bound->schedule;
        const int64_t lk = schedule->lk;
        const int64_t tile[2] = {schedule->tileQ, schedule->tileK};
        // A dilated pattern: the kernel runs each class of positions with
        // a schedule of its own.
        const int64_t dilation = bound->dilation;
        std::vector<KvSchedule> classes;
        for (int64_t r = 0; dilation > 1 && r < dilation; ++r)
          classes.push_back(mask::residueSchedule(*schedule, dilation, r));
        std::vector<mask::ScheduleRemark> remarks;
        if (blocks.remarks) {
          remarks = mask::scheduleRemarks(*sym, *schedule);
          printRemarks(fe.sources(), remarks, std::cerr);
        }
        if (blocks.json) {
          std::string json = blockRowsJson(*schedule);
          if (blocks.remarks) {
            nlohmann::json list = nlohmann::json::array();
            for (const mask::ScheduleRemark &r : remarks)
              list.push_back({{"where", r.where}, {"message", r.message}});
            json.pop_back();
            json += ",\"remarks\":" + list.dump() + "}";
          }
          if (dilation > 1) {
            json.pop_back();
            json +=
                ",\"dilation\":" + std::to_string(dilation) + ",\"classes\":[";
            for (size_t r = 0; r < classes.size(); ++r)
              json += (r ? "," : "") + blockRowsJson(classes[r]);
            json += "]}";
          }
          std::cout << json << '\n';
          return 0;
        }
        std::cout << fmt::format(
            "pattern {}  Lq={} Lk={} head={}  tile {}x{}  ({})\n", pattern.name,
            mask.lq, lk, mask.head, tile[0], tile[1],
            schedule->exact() ? "exact schedule"
                              : "sound schedule, some tiles conservative");
        std::vector<std::string> rows = blockRows(*schedule);
        int64_t loaded = 0, gathered = 0, touched = 0;
        for (int64_t qt = 0; qt < static_cast<int64_t>(rows.size()); ++qt) {
          int64_t g = gatheredKeys(*schedule, qt);
          for (const KvSegment &seg : schedule->kernelSegments(qt))
            loaded += seg.end - seg.begin;
          touched += static_cast<int64_t>(rows[qt].size()) -
                     std::count(rows[qt].begin(), rows[qt].end(), '.');
          gathered += g;
          std::cout << rows[qt];
          if (g)
            std::cout << "  +" << g << " gathered keys";
          std::cout << '\n';
        }
        if (dilation == 1) {
          std::cout << fmt::format("kernel work: {} whole tiles and {} "
                                   "gathered keys ({} tiles touched by the "
                                   "mask)\n",
                                   loaded, gathered, touched);
          return 0;
        }
        // Classes are printed in full up to 4 of them.
        constexpr int64_t kShownClasses = 4;
        std::cout << fmt::format(
            "dilation {}: the kernel runs {} classes of positions (r, r + {}, "
            "r + {}, ...), each with its own tiles\n",
            dilation, dilation, dilation, 2 * dilation);
        int64_t classLoaded = 0, classGathered = 0;
        for (int64_t r = 0; r < dilation; ++r) {
          const KvSchedule &c = classes[r];
          const bool shown = r < kShownClasses;
          if (shown)
            std::cout << fmt::format("class {} ({} queries, {} keys):\n", r,
                                     c.lq, c.lk);
          std::vector<std::string> classRows = blockRows(c);
          for (int64_t qt = 0; qt < c.queryTiles(); ++qt) {
            for (const KvSegment &seg : c.kernelSegments(qt))
              classLoaded += seg.end - seg.begin;
            const int64_t g = gatheredKeys(c, qt);
            classGathered += g;
            if (shown)
              std::cout << classRows[qt]
                        << (g ? "  +" + std::to_string(g) + " gathered keys"
                              : std::string())
                        << '\n';
          }
        }
        if (dilation > kShownClasses)
          std::cout << fmt::format("(classes {} to {} not shown)\n",
                                   kShownClasses, dilation - 1);
        std::cout << fmt::format(
            "kernel work: {} whole tiles and {} gathered keys over the {} "
            "classes (without classes: {} tiles, {} touched by the mask)\n",
            classLoaded, classGathered, dilation, loaded, touched);
        return 0;
      });
}

} // namespace maskjit::maskc
