//===- CApi.cpp - The C API over the C++ one ------------------------------===//
//
// Handles wrap the C++ objects; every entry point catches, records the
// message for mj_last_error() and returns a failure value, so no exception
// crosses into C (or Python).
//
//===----------------------------------------------------------------------===//
#include "maskjit/maskjit.h"
#include "maskjit/maskjit_c.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <new>
#include <string>

struct mj_pattern {
  maskjit::Pattern pattern;
};
struct mj_kernel {
  maskjit::Kernel kernel;
  std::string family;
  std::string remarks; ///< The last mj_kernel_schedule_remarks' text.
  std::string sets;    ///< The last mj_kernel_estimated_sets' text.
};

namespace {
thread_local std::string lastError;
thread_local int lastKind = MJ_OK;

/// Runs `f`, turning an exception into the error of kind `kind` (a
/// maskjit::Error) or MJ_ERROR_RUNTIME (anything else).
template <typename F> bool guard(int kind, F &&f) {
  lastError.clear();
  lastKind = MJ_OK;
  try {
    f();
    return true;
  } catch (const maskjit::Error &e) {
    lastError = e.what();
    lastKind = kind;
  } catch (const std::bad_alloc &) {
    lastError = "out of memory";
    lastKind = MJ_ERROR_RUNTIME;
  } catch (const std::exception &e) {
    lastError = e.what();
    lastKind = MJ_ERROR_RUNTIME;
  }
  return false;
}

bool argumentError(const std::string &message) {
  lastError = message;
  lastKind = MJ_ERROR_ARGUMENT;
  return false;
}

std::string str(const char *s) { return s ? s : ""; }

/// The C params as the C++ API's; throws on a malformed entry.
maskjit::Params toParams(const mj_param *params, int n) {
  maskjit::Params out;
  if (n < 0 || (n > 0 && !params))
    throw maskjit::Error("params: " + std::to_string(n) +
                         " entries and no array");
  for (int i = 0; i < n; ++i) {
    const mj_param &p = params[i];
    if (!p.name || !*p.name)
      throw maskjit::Error("params: entry " + std::to_string(i) +
                           " has no name");
    if (p.count < (p.is_array ? 0 : 1) || (p.count > 0 && !p.values))
      throw maskjit::Error("param `" + std::string(p.name) + "` has " +
                           std::to_string(p.count) + " values");
    if (p.is_array)
      out.arrays[p.name].assign(p.values, p.values + p.count);
    else
      out.scalars[p.name] = p.values[0];
  }
  return out;
}
} // namespace

extern "C" {

const char *mj_last_error(void) { return lastError.c_str(); }
int mj_last_error_kind(void) { return lastKind; }
int mj_abi_version(void) { return 2; }

mj_pattern *mj_pattern_from_string(const char *text, const char *name,
                                   const char *bufferName) {
  if (!text)
    return argumentError("pattern source is NULL"), nullptr;
  mj_pattern *out = nullptr;
  guard(MJ_ERROR_MASK, [&] {
    out = new mj_pattern{maskjit::Pattern::fromString(
        text, str(name), bufferName && *bufferName ? bufferName : "<string>")};
  });
  return out;
}

mj_pattern *mj_pattern_from_file(const char *path, const char *name) {
  if (!path)
    return argumentError("pattern path is NULL"), nullptr;
  mj_pattern *out = nullptr;
  guard(MJ_ERROR_MASK, [&] {
    out = new mj_pattern{maskjit::Pattern::fromFile(path, str(name))};
  });
  return out;
}

void mj_pattern_free(mj_pattern *pattern) { delete pattern; }

const char *mj_pattern_name(const mj_pattern *pattern) {
  return pattern ? pattern->pattern.name().c_str() : "";
}

int mj_pattern_block_map(const mj_pattern *pattern, int64_t lq, int64_t lk,
                         int64_t tileQ, int64_t tileK, const mj_param *params,
                         int nParams, int64_t head, int64_t batch, uint8_t *out,
                         int64_t outLen) {
  if (!pattern || !out)
    return !argumentError("block map: NULL pattern or output");
  return !guard(MJ_ERROR_ARGUMENT, [&] {
    std::vector<uint8_t> map = pattern->pattern.blockMap(
        lq, lk, tileQ, tileK, toParams(params, nParams), head, batch);
    if (static_cast<int64_t>(map.size()) != outLen)
      throw maskjit::Error("block map: the output holds " +
                           std::to_string(outLen) + " bytes for " +
                           std::to_string(map.size()) + " tiles");
    std::copy(map.begin(), map.end(), out);
  });
}

int mj_pattern_mask(const mj_pattern *pattern, int64_t lq, int64_t lk,
                    const mj_param *params, int nParams, int64_t head,
                    int64_t batch, uint8_t *out, int64_t outLen) {
  if (!pattern || !out)
    return !argumentError("mask: NULL pattern or output");
  if (lq < 1 || lk < 1 || lq > (int64_t{1} << 28) / lk)
    return !argumentError("mask: " + std::to_string(lq) + " x " +
                          std::to_string(lk) +
                          " pairs (the dense reference takes 1 to 2^28)");
  if (outLen != lq * lk)
    return !argumentError("mask: the output holds " + std::to_string(outLen) +
                          " bytes for " + std::to_string(lq * lk) + " pairs");
  return !guard(MJ_ERROR_ARGUMENT, [&] {
    maskjit::MaskOracle o =
        pattern->pattern.oracle(lq, lk, toParams(params, nParams), head, batch);
    for (int64_t q = 0; q < lq; ++q)
      for (int64_t k = 0; k < lk; ++k)
        out[q * lk + k] = o.allowed(q, k) ? 1 : 0;
  });
}

mj_kernel *mj_kernel_compile(const mj_pattern *pattern,
                             const mj_compile_options *options) {
  if (!pattern)
    return argumentError("compile: NULL pattern"), nullptr;
  if ((!options || !options->arch || !*options->arch) &&
      !maskjit::gpu::available())
    return argumentError("compile: no GPU here to compile for; name the "
                         "target architecture (e.g. sm_90a or sm_80)"),
           nullptr;
  // A missing NVRTC is the machine's problem, not the pattern's.
  if (std::string why = maskjit::nvrtcUnavailableReason(); !why.empty()) {
    lastError = why;
    lastKind = MJ_ERROR_RUNTIME;
    return nullptr;
  }
  mj_kernel *out = nullptr;
  guard(MJ_ERROR_MASK, [&] {
    maskjit::CompileOptions o;
    if (options) {
      if (options->head_dim)
        o.headDim = options->head_dim;
      if (options->dtype)
        o.dtype = options->dtype;
      o.arch = str(options->arch);
      if (options->kernel)
        o.kernel = options->kernel;
      o.constants = toParams(options->constants, options->n_constants).scalars;
      o.useCache = options->use_cache != 0;
    }
    maskjit::Kernel k = maskjit::Kernel::compile(pattern->pattern, o);
    std::string family = k.family();
    out = new mj_kernel{std::move(k), std::move(family)};
  });
  return out;
}

void mj_kernel_free(mj_kernel *kernel) { delete kernel; }

const char *mj_kernel_family(const mj_kernel *k) {
  return k ? k->family.c_str() : "";
}
const char *mj_kernel_cuda_source(const mj_kernel *k) {
  return k ? k->kernel.cudaSource().c_str() : "";
}
const char *mj_kernel_ptx(const mj_kernel *k) {
  return k ? k->kernel.ptx().c_str() : "";
}
const char *mj_kernel_cache_key(const mj_kernel *k) {
  return k ? k->kernel.cacheKey().c_str() : "";
}

namespace {
maskjit::AttentionCall toCall(const mj_attention_call *call) {
  maskjit::AttentionCall c;
  c.batch = call->batch;
  c.heads = call->heads;
  c.kvHeads = call->kv_heads;
  c.lq = call->lq;
  c.lk = call->lk;
  c.q = call->q;
  c.k = call->k;
  c.v = call->v;
  c.o = call->o;
  c.lse = call->lse;
  for (int i = 0; i < 3; ++i) {
    c.qStrides[i] = call->q_strides[i];
    c.kStrides[i] = call->k_strides[i];
    c.vStrides[i] = call->v_strides[i];
    c.oStrides[i] = call->o_strides[i];
  }
  c.softmaxScale = call->softmax_scale;
  c.params = toParams(call->params, call->n_params);
  c.stream = call->stream;
  if (const mj_sets *s = call->sets) {
    if (s->n_sets != 1 && s->n_sets != call->heads)
      throw maskjit::Error("sets: n_sets must be 1 or the call's heads (" +
                           std::to_string(call->heads) + "), not " +
                           std::to_string(s->n_sets));
    for (int64_t n :
         {s->n_columns, s->n_diagonals, s->block_rows, s->block_keep})
      if (n < 0)
        throw maskjit::Error("sets: negative count");
    auto row = [](const int64_t *a, int64_t n, int64_t r) {
      return std::vector<int64_t>(a + r * n, a + (r + 1) * n);
    };
    auto blocks = [&](int64_t r) {
      std::vector<std::vector<int64_t>> out(s->block_rows);
      for (int64_t i = 0; i < s->block_rows; ++i)
        for (int64_t j = 0; j < s->block_keep; ++j) {
          const int64_t v =
              s->blocks[(r * s->block_rows + i) * s->block_keep + j];
          if (v >= 0)
            out[i].push_back(v);
        }
      return out;
    };
    if (s->n_sets == 1) {
      if (s->columns)
        c.columns = row(s->columns, s->n_columns, 0);
      if (s->diagonals)
        c.diagonals = row(s->diagonals, s->n_diagonals, 0);
      if (s->blocks)
        c.blocks = blocks(0);
    } else {
      for (int64_t h = 0; h < s->n_sets; ++h) {
        maskjit::HeadSets hs;
        if (s->columns)
          hs.columns = row(s->columns, s->n_columns, h);
        if (s->diagonals)
          hs.diagonals = row(s->diagonals, s->n_diagonals, h);
        if (s->blocks)
          hs.blocks = blocks(h);
        c.headSets.push_back(std::move(hs));
      }
    }
  }
  return c;
}
} // namespace

int mj_kernel_launch(mj_kernel *kernel, const mj_attention_call *call) {
  if (!kernel || !call)
    return !argumentError("launch: NULL kernel or call");
  return !guard(MJ_ERROR_ARGUMENT,
                [&] { kernel->kernel.launch(toCall(call)); });
}

int mj_kernel_backward(mj_kernel *kernel, const mj_attention_call *call,
                       const mj_backward_call *grads) {
  if (!kernel || !call || !grads)
    return !argumentError("backward: NULL kernel, call or gradients");
  return !guard(MJ_ERROR_ARGUMENT, [&] {
    maskjit::BackwardCall g;
    g.dout = grads->dout;
    g.dq = grads->dq;
    g.dk = grads->dk;
    g.dv = grads->dv;
    for (int i = 0; i < 3; ++i) {
      g.doStrides[i] = grads->do_strides[i];
      g.dqStrides[i] = grads->dq_strides[i];
      g.dkStrides[i] = grads->dk_strides[i];
      g.dvStrides[i] = grads->dv_strides[i];
    }
    kernel->kernel.backward(toCall(call), g);
  });
}

const char *mj_kernel_estimated_sets(mj_kernel *kernel) {
  if (!kernel)
    return argumentError("estimated sets: NULL kernel"), nullptr;
  const bool ok = guard(MJ_ERROR_RUNTIME, [&] {
    nlohmann::json out = nlohmann::json::array();
    for (const maskjit::HeadSets &h : kernel->kernel.estimatedSets())
      out.push_back({{"columns", h.columns},
                     {"diagonals", h.diagonals},
                     {"blocks", h.blocks}});
    kernel->sets = out.dump();
  });
  return ok ? kernel->sets.c_str() : nullptr;
}

const char *mj_kernel_schedule_remarks(mj_kernel *kernel, int64_t lq,
                                       int64_t lk, const mj_param *params,
                                       int n_params, int64_t head) {
  if (!kernel)
    return argumentError("schedule remarks: NULL kernel"), nullptr;
  const bool ok = guard(MJ_ERROR_ARGUMENT, [&] {
    std::string text;
    for (const maskjit::ScheduleRemark &r : kernel->kernel.scheduleRemarks(
             lq, lk, toParams(params, n_params), head))
      text += r.where + "\t" + r.message + "\n";
    kernel->remarks = std::move(text);
  });
  return ok ? kernel->remarks.c_str() : nullptr;
}

int mj_gpu_available(void) { return maskjit::gpu::available() ? 1 : 0; }
int mj_nvrtc_available(void) { return maskjit::nvrtcAvailable() ? 1 : 0; }

} // extern "C"
