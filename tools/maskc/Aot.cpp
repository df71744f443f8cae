//===- Aot.cpp - maskc aot ------------------------------------------------===//
#include "Run.h"

#include "maskjit/aot/Aot.h"

#include <fmt/format.h>
#include <iostream>
#include <sstream>

namespace maskjit::maskc {

int runAot(const MaskOptions &mask, const AotOptions &opts,
           const CommonOptions &common) {
  return withPattern(
      mask.file, mask.pattern, common,
      [&](dsl::Frontend &fe, const dsl::Program &program,
          const dsl::PatternDecl &pattern) {
        if (opts.outDir.empty())
          throw UsageError("give the output folder with -o DIR");
        SplitSets split = splitSets(pattern, mask.sets);
        if (!split.runtime.empty())
          throw UsageError(
              "`" + split.runtime.begin()->first +
              "` is a runtime parameter: an AOT kernel takes it per call "
              "(a field of its Call struct), not from --set");
        aot::AotRequest req;
        req.constants = split.constants;
        std::stringstream archs(opts.archs);
        for (std::string a; std::getline(archs, a, ',');)
          if (!a.empty())
            req.archs.push_back(a);
        req.headDim = opts.headDim;
        req.dtype = opts.dtype;
        req.outDir = opts.outDir;
        std::ostringstream errors;
        runtime::KernelRegistry registry;
        aot::AotResult result = aot::writeAot(program, pattern, fe.sources(),
                                              req, errors, &registry);
        std::cerr << errors.str();
        for (const std::string &f : result.files)
          std::cout << "wrote " << f << '\n';
        return 0;
      });
}

} // namespace maskjit::maskc
