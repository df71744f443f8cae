// maskjit: the warp-level tensor-core pieces of the portable kernels
// (forward and backward, sm_80+): ldmatrix loads of 16-bit tiles from
// shared memory and mma.sync m16n8k16 with fp32 accumulation.
//
// Fragment layouts (PTX ISA, mma.m16n8k16): lane = 4 g + t4 holds, of a
// 16 x 8 accumulator, rows g and g + 8 at columns 2 t4 and 2 t4 + 1; of a
// 16 x 16 A operand, a0 (rows 0-7, k 0-7), a1 (rows 8-15, k 0-7), a2
// (rows 0-7, k 8-15), a3 (rows 8-15, k 8-15).

static __device__ __forceinline__ void mj_ldsm_x4(unsigned (&r)[4], const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(mj_smem(p)));
}
static __device__ __forceinline__ void mj_ldsm_x4_t(unsigned (&r)[4], const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(mj_smem(p)));
}

static __device__ __forceinline__ void mj_mma(float (&c)[4], const unsigned (&a)[4],
                                              unsigned b0, unsigned b1) {
#if MASKJIT_DTYPE_FP16
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
#else
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
#endif
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

