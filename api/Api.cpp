//===- Api.cpp - The public C++ API ---------------------------------------===//
#include "maskjit/maskjit.h"

#include "maskjit/dsl/BlockMap.h"
#include "maskjit/dsl/Frontend.h"
#include "maskjit/plan/PlanKernel.h"
#include "maskjit/runtime/Attention.h"
#include "maskjit/schedule/ScheduleRemarks.h"

#include <sstream>

namespace maskjit {

struct Pattern::Impl {
  std::shared_ptr<dsl::Frontend> frontend;
  const dsl::Program *program = nullptr;
  const dsl::PatternDecl *decl = nullptr;
};

struct MaskOracle::Impl {
  std::unique_ptr<dsl::MaskEvaluator> evaluator;
};

struct Kernel::Impl {
  std::shared_ptr<Pattern::Impl> pattern;
  runtime::CompiledKernel compiled;
  std::unique_ptr<runtime::Launcher> launcher;
};

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

/// Public params to the front end's bindings, typed by the declaration.
dsl::ParamBindings toBindings(const dsl::PatternDecl &decl,
                              const Params &params) {
  dsl::ParamBindings out;
  for (auto &[name, value] : params.scalars)
    out[name] = dsl::ParamValue::integer(value);
  for (auto &[name, values] : params.arrays) {
    dsl::ParamValue v = dsl::ParamValue::ints(values);
    if (auto i = decl.findParam(name))
      v.type = decl.params[*i].type;
    out[name] = std::move(v);
  }
  return out;
}
} // namespace

MaskOracle::MaskOracle() : impl_(std::make_unique<Impl>()) {}
MaskOracle::~MaskOracle() = default;
MaskOracle::MaskOracle(MaskOracle &&) noexcept = default;

bool MaskOracle::allowed(int64_t q, int64_t k) const {
  try {
    return impl_->evaluator->allowed(q, k);
  } catch (const std::exception &e) {
    throw Error(e.what());
  }
}

Pattern Pattern::fromFile(const std::string &path, const std::string &name) {
  Pattern p;
  p.impl_ = std::make_shared<Impl>();
  p.impl_->frontend = std::make_shared<dsl::Frontend>();
  p.impl_->program = p.impl_->frontend->loadFile(path);
  if (!p.impl_->program)
    throw Error(p.impl_->frontend->diags().str());
  p.impl_->decl = &pick(*p.impl_->program, name);
  return p;
}

Pattern Pattern::fromString(const std::string &text, const std::string &name,
                            const std::string &bufferName) {
  Pattern p;
  p.impl_ = std::make_shared<Impl>();
  p.impl_->frontend = std::make_shared<dsl::Frontend>();
  p.impl_->program = p.impl_->frontend->loadString(bufferName, text);
  if (!p.impl_->program)
    throw Error(p.impl_->frontend->diags().str());
  p.impl_->decl = &pick(*p.impl_->program, name);
  return p;
}

const std::string &Pattern::name() const { return impl_->decl->name; }

MaskOracle Pattern::oracle(int64_t lq, int64_t lk, const Params &params,
                           int64_t head, int64_t batch) const {
  MaskOracle o;
  try {
    o.impl_->evaluator = std::make_unique<dsl::MaskEvaluator>(
        *impl_->program, *impl_->decl, toBindings(*impl_->decl, params),
        dsl::Selections{}, dsl::EvalShape{lq, lk, head, batch});
  } catch (const std::exception &e) {
    throw Error(e.what());
  }
  return o;
}

std::vector<uint8_t> Pattern::blockMap(int64_t lq, int64_t lk, int64_t tileQ,
                                       int64_t tileK, const Params &params,
                                       int64_t head, int64_t batch) const {
  if (lq < 1 || lk < 1)
    throw Error("block map: lengths must be positive, not lq=" +
                std::to_string(lq) + ", lk=" + std::to_string(lk));
  if (tileQ < 1 || tileK < 1)
    throw Error("block map: tiles must be positive, not " +
                std::to_string(tileQ) + " x " + std::to_string(tileK));
  // Bounded up front, as `maskc blocks` is: the map is evaluated pair by
  // pair.
  const int64_t rows = (lq + tileQ - 1) / tileQ,
                cols = (lk + tileK - 1) / tileK;
  if (rows > (int64_t{1} << 26) / cols)
    throw Error("block map: " + std::to_string(rows) + " x " +
                std::to_string(cols) + " tiles is more than 2^26");
  if (lq > (int64_t{1} << 32) / lk)
    throw Error("block map: " + std::to_string(lq) + " x " +
                std::to_string(lk) +
                " pairs is more than the reference evaluates (2^32)");
  MaskOracle o = oracle(lq, lk, params, head, batch);
  try {
    dsl::BlockMap map = dsl::computeBlockMap(*o.impl_->evaluator, tileQ, tileK);
    std::vector<uint8_t> out(map.tiles.size());
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = map.tiles[i] == dsl::TileClass::Empty     ? 0
               : map.tiles[i] == dsl::TileClass::Partial ? 1
                                                         : 2;
    return out;
  } catch (const std::exception &e) {
    throw Error(e.what());
  }
}

Kernel Kernel::compile(const Pattern &pattern, const CompileOptions &options) {
  Kernel k;
  k.impl_ = std::make_shared<Impl>();
  k.impl_->pattern = pattern.impl_;
  plan::KernelRequest req;
  req.constants = options.constants;
  req.headDim = options.headDim;
  req.dtype = options.dtype;
  req.arch = options.arch;
  req.kernel = options.kernel;
  try {
    if (req.arch.empty()) {
      int cc = runtime::Driver::get().computeCapability();
      req.arch = "sm_" + std::to_string(cc) + (cc == 90 ? "a" : "");
    }
    static runtime::KernelRegistry registry;
    std::ostringstream errors;
    const Pattern::Impl &p = *pattern.impl_;
    k.impl_->compiled = plan::compileKernel(
        *p.program, *p.decl, p.frontend->sources(), req, errors, true,
        options.useCache ? &registry : nullptr);
  } catch (const std::exception &e) {
    throw Error(e.what());
  }
  return k;
}

const std::string &Kernel::ptx() const { return impl_->compiled.ptx; }
const std::string &Kernel::cudaSource() const {
  return impl_->compiled.source.code;
}
const std::string &Kernel::cacheKey() const { return impl_->compiled.cacheKey; }
std::string Kernel::family() const {
  return codegen::kernelFamilyName(impl_->compiled.source.family);
}

namespace {
runtime::AttentionCall toRuntime(const AttentionCall &call) {
  runtime::AttentionCall c;
  c.batch = call.batch;
  c.heads = call.heads;
  c.kvHeads = call.kvHeads;
  c.lq = call.lq;
  c.lk = call.lk;
  c.q = call.q;
  c.k = call.k;
  c.v = call.v;
  c.o = call.o;
  c.lse = call.lse;
  for (int i = 0; i < 3; ++i) {
    c.qStrides[i] = call.qStrides[i];
    c.kStrides[i] = call.kStrides[i];
    c.vStrides[i] = call.vStrides[i];
    c.oStrides[i] = call.oStrides[i];
  }
  c.softmaxScale = call.softmaxScale;
  for (auto &[name, value] : call.params.scalars)
    c.runtimeValues[name] = {false, value, {}};
  for (auto &[name, values] : call.params.arrays)
    c.runtimeValues[name] = {true, 0, values};
  c.selections.columns = call.columns;
  c.selections.diagonals = call.diagonals;
  c.selections.blocks = call.blocks;
  for (const HeadSets &h : call.headSets) {
    Selections sel;
    sel.columns = h.columns;
    sel.diagonals = h.diagonals;
    if (!h.blocks.empty())
      sel.blocks = h.blocks;
    c.headSelections.push_back(std::move(sel));
  }
  c.stream = call.stream;
  return c;
}
} // namespace

void Kernel::launch(const AttentionCall &call) {
  try {
    if (!impl_->launcher)
      impl_->launcher = std::make_unique<runtime::Launcher>(impl_->compiled);
    impl_->launcher->launch(toRuntime(call));
  } catch (const std::exception &e) {
    throw Error(e.what());
  }
}

void Kernel::backward(const AttentionCall &call, const BackwardCall &grads) {
  try {
    if (!impl_->launcher)
      impl_->launcher = std::make_unique<runtime::Launcher>(impl_->compiled);
    runtime::BackwardCall g;
    g.dout = grads.dout;
    g.dq = grads.dq;
    g.dk = grads.dk;
    g.dv = grads.dv;
    for (int i = 0; i < 3; ++i) {
      g.doStrides[i] = grads.doStrides[i];
      g.dqStrides[i] = grads.dqStrides[i];
      g.dkStrides[i] = grads.dkStrides[i];
      g.dvStrides[i] = grads.dvStrides[i];
    }
    impl_->launcher->backward(toRuntime(call), g);
  } catch (const std::exception &e) {
    throw Error(e.what());
  }
}

std::vector<HeadSets> Kernel::estimatedSets() const {
  std::vector<HeadSets> out;
  if (!impl_->launcher)
    return out;
  for (const Selections &sel : impl_->launcher->estimatedSets())
    out.push_back({sel.columns.value_or(std::vector<int64_t>{}),
                   sel.diagonals.value_or(std::vector<int64_t>{}),
                   sel.blocks.value_or(std::vector<std::vector<int64_t>>{})});
  return out;
}

std::vector<ScheduleRemark> Kernel::scheduleRemarks(int64_t lq, int64_t lk,
                                                    const Params &params,
                                                    int64_t head) const {
  if (lq < 1 || lk < 1)
    throw Error("schedule remarks: lengths must be positive, not lq=" +
                std::to_string(lq) + ", lk=" + std::to_string(lk));
  const runtime::CompiledKernel &c = impl_->compiled;
  const dsl::PatternDecl &decl = *impl_->pattern->decl;
  // Values as a launch binds them for this head: scalars, a head's entry
  // of each `int[heads]` array, the other arrays whole.
  std::map<std::string, int64_t> values = params.scalars;
  for (const dsl::ParamDecl &p : decl.params)
    if (p.runtime && p.defaultConstant && !values.count(p.name))
      values[p.name] = *p.defaultConstant; // as a launch does
  values["h"] = head;
  values["b"] = 0;
  std::map<std::string, std::vector<int64_t>> arrays;
  for (const auto &[name, v] : params.arrays) {
    bool perHead = false;
    for (const dsl::ParamDecl &p : decl.params)
      perHead |= p.name == name && p.type == dsl::Type::HeadArray;
    arrays[name] = v; // the predicate reads `w[h]` from the whole array
    if (!perHead)
      continue;
    if (head < 0 || head >= static_cast<int64_t>(v.size()))
      throw Error("schedule remarks: `" + name + "` has no value for head " +
                  std::to_string(head));
    values[name] = v[static_cast<size_t>(head)];
  }
  if (auto trap = mask::predicateTrap(c.schedule, values, lq, lk, arrays))
    throw Error(*trap);
  std::string error;
  auto bound = mask::bindSchedule(c.schedule, values, lq, lk, c.source.tileM,
                                  c.source.tileN, error, arrays);
  if (!bound)
    throw Error("schedule remarks: " + error);
  std::vector<ScheduleRemark> out;
  for (const mask::ScheduleRemark &r :
       mask::scheduleRemarks(c.schedule, *bound))
    out.push_back({r.where, r.message});
  return out;
}

namespace gpu {
template <typename F> static auto wrap(F f) {
  try {
    return f(runtime::Driver::get());
  } catch (const std::exception &e) {
    throw Error(e.what());
  }
}
bool available() {
  try {
    runtime::Driver::get();
    return true;
  } catch (const std::exception &) {
    return false;
  }
}
uint64_t alloc(size_t bytes) {
  return wrap([&](runtime::Driver &d) { return d.alloc(bytes); });
}
void free(uint64_t ptr) {
  wrap([&](runtime::Driver &d) { d.free(ptr); });
}
void upload(uint64_t dst, const void *src, size_t bytes) {
  wrap([&](runtime::Driver &d) { d.upload(dst, src, bytes); });
}
void download(void *dst, uint64_t src, size_t bytes) {
  wrap([&](runtime::Driver &d) { d.download(dst, src, bytes); });
}
void synchronize() {
  wrap([&](runtime::Driver &d) { d.synchronize(); });
}
} // namespace gpu

bool nvrtcAvailable() { return runtime::Nvrtc::available(); }
std::string nvrtcUnavailableReason() {
  try {
    runtime::Nvrtc::get();
    return "";
  } catch (const std::exception &e) {
    return e.what();
  }
}

} // namespace maskjit
