//===- Api.cpp - The public C++ API ---------------------------------------===//
#include "maskjit/maskjit.h"

#include <sstream>

namespace maskjit {

namespace {
const dsl::PatternDecl &pick(const dsl::Program &program,
                             const std::string &name) {
  if (!name.empty()) {
    if (const dsl::PatternDecl *p = program.find(name))
      return *p;
    throw Error("no pattern named `" + name + "`");
  }
  auto main = program.mainPatterns();
  if (main.size() != 1)
    throw Error(main.empty() ? "the source defines no pattern"
                             : "the source defines several patterns; name one");
  return *main.front();
}
} // namespace

Pattern Pattern::fromFile(const std::string &path, const std::string &name) {
  Pattern p;
  p.frontend_ = std::make_shared<dsl::Frontend>();
  p.program_ = p.frontend_->loadFile(path);
  if (!p.program_)
    throw Error(p.frontend_->diags().str());
  p.decl_ = &pick(*p.program_, name);
  return p;
}

Pattern Pattern::fromString(const std::string &text, const std::string &name,
                            const std::string &bufferName) {
  Pattern p;
  p.frontend_ = std::make_shared<dsl::Frontend>();
  p.program_ = p.frontend_->loadString(bufferName, text);
  if (!p.program_)
    throw Error(p.frontend_->diags().str());
  p.decl_ = &pick(*p.program_, name);
  return p;
}

const std::string &Pattern::name() const { return decl_->name; }

std::unique_ptr<dsl::MaskEvaluator>
Pattern::evaluator(const dsl::ParamBindings &params,
                   const dsl::EvalShape &shape) const {
  try {
    return std::make_unique<dsl::MaskEvaluator>(*program_, *decl_, params,
                                                dsl::Selections{}, shape);
  } catch (const dsl::MaskError &e) {
    throw Error(e.what());
  }
}

Kernel Kernel::compile(const Pattern &pattern, const CompileOptions &options) {
  Kernel k;
  k.pattern_ = pattern;
  runtime::CompileRequest req;
  for (auto &[name, value] : options.constants)
    req.bindings.push_back(name + "=" + std::to_string(value));
  req.headDim = options.headDim;
  req.dtype = options.dtype;
  req.arch = options.arch;
  try {
    if (req.arch.empty()) {
      int cc = runtime::Driver::get().computeCapability();
      req.arch = "sm_" + std::to_string(cc) + (cc == 90 ? "a" : "");
    }
    static runtime::KernelRegistry registry;
    std::ostringstream errors;
    k.compiled_ =
        std::make_shared<runtime::CompiledKernel>(runtime::compileKernel(
            *pattern.program_, *pattern.decl_, pattern.frontend_->sources(),
            req, errors, true, options.useCache ? &registry : nullptr));
  } catch (const std::exception &e) {
    throw Error(e.what());
  }
  return k;
}

void Kernel::launch(const AttentionCall &call) {
  try {
    if (!launcher_)
      launcher_ = std::make_shared<runtime::Launcher>(*compiled_);
    launcher_->launch(call);
  } catch (const std::exception &e) {
    throw Error(e.what());
  }
}

} // namespace maskjit
