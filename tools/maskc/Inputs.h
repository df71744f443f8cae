//===- Inputs.h - Options shared by maskc commands --------------*- C++ -*-===//
#ifndef MASKJIT_TOOLS_MASKC_INPUTS_H
#define MASKJIT_TOOLS_MASKC_INPUTS_H

#include "maskjit/dsl/Evaluator.h"
#include "maskjit/dsl/Frontend.h"

#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace maskjit::maskc {

/// A bad command-line value (exit status 2).
class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct CommonOptions {
  std::string color = "auto";
  std::vector<std::string> importDirs;
};

/// What selects and shapes one mask: the file, the pattern, the params.
struct MaskOptions {
  std::string file;
  std::string pattern;
  int64_t lq = 0;
  int64_t lk = -1; ///< -1: same as lq.
  int64_t head = 0;
  int64_t batchIndex = 0;
  std::vector<std::string> sets;    ///< name=value
  std::vector<std::string> selects; ///< columns=..., diagonals=..., blocks=...
};

bool useColor(const CommonOptions &common);

/// Parses and checks `file`; prints diagnostics. Null on errors.
const dsl::Program *loadProgram(dsl::Frontend &fe, const std::string &file,
                                const CommonOptions &common);

/// The pattern named by --pattern, or the only/last pattern of the main file.
const dsl::PatternDecl &choosePattern(const dsl::Program &program,
                                      const std::string &name);

/// --set values, typed by the pattern's declarations: compile-time scalars
/// for the compiler, runtime values (runtime
/// scalars, arrays, per-head arrays) apart, and every value in `all` (for
/// the evaluator). Throws UsageError (unknown name, bad value, given twice).
struct SplitSets {
  std::map<std::string, int64_t> constants;
  dsl::ParamBindings runtime;
  dsl::ParamBindings all;
};
SplitSets splitSets(const dsl::PatternDecl &pattern,
                    const std::vector<std::string> &sets);

/// Binds a mask for evaluation. Throws UsageError or dsl::MaskError.
/// The chosen sets of `--select columns=...`, `diagonals=...`,
/// `blocks=...`.
/// The chosen sets of `--select` options, for head `head` where a sets
/// file (`sets=@FILE`, as `maskc run --export-sets` writes) gives them per
/// head.
/// A usage error when `sel` chooses a set for a selector `pattern` does not
/// have (a `--select` that would be silently ignored).
void checkSelectionsApply(const dsl::Selections &sel,
                          const dsl::Program &program,
                          const dsl::PatternDecl &pattern);

dsl::Selections parseSelections(const std::vector<std::string> &selects,
                                int64_t head = 0);
/// Every head's sets from a `sets=@FILE` option (empty without one).
std::vector<dsl::Selections>
parseHeadSets(const std::vector<std::string> &selects);

std::unique_ptr<dsl::MaskEvaluator>
makeEvaluator(const dsl::Program &program, const dsl::PatternDecl &pattern,
              const MaskOptions &opts,
              const dsl::Selections *selections = nullptr);

/// Reads integers from "1,2,3" or "@file" (whitespace/comma separated,
/// `#` comments). Throws UsageError.
std::vector<int64_t> parseIntList(const std::string &text,
                                  const std::string &what);

/// Prints a MaskError as a diagnostic.
void reportMaskError(dsl::Frontend &fe, const dsl::MaskError &err,
                     const CommonOptions &common);

/// Runs `body` with the file loaded and the pattern chosen, mapping errors
/// to exit statuses: 1 for bad input (diagnostics printed), 2 for bad usage.
template <typename Fn>
int withPattern(const std::string &file, const std::string &patternName,
                const CommonOptions &common, Fn body) {
  dsl::Frontend fe(dsl::FrontendOptions{common.importDirs});
  const dsl::Program *program = loadProgram(fe, file, common);
  if (!program)
    return 1;
  try {
    const dsl::PatternDecl &pattern = choosePattern(*program, patternName);
    return body(fe, *program, pattern);
  } catch (const UsageError &e) {
    std::cerr << "maskc: error: " << e.what() << '\n';
    return 2;
  } catch (const std::invalid_argument &e) { // A bad launch configuration.
    std::cerr << "maskc: error: " << e.what() << '\n';
    return 2;
  } catch (const dsl::MaskError &e) {
    reportMaskError(fe, e, common);
    return 1;
  } catch (const std::exception &e) {
    std::cerr << "maskc: error: " << e.what() << '\n';
    return 1;
  }
}

} // namespace maskjit::maskc

#endif
