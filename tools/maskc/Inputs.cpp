//===- Inputs.cpp - Options shared by maskc commands ----------------------===//
#include "Inputs.h"

#include "maskjit/support/InputFile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace maskjit::maskc {

bool useColor(const CommonOptions &common) {
  if (common.color == "always")
    return true;
  if (common.color == "never")
    return false;
  const char *term = std::getenv("TERM");
  return isatty(STDERR_FILENO) && !std::getenv("NO_COLOR") &&
         !(term && std::string(term) == "dumb");
}

const dsl::Program *loadProgram(dsl::Frontend &fe, const std::string &file,
                                const CommonOptions &common) {
  const dsl::Program *program = fe.loadFile(file);
  fe.diags().print(std::cerr, useColor(common));
  return program;
}

const dsl::PatternDecl &choosePattern(const dsl::Program &program,
                                      const std::string &name) {
  auto main = program.mainPatterns();
  if (!name.empty()) {
    if (const dsl::PatternDecl *p = program.find(name))
      return *p;
    std::vector<std::string> names;
    for (auto &[n, p] : program.patterns)
      names.push_back(n);
    std::string msg = "no pattern named `" + name + "`";
    if (auto best = dsl::closestName(name, names))
      msg += "; did you mean `" + *best + "`?";
    else {
      msg += "; the file defines:";
      for (auto &n : names)
        msg += " " + n;
    }
    throw UsageError(msg);
  }
  if (main.empty())
    throw UsageError("the file defines no pattern");
  if (main.size() > 1) {
    std::string msg = "the file defines several patterns; choose one with "
                      "--pattern:";
    for (auto *p : main)
      msg += " " + p->name;
    throw UsageError(msg);
  }
  return *main.front();
}

namespace {
/// The content of an `@FILE` argument (a regular file or a pipe, 256 MiB at
/// most), or a usage error naming the option.
std::string readArgumentFile(const std::string &path, const std::string &what) {
  support::InputLimits limits;
  limits.allowStreams = true;
  limits.maxBytes = size_t{256} << 20;
  std::string text, error;
  if (!support::readInputFile(path, text, error, limits))
    throw UsageError("cannot read " + what + " from '" + path + "': " + error);
  return text;
}
} // namespace

std::vector<int64_t> parseIntList(const std::string &text,
                                  const std::string &what) {
  std::string body = text;
  if (!text.empty() && text[0] == '@') {
    std::istringstream in(readArgumentFile(text.substr(1), what));
    std::ostringstream ss;
    std::string line;
    while (std::getline(in, line)) {
      auto hash = line.find('#');
      if (hash != std::string::npos)
        line.resize(hash);
      ss << line << '\n';
    }
    body = ss.str();
  }
  std::vector<int64_t> out;
  size_t i = 0;
  // A comma stands between two values: `1,,2`, `,1` and `1,` have an
  // empty element (whitespace alone also separates, as in a file).
  bool valueSinceComma = false;
  auto emptyElement = [&]() {
    throw UsageError("empty element in " + what + " ('" +
                     (text.size() > 40 ? text.substr(0, 40) + "..." : text) +
                     "')");
  };
  while (i < body.size()) {
    char c = body[i];
    if (c == ',') {
      if (!valueSinceComma)
        emptyElement();
      valueSinceComma = false;
      ++i;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    valueSinceComma = true;
    size_t j = i;
    if (body[j] == '-' || body[j] == '+')
      ++j;
    while (j < body.size() && body[j] >= '0' && body[j] <= '9')
      ++j;
    std::string tok = body.substr(i, j - i);
    errno = 0;
    char *end = nullptr;
    long long v = std::strtoll(tok.c_str(), &end, 10);
    if (tok.empty() || tok == "-" || tok == "+" || *end != '\0' ||
        errno == ERANGE ||
        (j < body.size() && body[j] != ',' && body[j] != ' ' &&
         body[j] != '\t' && body[j] != '\n' && body[j] != '\r')) {
      size_t stop = body.find_first_of(", \t\r\n", i);
      throw UsageError("invalid integer '" + body.substr(i, stop - i) +
                       "' in " + what);
    }
    out.push_back(v);
    i = j;
  }
  if (!out.empty() && !valueSinceComma)
    emptyElement();
  return out;
}

namespace {

std::pair<std::string, std::string> splitAssign(const std::string &s,
                                                const char *option) {
  auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError(std::string(option) + " expects name=value, got '" + s +
                     "'");
  return {s.substr(0, eq), s.substr(eq + 1)};
}

int64_t parseInt(const std::string &s, const std::string &what) {
  std::vector<int64_t> v = parseIntList(s, what);
  if (v.size() != 1 || s.empty() || s[0] == '@')
    throw UsageError(what + " must be one integer, got '" + s + "'");
  return v[0];
}

} // namespace

SplitSets splitSets(const dsl::PatternDecl &pattern,
                    const std::vector<std::string> &sets) {
  SplitSets out;
  for (const std::string &s : sets) {
    auto [name, value] = splitAssign(s, "--set");
    std::string what = "--set " + name;
    auto idx = pattern.findParam(name);
    if (!idx) {
      std::vector<std::string> names;
      for (const dsl::ParamDecl &p : pattern.params)
        names.push_back(p.name);
      std::string msg =
          "pattern `" + pattern.name + "` has no parameter `" + name + "`";
      if (auto best = dsl::closestName(name, names))
        msg += "; did you mean `" + *best + "`?";
      throw UsageError(msg);
    }
    if (out.all.count(name))
      throw UsageError("--set " + name + " is given twice");
    const dsl::ParamDecl &p = pattern.params[*idx];
    dsl::ParamValue v;
    switch (p.type) {
    case dsl::Type::Bool:
      if (value != "true" && value != "false" && value != "1" && value != "0")
        throw UsageError(what + " expects true or false, got '" + value + "'");
      v = dsl::ParamValue::boolean(value == "true" || value == "1");
      break;
    case dsl::Type::IntArray:
    case dsl::Type::HeadArray:
      v = dsl::ParamValue::ints(parseIntList(value, what));
      v.type = p.type;
      break;
    default:
      v = dsl::ParamValue::integer(parseInt(value, what));
    }
    out.all[name] = v;
    if (p.type == dsl::Type::IntArray || p.type == dsl::Type::HeadArray ||
        p.runtime)
      out.runtime[name] = v;
    else
      out.constants[name] = v.scalar;
  }
  return out;
}

std::vector<dsl::Selections>
parseHeadSets(const std::vector<std::string> &selects) {
  std::vector<dsl::Selections> heads;
  for (const std::string &s : selects) {
    auto [name, value] = splitAssign(s, "--select");
    if (name != "sets")
      continue;
    if (value.empty() || value[0] != '@')
      throw UsageError("--select sets=@FILE takes the JSON file `maskc run "
                       "--export-sets` writes");
    const std::string path = value.substr(1);
    nlohmann::json j = nlohmann::json::parse(
        readArgumentFile(path, "--select sets"), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("heads") ||
        !j["heads"].is_array())
      throw UsageError(
          "'" + path +
          "' is not a sets file (expected {\"heads\": [{\"columns\": "
          "[...], \"diagonals\": [...]}, ...]})");
    heads.clear();
    for (const nlohmann::json &h : j["heads"]) {
      dsl::Selections sel;
      for (const char *key : {"columns", "diagonals"}) {
        if (!h.is_object() || !h.contains(key))
          continue;
        const nlohmann::json &list = h[key];
        std::vector<int64_t> v;
        for (const nlohmann::json &x : list) {
          if (!x.is_number_integer())
            throw UsageError("'" + path + "': " + key +
                             " must be lists of integers");
          v.push_back(x.get<int64_t>());
        }
        (std::string(key) == "columns" ? sel.columns : sel.diagonals) =
            std::move(v);
      }
      if (h.is_object() && h.contains("blocks")) {
        std::vector<std::vector<int64_t>> rows;
        for (const nlohmann::json &row : h["blocks"]) {
          rows.emplace_back();
          for (const nlohmann::json &x : row) {
            if (!x.is_number_integer())
              throw UsageError("'" + path +
                               "': blocks must be lists of lists of integers");
            rows.back().push_back(x.get<int64_t>());
          }
        }
        sel.blocks = std::move(rows);
      }
      heads.push_back(std::move(sel));
    }
  }
  return heads;
}

dsl::Selections parseSelections(const std::vector<std::string> &selects,
                                int64_t head) {
  dsl::Selections sel;
  std::vector<dsl::Selections> heads = parseHeadSets(selects);
  if (!heads.empty()) {
    if (head < 0 || head >= static_cast<int64_t>(heads.size()))
      throw UsageError("--select sets: the file has sets for " +
                       std::to_string(heads.size()) + " heads, not for head " +
                       std::to_string(head));
    sel = heads[head];
  }
  for (const std::string &s : selects) {
    auto [name, value] = splitAssign(s, "--select");
    if (name == "sets") {
      continue;
    } else if (name == "columns") {
      sel.columns = parseIntList(value, "--select columns");
    } else if (name == "diagonals") {
      sel.diagonals = parseIntList(value, "--select diagonals");
    } else if (name == "blocks") {
      // One list per query block, separated by ';' (or one line each in a
      // file).
      std::string body = value;
      if (!value.empty() && value[0] == '@') {
        std::istringstream in(
            readArgumentFile(value.substr(1), "--select blocks"));
        std::ostringstream ss;
        std::string line;
        while (std::getline(in, line))
          ss << line << ';';
        body = ss.str();
        if (!body.empty())
          body.pop_back();
      }
      std::vector<std::vector<int64_t>> blocks;
      std::stringstream ss(body);
      std::string part;
      while (std::getline(ss, part, ';'))
        blocks.push_back(parseIntList(part, "--select blocks"));
      sel.blocks = std::move(blocks);
    } else {
      throw UsageError("--select: unknown selector '" + name +
                       "' (expected columns, diagonals, blocks or sets)");
    }
  }
  return sel;
}

void checkSelectionsApply(const dsl::Selections &sel,
                          const dsl::Program &program,
                          const dsl::PatternDecl &pattern) {
  const std::vector<dsl::Builtin> used = dsl::selectorsUsed(program, pattern);
  auto has = [&](dsl::Builtin b) {
    return std::find(used.begin(), used.end(), b) != used.end();
  };
  const std::pair<bool, dsl::Builtin> given[] = {
      {sel.columns.has_value(), dsl::Builtin::TopkColumns},
      {sel.diagonals.has_value(), dsl::Builtin::TopkDiagonals},
      {sel.blocks.has_value(), dsl::Builtin::TopkBlocks}};
  for (const auto &[present, b] : given) {
    if (!present || has(b))
      continue;
    std::string list;
    for (dsl::Builtin u : used)
      list += std::string(list.empty() ? "" : ", ") + dsl::builtinName(u);
    throw UsageError(
        "--select: pattern `" + pattern.name + "` has no `" +
        dsl::builtinName(b) + "` to choose for (" +
        (list.empty() ? "it uses no dynamic selector" : "it uses " + list) +
        ")");
  }
}

std::unique_ptr<dsl::MaskEvaluator>
makeEvaluator(const dsl::Program &program, const dsl::PatternDecl &pattern,
              const MaskOptions &opts, const dsl::Selections *selections) {
  dsl::ParamBindings params = splitSets(pattern, opts.sets).all;
  dsl::Selections sel =
      selections ? *selections : parseSelections(opts.selects, opts.head);
  checkSelectionsApply(sel, program, pattern);
  if (opts.lq < 0 || opts.lk < -1)
    throw UsageError("sequence lengths must not be negative");
  dsl::EvalShape shape{opts.lq, opts.lk < 0 ? opts.lq : opts.lk, opts.head,
                       opts.batchIndex};
  return std::make_unique<dsl::MaskEvaluator>(program, pattern, params, sel,
                                              shape);
}

void reportMaskError(dsl::Frontend &fe, const dsl::MaskError &err,
                     const CommonOptions &common) {
  dsl::DiagnosticEngine diags(fe.sources());
  if (err.loc)
    diags.error(*err.loc, err.what());
  else
    diags.error(err.what());
  diags.print(std::cerr, useColor(common));
}

} // namespace maskjit::maskc
