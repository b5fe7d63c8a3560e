/* intq fast kernels: the C entry points (plain C ABI, called through ctypes by intq.runtime.fast and from
 * the plan executor intq_plan.c). Each defining file includes this header too, so a signature that drifts
 * from what intq_plan.c calls is a compile error. The Python side declares the same signatures in
 * intq/runtime/fast/_lib.py. */
#ifndef INTQ_KERNELS_H
#define INTQ_KERNELS_H
#include <stdint.h>

/* intq_fast.c */
int intq_isa_level(void);
void intq_rq_pack(const int32_t *m0, const int32_t *shift, int np, int32_t *block);
int intq_conv(const int32_t *geom, const uint8_t *x, const int8_t *B, const int16_t *B16,
              const int32_t *colterm, const int32_t *m0, const int32_t *shift, const int32_t *colterm16,
              uint8_t *out, int nthreads, int level, void *work);
long intq_conv_work_bytes(const int32_t *geom, int nthreads, int level);
/* intq_depthwise.c */
int intq_depthwise(const int32_t *gm, const uint8_t *x, const int32_t *w32, const int32_t *bias,
                   const int32_t *m0, const int32_t *shift, const int16_t *w2, const int32_t *bint, uint8_t *out,
                   int nthreads, int level, void *work);
long intq_depthwise_work_bytes(const int32_t *gm, int nthreads, int level);
/* intq_softmax.c */
void intq_softmax(const uint8_t *x, uint8_t *out, long rows, long depth, int in_int8, const int32_t *exps,
                  const int32_t *terms, const uint8_t *keep, int nthreads, int level);
void intq_lut2(const uint8_t *a, const uint8_t *b, const uint8_t *table, uint8_t *out, long n, int nthreads);
/* intq_add.c */
void intq_add(const uint8_t *a, const uint8_t *b, const int32_t *params, uint8_t *out, long n, int nthreads,
              int level);
void intq_add_rescale(const uint8_t *x, int32_t *out, long n, int32_t z, int32_t m, int32_t s, int in_int8,
                      int level);
void intq_mul(const uint8_t *a, const uint8_t *b, const int32_t *params, uint8_t *out, long n, int nthreads,
              int level);
/* intq_resize.c */
void intq_resize_bilinear(const uint8_t *x, uint8_t *out, long n, long h, long w, long c, long oh, long ow,
                          const int64_t *y0, const int64_t *y1, const int64_t *x0, const int64_t *x1,
                          const void *wy, const void *wx, int integer, int in_int8, int level, int nthreads);
/* intq_layout.c */
void intq_transpose(const uint8_t *x, uint8_t *out, const int64_t *meta, int nthreads);
void intq_pad(const uint8_t *x, uint8_t *out, const int64_t *meta, int nthreads);
void intq_quantize_f32(const float *x, uint8_t *out, long n, float scale, int zp, int lo, int hi, int level,
                       int nthreads);
void intq_lut1(const uint8_t *x, void *out, long n, const void *table, int esize, int level, int nthreads);
void intq_split(const uint8_t *x, const int64_t *outs, long n, long outer, long part, int nthreads);
void intq_copy(void *dst, const void *src, long n);
/* intq_pool.c */
void intq_max_pool(const uint8_t *x, uint8_t *out, const int64_t *g);
void intq_avg_pool(const uint8_t *x, uint8_t *out, const int64_t *g);
void intq_mean_table(const uint8_t *x, uint8_t *out, const int64_t *meta, const uint8_t *table, int32_t *acc,
                     int nthreads, int level);
void intq_arg_max(const void *x, void *out, long outer, long len, long inner, int kind, int osize, int nthreads);
/* intq_plan.c */
void intq_global_avg_pool(const uint8_t *x, uint8_t *out, long n, long hw, long c, int in_int8, int lo, int hi,
                          int nthreads);
void intq_concat(const int64_t *meta, long nin, long outer, uint8_t *out, int level, int nthreads);
int intq_run_plan(const int64_t *plan, long nrec);

#endif
