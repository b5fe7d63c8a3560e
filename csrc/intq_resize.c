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

void intq_resize_bilinear(const uint8_t *x, uint8_t *out, long n, long h, long w, long c, long oh, long ow,
                          const int64_t *y0, const int64_t *y1, const int64_t *x0, const int64_t *x1,
                          const void *wy, const void *wx, int integer, int in_int8) {
    (void)h;
    for (long b = 0; b < n; b++)
        for (long oy = 0; oy < oh; oy++) {
            const uint8_t *r0 = x + ((size_t)b * h + (size_t)y0[oy]) * w * c;
            const uint8_t *r1 = x + ((size_t)b * h + (size_t)y1[oy]) * w * c;
            for (long ox = 0; ox < ow; ox++) {
                const uint8_t *p00 = r0 + (size_t)x0[ox] * c, *p10 = r1 + (size_t)x0[ox] * c;
                const uint8_t *p01 = r0 + (size_t)x1[ox] * c, *p11 = r1 + (size_t)x1[ox] * c;
                uint8_t *o = out + (((size_t)b * oh + oy) * ow + ox) * c;
                if (integer) {
                    const int64_t wy1 = ((const int64_t *)wy)[oy], wx1 = ((const int64_t *)wx)[ox];
                    const int64_t wy0 = 1024 - wy1, wx0 = 1024 - wx1;
                    for (long j = 0; j < c; j++) {
                        int64_t q00 = in_int8 ? (int8_t)p00[j] : p00[j], q10 = in_int8 ? (int8_t)p10[j] : p10[j];
                        int64_t q01 = in_int8 ? (int8_t)p01[j] : p01[j], q11 = in_int8 ? (int8_t)p11[j] : p11[j];
                        int64_t acc = q00 * wy0 * wx0 + q10 * wy1 * wx0 + q01 * wy0 * wx1 + q11 * wy1 * wx1;
                        o[j] = (uint8_t)(int64_t)((acc + (acc > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
                    }
                } else {
                    const float dy = ((const float *)wy)[oy], dx = ((const float *)wx)[ox];
                    const float one = 1.0f;
                    for (long j = 0; j < c; j++) {
                        float acc = (float)p00[j] * (one - dy) * (one - dx);
                        acc = acc + (float)p10[j] * dy * (one - dx);
                        acc = acc + (float)p01[j] * (one - dy) * dx;
                        acc = acc + (float)p11[j] * dy * dx;
                        o[j] = (uint8_t)(int64_t)(acc + 0.5f);
                    }
                }
            }
        }
}
