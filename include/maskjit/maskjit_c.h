/*===- maskjit_c.h - The C API, for bindings (Python's ctypes) ----*- C -*-===
 *
 * A small C face of libmaskjit over the C++ API (maskjit.h), so that a
 * binding needs no C++ ABI (no libtorch headers, one build for every torch).
 * Objects are opaque handles; every call that can fail returns NULL or a
 * non-zero status, and mj_last_error() then holds the message (per thread)
 * and mj_last_error_kind() what it was about. Nothing aborts the process.
 *
 *===----------------------------------------------------------------------===*/
#ifndef MASKJIT_MASKJIT_C_H
#define MASKJIT_MASKJIT_C_H

#include <stdint.h>

#define MASKJIT_C_API __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

/* What the last failure of this thread was about. */
enum mj_error_kind {
  MJ_OK = 0,
  MJ_ERROR_MASK = 1,     /* the pattern: a .mask diagnostic, a compile error */
  MJ_ERROR_ARGUMENT = 2, /* a bad argument to a call */
  MJ_ERROR_RUNTIME = 3   /* NVRTC, the driver, the GPU */
};
MASKJIT_C_API const char *mj_last_error(void);
MASKJIT_C_API int mj_last_error_kind(void);
/* The version of the C API (bumped when a struct below changes). */
MASKJIT_C_API int mj_abi_version(void);

typedef struct mj_pattern mj_pattern;
typedef struct mj_kernel mj_kernel;

/* A param's value: a scalar (is_array 0, values[0]) or an array of count
 * values. */
typedef struct {
  const char *name;
  const int64_t *values;
  int64_t count;
  int is_array;
} mj_param;

/* name may be NULL or "" (the source's one main pattern). */
MASKJIT_C_API mj_pattern *mj_pattern_from_string(const char *text,
                                                 const char *name,
                                                 const char *buffer_name);
MASKJIT_C_API mj_pattern *mj_pattern_from_file(const char *path,
                                               const char *name);
MASKJIT_C_API void mj_pattern_free(mj_pattern *pattern);
MASKJIT_C_API const char *mj_pattern_name(const mj_pattern *pattern);
/* The reference tile map (see maskjit::Pattern::blockMap) into out, which
 * holds ceil(lq / tile_q) * ceil(lk / tile_k) bytes (out_len). */
MASKJIT_C_API int mj_pattern_block_map(const mj_pattern *pattern, int64_t lq,
                                       int64_t lk, int64_t tile_q,
                                       int64_t tile_k, const mj_param *params,
                                       int n_params, int64_t head,
                                       int64_t batch, uint8_t *out,
                                       int64_t out_len);
/* The reference mask, lq * lk bytes (0 or 1) into out: for tests and
 * references at small shapes (at most 2^28 pairs). */
MASKJIT_C_API int mj_pattern_mask(const mj_pattern *pattern, int64_t lq,
                                  int64_t lk, const mj_param *params,
                                  int n_params, int64_t head, int64_t batch,
                                  uint8_t *out, int64_t out_len);

typedef struct {
  int64_t head_dim;   /* 0: 128 */
  const char *dtype;  /* NULL: bf16 */
  const char *arch;   /* NULL or "": the current GPU */
  const char *kernel; /* NULL: auto */
  const mj_param *constants;
  int n_constants;
  int use_cache;
} mj_compile_options;
MASKJIT_C_API mj_kernel *mj_kernel_compile(const mj_pattern *pattern,
                                           const mj_compile_options *options);
MASKJIT_C_API void mj_kernel_free(mj_kernel *kernel);
/* Owned by the kernel, valid while it lives. */
MASKJIT_C_API const char *mj_kernel_family(const mj_kernel *kernel);
MASKJIT_C_API const char *mj_kernel_cuda_source(const mj_kernel *kernel);
MASKJIT_C_API const char *mj_kernel_ptx(const mj_kernel *kernel);
MASKJIT_C_API const char *mj_kernel_cache_key(const mj_kernel *kernel);

/* Chosen sets of a dynamic pattern's selectors, for all heads (n_sets 1)
 * or one per head (n_sets = heads; each array then holds n_sets rows):
 * topk_columns (n_columns key indices a row), topk_diagonals (n_diagonals
 * values of q - k a row), topk_blocks (block_rows query blocks of
 * block_keep key blocks a row; negative entries are padding). A NULL array
 * leaves that selector to be estimated on the GPU. */
typedef struct {
  const int64_t *columns, *diagonals, *blocks;
  int64_t n_columns, n_diagonals, block_rows, block_keep;
  int64_t n_sets;
} mj_sets;

/* One attention call: BSHD element strides (batch, sequence, head) of Q,
 * K, V, O (last dimension contiguous); LSE fp32 [batch, heads, lq], always
 * written (required). */
typedef struct {
  int64_t batch, heads, kv_heads, lq, lk;
  uint64_t q, k, v, o, lse;
  int64_t q_strides[3], k_strides[3], v_strides[3], o_strides[3];
  float softmax_scale; /* 0: 1 / sqrt(head_dim) */
  const mj_param *params;
  int n_params;
  void *stream; /* CUstream, NULL: the default stream */
  const mj_sets
      *sets; /* NULL: estimated on the GPU where the pattern has selectors */
} mj_attention_call;
MASKJIT_C_API int mj_kernel_launch(mj_kernel *kernel,
                                   const mj_attention_call *call);

/* The gradients of a backward call (maskjit::Kernel::backward): dO in,
 * dQ (Q's shape), dK and dV (K's shape) out, BSHD element strides, in the
 * kernel's dtype. */
typedef struct {
  uint64_t dout, dq, dk, dv;
  int64_t do_strides[3], dq_strides[3], dk_strides[3], dv_strides[3];
} mj_backward_call;
/* dQ, dK, dV of `call`, the forward's call (its o and lse that launch's
 * outputs), on call->stream. */
MASKJIT_C_API int mj_kernel_backward(mj_kernel *kernel,
                                     const mj_attention_call *call,
                                     const mj_backward_call *grads);

/* The sets the kernel's last launch estimated on the GPU, as JSON: a list
 * with one object per head (per sequence and head, b * heads + h, for a
 * batch) of "columns", "diagonals" (lists) and "blocks" (a list of lists);
 * "[]" when the launch was given its sets. Owned by the kernel until its
 * next call of this; NULL on error. */
MASKJIT_C_API const char *mj_kernel_estimated_sets(mj_kernel *kernel);

/* Remarks on the kernel's schedule for one shape, head and runtime values
 * (maskjit::Kernel::scheduleRemarks; CPU only): one per line as
 * "where<TAB>message" (where may be empty). Owned by the kernel until its
 * next call of this; NULL on error. */
MASKJIT_C_API const char *
mj_kernel_schedule_remarks(mj_kernel *kernel, int64_t lq, int64_t lk,
                           const mj_param *params, int n_params, int64_t head);

MASKJIT_C_API int mj_gpu_available(void);
MASKJIT_C_API int mj_nvrtc_available(void);

#ifdef __cplusplus
}
#endif

#endif
