/* intq fast RESIZE_BILINEAR, bit-exact with intq.runtime.reference.resize_bilinear. Plain C ABI.
 *
 * The Python prepare gives per output row / column the lower and upper source index and the weight of the
 * upper one: int64 in 1/1024 (reference_ops::ResizeBilinearInteger: int64 sum of the four codes times
 * their weights, (acc +- 2^19) / 2^20 in C division) or float32 (LiteRT's uint8 reference_ops::ResizeBilinear,
 * evaluated in float32 in the reference's order, + 0.5f, truncated). Float contraction into FMA would change
 * the float32 results, so setup.py builds with -ffp-contract=off. */
#include <stdint.h>
#include <stddef.h>

#include "intq_common.h"
#include "intq_kernels.h"

/* The integer sum in int32: |code| <= 255 and the four weight products (1024 - wy or wy) * (1024 - wx or
 * wx) sum to 2^20, so |acc| <= 255 * 2^20 < 2^31, the same integers as the reference's int64, and integer
 * products may be grouped as code * (wy * wx). The float32 sum keeps the reference's order, code * (1 - dy)
 * * (1 - dx) and so on left to right. The loops over channels have no branch, so the compiler vectorises
 * them; the body is compiled twice, for AVX2 and for any CPU. */
__attribute__((always_inline))
static inline void resize_body(const uint8_t *x, uint8_t *out, long h, long w, long c, long oh, long ow,
                               const int64_t *y0, const int64_t *y1, const int64_t *x0, const int64_t *x1,
                               const void *wy, const void *wx, int integer, int in_int8, long row0, long row1) {
    for (long row = row0; row < row1; row++) {                /* output rows b * oh + oy */
        const long b = row / oh, oy = row % oh;
        const uint8_t *r0 = x + ((size_t)b * h + (size_t)y0[oy]) * w * c;
        const uint8_t *r1 = x + ((size_t)b * h + (size_t)y1[oy]) * w * c;
        for (long ox = 0; ox < ow; ox++) {
            const uint8_t *p00 = r0 + (size_t)x0[ox] * c, *p10 = r1 + (size_t)x0[ox] * c;
            const uint8_t *p01 = r0 + (size_t)x1[ox] * c, *p11 = r1 + (size_t)x1[ox] * c;
            uint8_t *o = out + (((size_t)b * oh + oy) * ow + ox) * c;
            if (integer) {
                const int32_t wy1 = (int32_t)((const int64_t *)wy)[oy], wx1 = (int32_t)((const int64_t *)wx)[ox];
                const int32_t wy0 = 1024 - wy1, wx0 = 1024 - wx1;
                const int32_t w00 = wy0 * wx0, w10 = wy1 * wx0, w01 = wy0 * wx1, w11 = wy1 * wx1;
                if (in_int8) {
                    const int8_t *s00 = (const int8_t *)p00, *s10 = (const int8_t *)p10;
                    const int8_t *s01 = (const int8_t *)p01, *s11 = (const int8_t *)p11;
                    for (long j = 0; j < c; j++) {
                        const int32_t acc = s00[j] * w00 + s10[j] * w10 + s01[j] * w01 + s11[j] * w11;
                        /* (acc +- 2^19) / 2^20 in C division: ties away from zero */
                        const int32_t mag = ((acc < 0 ? -acc : acc) + (1 << 19)) >> 20;
                        o[j] = (uint8_t)(acc < 0 ? -mag : mag);
                    }
                } else {
                    for (long j = 0; j < c; j++) {       /* acc >= 0 */
                        const int32_t acc = p00[j] * w00 + p10[j] * w10 + p01[j] * w01 + p11[j] * w11;
                        o[j] = (uint8_t)((acc + (1 << 19)) >> 20);
                    }
                }
            } else {                                      /* uint8 only (LiteRT's float32 reference) */
                const float dy = ((const float *)wy)[oy], dx = ((const float *)wx)[ox];
                const float ey = 1.0f - dy, ex = 1.0f - dx;
                for (long j = 0; j < c; j++) {
                    float acc = (float)p00[j] * ey * ex;
                    acc = acc + (float)p10[j] * dy * ex;
                    acc = acc + (float)p01[j] * ey * dx;
                    acc = acc + (float)p11[j] * dy * dx;
                    o[j] = (uint8_t)(int32_t)(acc + 0.5f);
                }
            }
        }
    }
}

/* The same sums with each output row's two source rows combined first, for every source column: float32
 * A[x] = code(y0, x) * (1 - dy) and B[x] = code(y1, x) * dy, the reference's first products (it evaluates
 * code * (1 - dy) * (1 - dx) as (code * (1 - dy)) * (1 - dx)), so an output is ((A[x0] (1 - dx') + B[x0] (1 -
 * dx')) + A[x1] dx') + B[x1] dx', the reference's order; or int32 V[x] = code(y0, x) (1024 - wy) + code(y1, x)
 * wy, so acc = V[x0] (1024 - wx) + V[x1] wx (integer sums: the same value in any grouping). Each source
 * column is then converted and multiplied once per output row instead of once per output pixel that reads
 * it: used where w <= 2 ow (upscaling, mild downscaling), with rw (2 w c floats or ints) scratch a thread. */
__attribute__((always_inline))
static inline void resize_rows_body(const uint8_t *x, uint8_t *out, long h, long w, long c, long oh, long ow,
                                    const int64_t *y0, const int64_t *y1, const int64_t *x0, const int64_t *x1,
                                    const void *wy, const void *wx, int integer, int in_int8, long row0,
                                    long row1, void *rw) {
    const long wc = w * c;
    for (long row = row0; row < row1; row++) {
        const long b = row / oh, oy = row % oh;
        const uint8_t *restrict r0 = x + ((size_t)b * h + (size_t)y0[oy]) * wc;
        const uint8_t *restrict r1 = x + ((size_t)b * h + (size_t)y1[oy]) * wc;
        uint8_t *restrict orow = out + ((size_t)b * oh + oy) * ow * c;
        if (integer) {
            int32_t *restrict v = rw;
            const int32_t wy1 = (int32_t)((const int64_t *)wy)[oy], wy0 = 1024 - wy1;
            if (in_int8)
                for (long i = 0; i < wc; i++) v[i] = (int8_t)r0[i] * wy0 + (int8_t)r1[i] * wy1;
            else
                for (long i = 0; i < wc; i++) v[i] = r0[i] * wy0 + r1[i] * wy1;
            for (long ox = 0; ox < ow; ox++) {
                const int32_t *restrict v0 = v + (size_t)x0[ox] * c, *restrict v1 = v + (size_t)x1[ox] * c;
                const int32_t wx1 = (int32_t)((const int64_t *)wx)[ox], wx0 = 1024 - wx1;
                uint8_t *restrict o = orow + (size_t)ox * c;
                if (in_int8)
                    for (long j = 0; j < c; j++) {
                        const int32_t acc = v0[j] * wx0 + v1[j] * wx1;
                        const int32_t mag = ((acc < 0 ? -acc : acc) + (1 << 19)) >> 20;
                        o[j] = (uint8_t)(acc < 0 ? -mag : mag);
                    }
                else
                    for (long j = 0; j < c; j++) o[j] = (uint8_t)((v0[j] * wx0 + v1[j] * wx1 + (1 << 19)) >> 20);
            }
        } else {
            float *restrict A = rw, *restrict B = A + wc;
            const float dy = ((const float *)wy)[oy], ey = 1.0f - dy;
            for (long i = 0; i < wc; i++) {
                A[i] = (float)r0[i] * ey;
                B[i] = (float)r1[i] * dy;
            }
            for (long ox = 0; ox < ow; ox++) {
                const float dx = ((const float *)wx)[ox], ex = 1.0f - dx;
                const float *restrict a0 = A + (size_t)x0[ox] * c, *restrict b0 = B + (size_t)x0[ox] * c;
                const float *restrict a1 = A + (size_t)x1[ox] * c, *restrict b1 = B + (size_t)x1[ox] * c;
                uint8_t *restrict o = orow + (size_t)ox * c;
                for (long j = 0; j < c; j++) {
                    float acc = a0[j] * ex;
                    acc = acc + b0[j] * ex;
                    acc = acc + a1[j] * dx;
                    acc = acc + b1[j] * dx;
                    o[j] = (uint8_t)(int32_t)(acc + 0.5f);
                }
            }
        }
    }
}

/* a call: the arguments of intq_resize_bilinear; tasks take whole output rows */
typedef struct {
    const uint8_t *x; uint8_t *out; long n, h, w, c, oh, ow;
    const int64_t *y0, *y1, *x0, *x1; const void *wy, *wx; int integer, in_int8, level;
    uint8_t *rw; size_t rw_bytes;      /* resize_rows_body's scratch, rw_bytes a thread (NULL: resize_body) */
} resize_job;

#define RESIZE_ARGS(j, r0, r1) j->x, j->out, j->h, j->w, j->c, j->oh, j->ow, j->y0, j->y1, j->x0, j->x1, j->wy,     \
                               j->wx, j->integer, j->in_int8, r0, r1
static void resize_any(const resize_job *j, long r0, long r1, void *rw) {
    if (rw) resize_rows_body(RESIZE_ARGS(j, r0, r1), rw);
    else resize_body(RESIZE_ARGS(j, r0, r1));
}
#ifdef INTQ_X86
__attribute__((target("avx2"))) static void resize_avx2(const resize_job *j, long r0, long r1, void *rw) {
    if (rw) resize_rows_body(RESIZE_ARGS(j, r0, r1), rw);
    else resize_body(RESIZE_ARGS(j, r0, r1));
}
#endif

/* a task's rows: combined source rows (resize_rows_body) with the thread's scratch, or each output pixel's four
 * codes (resize_body) when the call has none */
static int resize_task(void *vp, long begin, long end, int thread) {
    const resize_job *j = vp;
    void *rw = j->rw ? j->rw + (size_t)thread * j->rw_bytes : NULL;
#ifdef INTQ_X86
    if (j->level >= 1) {
        resize_avx2(j, begin, end, rw);
        return 0;
    }
#endif
    resize_any(j, begin, end, rw);
    return 0;
}

/* level: an ISA level up to intq_isa_level (>= 1 runs the AVX2 build); output rows split over up to nthreads
 * threads (threads_for_elements of the output's size) */
void intq_resize_bilinear(const uint8_t *x, uint8_t *out, long n, long h, long w, long c, long oh, long ow,
                          const int64_t *y0, const int64_t *y1, const int64_t *x0, const int64_t *x1,
                          const void *wy, const void *wx, int integer, int in_int8, int level, int nthreads) {
    const int nt = threads_for_elements(n * oh * ow * c, nthreads);
    /* combined source rows where w <= 2 ow (upscaling, mild downscaling): 2 w c floats (or ints) a thread,
     * allocated once per call; without the memory, resize_body */
    const size_t rw_bytes = align64((size_t)2 * w * c * sizeof(float));
    uint8_t *rw = w <= 2 * ow ? malloc(rw_bytes * (size_t)(nt < 1 ? 1 : nt)) : NULL;
    const resize_job j = { x, out, n, h, w, c, oh, ow, y0, y1, x0, x1, wy, wx, integer, in_int8, level, rw, rw_bytes };
    intq_parallel_for(nt, n * oh, resize_task, (void *)&j);
    free(rw);
}
