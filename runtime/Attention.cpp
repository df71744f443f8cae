//===- Attention.cpp - Compile a pattern to a kernel, and launch it -------===//
#include "maskjit/runtime/Attention.h"

#include "maskjit/codegen/RowMask.h"
#include "maskjit/compiler/MaskDialect.h"
#include "maskjit/compiler/Pipeline.h"
#include "maskjit/runtime/GpuEstimators.h"
#include "maskjit/runtime/GpuScheduleBuilder.h"
#include "maskjit/runtime/KernelAbi.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>

namespace maskjit::runtime {

const char *maskjitVersion() { return "0.1.0"; }

CompiledKernel
compileKernel(const dsl::Program &program, const dsl::PatternDecl &pattern,
              const dsl::SourceManager &sources, const CompileRequest &request,
              std::ostream &errors, bool compile, KernelRegistry *registry) {
  if (request.headDim != 64 && request.headDim != 128)
    throw std::invalid_argument(
        "the portable kernel supports head_dim 64 and 128, not " +
        std::to_string(request.headDim));
  if (request.dtype != "bf16" && request.dtype != "fp16")
    throw std::invalid_argument("dtype must be bf16 or fp16, not " +
                                request.dtype);
  codegen::KernelConfig config{request.headDim, request.dtype, request.tileM,
                               codegen::defaultKernelFamily(request.arch)};
  config.tileN = request.tileN;
  if (request.kernel == "portable")
    config.family = codegen::KernelFamily::Portable;
  else if (request.kernel == "hopper") {
    if (codegen::defaultKernelFamily(request.arch) !=
        codegen::KernelFamily::Hopper)
      throw std::invalid_argument("the Hopper kernel needs --arch sm_90a (or "
                                  "compute_90a), not " +
                                  request.arch);
    config.family = codegen::KernelFamily::Hopper;
  } else if (request.kernel != "auto")
    throw std::invalid_argument(
        "kernel must be auto, portable or hopper, not " + request.kernel);
  codegen::checkTiles(config);
  CompiledKernel out;
  out.pattern = &pattern;
  out.arch = request.arch;
  mlir::MLIRContext context;
  mask::CompileOptions opts;
  opts.bindings = request.bindings;
  opts.headDim = request.headDim;
  opts.dtype = request.dtype;
  opts.tileM = codegen::kernelTileM(config);
  opts.tileN = codegen::kernelTileN(config);
  std::ostringstream diagnostics;
  auto module = mask::compilePattern(context, program, pattern, sources, opts,
                                     mask::Stage::EmitC, diagnostics);
  errors << diagnostics.str();
  if (!module) {
    std::string text = diagnostics.str();
    while (!text.empty() && text.back() == '\n')
      text.pop_back();
    throw std::runtime_error("the compiler failed on pattern `" + pattern.name +
                             "`:\n" + text);
  }
  mask::PatternOp op = *module->getOps<mask::PatternOp>().begin();
  auto sym =
      mask::fromAttr(op->getAttrOfType<mlir::DictionaryAttr>("mask.schedule"));
  if (!sym)
    throw std::runtime_error("internal error: no schedule for `" +
                             pattern.name + "`");
  out.schedule = *sym;
  for (const dsl::ParamDecl &p : pattern.params)
    out.scheduleNeedsHead |= p.type == dsl::Type::HeadArray;
  // Whether the schedule's atoms or the predicate its exact tiers read name
  // a symbol.
  auto scheduleReads = [&](const std::string &symbol) {
    for (const auto *dnf : {&out.schedule.clauses, &out.schedule.complement})
      for (const mask::SymClause &c : *dnf)
        for (const mask::SymAtom &t : c)
          for (const mask::SymExpr *e : {&t.rhs, &t.offset})
            for (auto &[name, coef] : e->terms)
              if (name == symbol)
                return true;
    for (const std::string &name : out.schedule.predicate.names)
      if (name == symbol)
        return true;
    return false;
  };
  // Per-head dispatch puts the head index in the schedule.
  out.scheduleNeedsHead |= scheduleReads("h");
  // The selectors' arguments, from the specialized pattern (the EmitC stage
  // has lowered the selector ops away).
  if (!dsl::selectorsUsed(program, pattern).empty()) {
    mlir::MLIRContext argsContext;
    std::ostringstream ignored;
    auto specialized =
        mask::compilePattern(argsContext, program, pattern, sources, opts,
                             mask::Stage::Specialized, ignored);
    if (specialized)
      specialized->walk([&](mask::InSelectedOp sel) {
        auto count = sel.getCount().getDefiningOp<mlir::arith::ConstantIntOp>();
        auto arg = sel.getArg().getDefiningOp<mlir::arith::ConstantIntOp>();
        const std::string name = sel.getSelector().str();
        if (!count || !arg) {
          out.selectorArgsError = name + "'s arguments are not compile-time";
          return;
        }
        std::pair<int64_t, int64_t> v{count.value(), arg.value()};
        auto [it, inserted] = out.selectorArgs.emplace(name, v);
        if (!inserted && it->second != v)
          out.selectorArgsError =
              name + " is used with different arguments in one pattern";
      });
  }
  // Block top-k in blocks smaller than 128 on Hopper: 128 x 128 tiles would
  // hold mostly pairs no query block chose; the 64 x 64 kernel visits just
  // the chosen blocks (unless the caller asked for a tile size). Dilated
  // patterns load every tile by index and mask it by the predicate, which
  // the 128 x 128 kernel cannot do without spilling registers.
  if (config.family == codegen::KernelFamily::Hopper && request.tileM == 0 &&
      request.tileN == 0 && out.selectorArgsError.empty()) {
    auto [keep, block] = out.selectorArg("topk_blocks");
    if ((keep > 0 && block % 128 != 0) ||
        mask::scheduleDilation(out.schedule) > 1) {
      CompileRequest small = request;
      small.tileM = 64;
      return compileKernel(program, pattern, sources, small, errors, compile,
                           registry);
    }
  }
  std::string predicate;
  std::ostringstream cppErrors;
  if (!mask::translatePredicates(*module, predicate, cppErrors))
    throw std::runtime_error(cppErrors.str());
  // A dilated pattern runs each class of positions on its own; its tiles
  // are then not of consecutive keys, which the row mask assumes.
  config.dilation = mask::scheduleDilation(out.schedule);
  // PARTIAL tiles read bits built per schedule, whose rows are per head
  // where the schedule is, never per sequence: not for a predicate that
  // reads the batch index.
  config.tileBits = !out.schedule.predicate.empty() && !scheduleReads("b");
  // PARTIAL tiles are masked a row at a time where the DNF allows it.
  out.source = codegen::buildKernelSource(
      pattern, dsl::selectorsUsed(program, pattern), predicate, config,
      config.dilation > 1
          ? std::string()
          : codegen::rowMaskFunction(
                out.schedule, pattern, nullptr,
                {codegen::kernelTileM(config), codegen::kernelTileN(config)}));
  if (compile) {
    // The key covers what decides the binary: the generated source (pattern,
    // bindings, head_dim, dtype, template), the arch and both versions.
    std::string versions = "arch=" + request.arch +
                           "\nmaskjit=" + maskjitVersion() +
                           "\nnvrtc=" + Nvrtc::get().version();
    std::string material = out.source.code + "\n//arch=" + request.arch +
                           "\n//maskjit=" + maskjitVersion() +
                           "\n//nvrtc=" + Nvrtc::get().version();
    // Kernel development: extra NVRTC options (e.g. -D switches), part of
    // the key like everything else that changes the binary.
    std::vector<std::string> options = {"-lineinfo"};
    if (const char *extra = std::getenv("MASKJIT_NVRTC_FLAGS")) {
      std::istringstream words(extra);
      for (std::string w; words >> w;)
        options.push_back(w);
      material += "\n//flags=" + std::string(extra);
      versions += "\nflags=" + std::string(extra);
      out.nvrtcFlags = extra;
    }
    out.cacheKey = contentHash(material);
    // What the entry must record to be loaded under this key.
    const std::string identity =
        "source=" + contentDigest128(material) + "\n" + versions;
    auto build = [&] {
      Nvrtc::Output o = Nvrtc::get().compile(
          out.source.code, pattern.name + ".cu", request.arch, options);
      return KernelBinary{std::move(o.ptx), std::move(o.cubin),
                          std::move(o.log)};
    };
    std::shared_ptr<const KernelBinary> bin;
    out.registry = registry;
    if (registry) {
      bin =
          registry->getOrBuild(out.cacheKey, build, &out.cacheSource, identity);
    } else {
      bin = std::make_shared<KernelBinary>(build());
    }
    out.ptx = bin->ptx;
    out.cubin = bin->cubin;
    out.nvrtcLog = bin->meta;
  }
  return out;
}

Launcher::Launcher(const CompiledKernel &kernel) : kernel_(kernel) {
  Driver &d = Driver::get();
  const void *image = kernel.cubin.empty()
                          ? static_cast<const void *>(kernel.ptx.c_str())
                          : static_cast<const void *>(kernel.cubin.data());
  module_ = d.loadModule(image);
  function_ = d.function(module_, kernel.source.kernelName.c_str());
  d.setMaxDynamicShared(function_, kernel.source.sharedBytes);
  threads_ = kernel.source.threads;
  if (kernel.source.family == codegen::KernelFamily::Hopper) {
    // A kernel experiment may declare another block size in its launch
    // bounds (bench/experiments/: MJ_EXP_NO_WS, no producer warpgroup); the
    // default kernels run the source's count (a warp-specialized kernel traps
    // on another).
    if (!kernel.nvrtcFlags.empty())
      threads_ = d.maxThreadsPerBlock(function_);
    workCounter_ = d.alloc(4);
  }
  if (kernel.source.tileBits)
    tileBitsFn_ = d.function(module_, "maskjit_tile_bits");
}

Launcher::~Launcher() {
  try {
    Driver &d = Driver::get();
    d.free(segPtr_);
    d.free(segs_);
    d.free(gatherPtr_);
    d.free(gatherKeys_);
    d.free(workCounter_);
  } catch (...) {
  }
}

namespace {
/// Whether two calls need the same schedule and predicate arguments: same
/// lengths, heads, runtime values and chosen sets. A direct comparison (no
/// string building) keeps the per-launch check cheap on the hot path.
bool sameInputs(const AttentionCall &a, const AttentionCall &b) {
  if (a.lq != b.lq || a.lk != b.lk || a.heads != b.heads ||
      a.runtimeValues.size() != b.runtimeValues.size() ||
      a.selections.columns != b.selections.columns ||
      a.selections.diagonals != b.selections.diagonals ||
      a.selections.blocks != b.selections.blocks ||
      a.headSelections.size() != b.headSelections.size())
    return false;
  for (size_t h = 0; h < a.headSelections.size(); ++h)
    if (a.headSelections[h].columns != b.headSelections[h].columns ||
        a.headSelections[h].diagonals != b.headSelections[h].diagonals ||
        a.headSelections[h].blocks != b.headSelections[h].blocks)
      return false;
  for (auto ia = a.runtimeValues.begin(), ib = b.runtimeValues.begin();
       ia != a.runtimeValues.end(); ++ia, ++ib)
    if (ia->first != ib->first || ia->second.type != ib->second.type ||
        ia->second.scalar != ib->second.scalar ||
        ia->second.array != ib->second.array)
      return false;
  return true;
}
} // namespace

// The Hopper kernel copies key tiles with the TMA: one tensor map each for
// K and V, dimensions (head_dim, then sequence, head and batch in order of
// stride), a box of 64 columns by one tile of keys. Encoded again only when
// the K/V tensors' pointers or layout change (a model's repeated call keeps
// them, and the encoding is a good part of a small launch's host cost).
void Launcher::encodeTensorMaps(const AttentionCall &c, KernelParams &p) {
  TensorMapInputs in{c.k, c.v, c.lk, c.kvHeads, c.batch, {}, {}};
  std::memcpy(in.kStrides, c.kStrides, sizeof in.kStrides);
  std::memcpy(in.vStrides, c.vStrides, sizeof in.vStrides);
  if (!hasMaps_ || std::memcmp(&in, &mapsOf_, sizeof in) != 0) {
    auto encode = [&](unsigned char *map, Driver::DevicePtr base,
                      const int64_t *strides) {
      mask::TmaLayout t =
          mask::tmaLayout(c.lk, c.kvHeads, c.batch, strides,
                          kernel_.source.headDim, kernel_.source.tileN);
      mapDims_[0] = t.seqDim;
      mapDims_[1] = t.headDim;
      mapDims_[2] = t.batchDim;
      Driver::get().encodeTensorMap16(map, base, 4, t.extents, t.strideBytes,
                                      t.box);
    };
    hasMaps_ = false; // until both are encoded
    encode(maps_.k, c.k, c.kStrides);
    encode(maps_.v, c.v, c.vStrides);
    mapsOf_ = in;
    hasMaps_ = true;
  }
  p.tmaSeqDim = mapDims_[0];
  p.tmaHeadDim = mapDims_[1];
  p.tmaBatchDim = mapDims_[2];
}

void Launcher::launch(const AttentionCall &c) {
  if (c.batch <= 0 || c.heads <= 0 || c.kvHeads <= 0 || c.lq <= 0 || c.lk <= 0)
    throw std::invalid_argument(
        "batch, heads, kv_heads, Lq and Lk must be positive");
  if (c.heads % c.kvHeads != 0)
    throw std::invalid_argument("heads (" + std::to_string(c.heads) +
                                ") must be a multiple of kv_heads (" +
                                std::to_string(c.kvHeads) + ")");
  if (c.lq > (int64_t{1} << 30) || c.lk > (int64_t{1} << 30))
    throw std::invalid_argument("sequence length over the limit of 2^30");
  if (!c.q || !c.k || !c.v || !c.o || !c.lse)
    throw std::invalid_argument("null tensor pointer");
  for (Driver::DevicePtr p : {c.q, c.k, c.v, c.o})
    if (p % 16 != 0)
      throw std::invalid_argument("tensor pointers must be 16-byte aligned");
  for (const int64_t *s : {c.qStrides, c.kStrides, c.vStrides, c.oStrides})
    for (int i = 0; i < 3; ++i)
      if (s[i] % 8 != 0)
        throw std::invalid_argument("strides must be multiples of 8 elements");
  estimate(c);

  if (deviceSets_ || deviceBlocks_ || !hasPrepared_ ||
      !sameInputs(c, prepared_)) {
    auto t0 = std::chrono::steady_clock::now();
    untimedMs_ = 0;
    prepare(c);
    buildMs_ = std::chrono::duration<double, std::milli>(
                   std::chrono::steady_clock::now() - t0)
                   .count() -
               untimedMs_;
  }

  // maskjit_params, laid out as the kernel declares it.
  using Params = KernelParams;
  argBuffer_.resize(sizeof(Params) + argWords_.size() * 8);
  std::vector<unsigned char> &buf = argBuffer_;
  Params p{};
  p.q = c.q;
  p.k = c.k;
  p.v = c.v;
  p.o = c.o;
  p.lse = c.lse;
  std::memcpy(p.qStrides, c.qStrides, sizeof p.qStrides);
  std::memcpy(p.kStrides, c.kStrides, sizeof p.kStrides);
  std::memcpy(p.vStrides, c.vStrides, sizeof p.vStrides);
  std::memcpy(p.oStrides, c.oStrides, sizeof p.oStrides);
  p.lq = static_cast<int>(c.lq);
  p.lk = static_cast<int>(c.lk);
  p.heads = static_cast<int>(c.heads);
  p.kvHeads = static_cast<int>(c.kvHeads);
  p.batch = static_cast<int>(c.batch);
  const float scale = softmaxScale(c, kernel_.source.headDim);
  p.scaleLog2 = scale * 1.4426950408889634f;
  p.segPtr = onGpuTables_ ? gpuTables_.segPtr : segPtr_;
  p.segs = onGpuTables_ ? gpuTables_.segs : segs_;
  p.gatherPtr = onGpuTables_ ? gpuTables_.gatherPtr : gatherPtr_;
  p.gatherKeys = onGpuTables_ ? gpuTables_.gatherKeys : gatherKeys_;
  p.workCounter = workCounter_;
  p.schedHeads = schedHeads_;
  p.numQTiles = numQTiles_;
  p.segBits = bitTiles_ > 0 ? segBits_.get() : 0;
  p.tileBits = bitTiles_ > 0 ? tileBits_.get() : 0;
  if (kernel_.source.family == codegen::KernelFamily::Hopper)
    encodeTensorMaps(c, p);
  std::memcpy(buf.data(), &p, sizeof p);
  std::memcpy(buf.data() + sizeof p, argWords_.data(), argWords_.size() * 8);
  void *args[] = {buf.data(), &maps_};
  Driver &d = Driver::get();
  if (tileBitsPending_)
    buildTileBits(buf.data(), c);
  if (kernel_.source.family == codegen::KernelFamily::Hopper) {
    // Persistent: one CTA (two for 64 x 64 tiles) per SM, each taking works
    // from a counter that starts at zero (ordered on the stream before the
    // launch).
    const int64_t works =
        int64_t{numQTiles_} * kernel_.source.dilation * c.heads * c.batch;
    d.memset32Async(workCounter_, 0, 1, c.stream);
    d.launch(
        function_,
        static_cast<unsigned>(std::min<int64_t>(
            works, int64_t{d.multiprocessors()} * kernel_.source.ctasPerSm)),
        1, 1, static_cast<unsigned>(threads_), kernel_.source.sharedBytes, args,
        c.stream);
    launched_ = true;
    return;
  }
  d.launch(function_,
           static_cast<unsigned>(numQTiles_ * kernel_.source.dilation),
           static_cast<unsigned>(c.heads), static_cast<unsigned>(c.batch),
           static_cast<unsigned>(threads_), kernel_.source.sharedBytes, args,
           c.stream);
  launched_ = true;
}

Driver::Module loadHelperModule(const std::string &code,
                                const std::string &fileName,
                                const std::string &arch,
                                KernelRegistry *registry) {
  auto build = [&] {
    Nvrtc::Output o = Nvrtc::get().compile(code, fileName, arch, {"-lineinfo"});
    return KernelBinary{std::move(o.ptx), std::move(o.cubin), std::move(o.log)};
  };
  const std::string material = code + "\n//arch=" + arch +
                               "\n//maskjit=" + maskjitVersion() +
                               "\n//nvrtc=" + Nvrtc::get().version();
  const std::string key = contentHash(material);
  const std::string identity =
      "source=" + contentDigest128(material) + "\narch=" + arch +
      "\nmaskjit=" + maskjitVersion() + "\nnvrtc=" + Nvrtc::get().version();
  std::shared_ptr<const KernelBinary> bin =
      registry ? registry->getOrBuild(key, build, nullptr, identity)
               : std::make_shared<KernelBinary>(build());
  return Driver::get().loadModule(
      bin->cubin.empty() ? static_cast<const void *>(bin->ptx.c_str())
                         : static_cast<const void *>(bin->cubin.data()));
}

} // namespace maskjit::runtime
