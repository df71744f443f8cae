//===- Frontend.cpp - Parse files and follow imports ----------------------===//
#include "maskjit/dsl/Frontend.h"

#include "ParseContext.h"
#include "Parser.hpp"

#include <filesystem>

// Declared by the Flex scanner (prefix maskjit_yy).
typedef void *yyscan_t;
int maskjit_yylex_init_extra(maskjit::dsl::detail::ParseContext *, yyscan_t *);
int maskjit_yylex_destroy(yyscan_t);
struct yy_buffer_state;
yy_buffer_state *maskjit_yy_scan_bytes(const char *, int, yyscan_t);

namespace maskjit::dsl {

std::unique_ptr<Module> parseModule(uint32_t file, const SourceManager &sources,
                                    DiagnosticEngine &diags) {
  auto module = std::make_unique<Module>();
  module->file = file;
  const std::string &text = sources.text(file);
  if (text.size() > (64u << 20)) {
    diags.error(Location{{file, 1, 1}, {file, 1, 1}},
                "file is larger than 64 MiB; not a .mask file?");
    return module;
  }
  detail::ParseContext ctx{diags, *module, nullptr, {}, false, false, false};
  ctx.loc.begin = ctx.loc.end = Position{file, 1, 1};
  yyscan_t scanner = nullptr;
  maskjit_yylex_init_extra(&ctx, &scanner);
  ctx.scanner = scanner;
  maskjit_yy_scan_bytes(text.data(), static_cast<int>(text.size()), scanner);
  detail::Parser parser(ctx);
  parser.parse();
  maskjit_yylex_destroy(scanner);
  return module;
}

Frontend::Frontend(FrontendOptions options)
    : options_(std::move(options)), diags_(sources_) {}
Frontend::~Frontend() = default;

const Program *Frontend::loadFile(const std::string &path) {
  std::string error;
  // The file named on the command line may be a pipe (`/dev/stdin`); an
  // import is a regular file.
  std::optional<uint32_t> file =
      sources_.addFile(path, error, /*allowStreams=*/true);
  if (!file) {
    diags_.error("cannot open '" + path + "': " + error);
    return nullptr;
  }
  return load(*file);
}

const Program *Frontend::loadString(const std::string &name,
                                    const std::string &text) {
  return load(sources_.addBuffer(name, text));
}

const Program *Frontend::load(uint32_t file) {
  program_ = std::make_unique<Program>();
  parseWithImports(file, 0);
  // Sema also runs after syntax errors, on what parsed, so that one run
  // reports as many independent problems as it can.
  checkProgram(*program_, diags_);
  if (!diags_.hasErrors())
    checkInlinedSize(*program_, diags_);
  return diags_.hasErrors() ? nullptr : program_.get();
}

void Frontend::parseWithImports(uint32_t file, unsigned depth) {
  namespace fs = std::filesystem;
  program_->modules.push_back(parseModule(file, sources_, diags_));
  Module &module = *program_->modules.back();
  fs::path dir = fs::path(sources_.name(file)).parent_path();
  for (const ImportDecl &imp : module.imports) {
    if (depth + 1 > options_.maxImportDepth) {
      diags_.error(imp.loc, "imports are nested too deeply (the limit is " +
                                std::to_string(options_.maxImportDepth) + ")");
      continue;
    }
    if (imp.path.empty()) {
      diags_.error(imp.loc, "empty import path");
      continue;
    }
    std::vector<fs::path> candidates;
    fs::path p(imp.path);
    if (p.is_absolute()) {
      candidates.push_back(p);
    } else {
      candidates.push_back(dir / p);
      for (const std::string &d : options_.importDirs)
        candidates.push_back(fs::path(d) / p);
    }
    std::optional<uint32_t> found;
    std::string lastError = "no such file";
    for (const fs::path &c : candidates) {
      std::error_code ec;
      if (!fs::exists(c, ec))
        continue;
      fs::path canon = fs::weakly_canonical(c, ec);
      if (auto already =
              sources_.findByPath(ec ? c.string() : canon.string())) {
        found = already; // Read once: cycles and diamonds are fine.
        break;
      }
      std::string err;
      if (auto id = sources_.addFile(c.string(), err)) {
        parseWithImports(*id, depth + 1);
        found = id;
        break;
      }
      lastError = err;
    }
    if (!found) {
      Diagnostic &d = diags_.error(imp.loc, "cannot import \"" + imp.path +
                                                "\": " + lastError);
      d.message +=
          " (searched " + (dir.empty() ? std::string(".") : dir.string());
      for (const std::string &s : options_.importDirs)
        d.message += ", " + s;
      d.message += ")";
    }
  }
}

} // namespace maskjit::dsl
