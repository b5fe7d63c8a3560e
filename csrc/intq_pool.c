/* intq MAX_POOL_2D (NHWC) and tabled MEAN. Plain C ABI, called per node (ctypes) and from intq_run_plan.
 *
 * MAX_POOL_2D as runtime/reference/pooling.py: the max of the window's taps inside the image (padded taps
 * are skipped, as reading the dtype's lowest code does), then clamp to the fused activation's [lo, hi].
 * MEAN as intq.runtime.fast.pooling: the int32 sum over the reduced axes, then a gather of the table the
 * Python prepare built from the reference formula for every possible sum. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "intq_common.h"
#include "intq_kernels.h"

#define INTQ_MAXDIM 6

/* g = [n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, in_int8, lo, hi] */
void intq_max_pool(const uint8_t *x, uint8_t *out, const int64_t *g) {
    const long n = g[0], h = g[1], w = g[2], c = g[3], oh = g[4], ow = g[5], kh = g[6], kw = g[7];
    const long sh = g[8], sw = g[9], ph = g[10], pw = g[11];
    const int in_int8 = (int)g[12], lo = (int)g[13], hi = (int)g[14];
    int32_t acc[256];
    for (long b = 0; b < n; b++)
        for (long oy = 0; oy < oh; oy++)
            for (long ox = 0; ox < ow; ox++)
                for (long j0 = 0; j0 < c; j0 += 256) {
                    const long m = c - j0 < 256 ? c - j0 : 256;
                    for (long j = 0; j < m; j++) acc[j] = in_int8 ? -128 : 0;
                    for (long ky = 0; ky < kh; ky++) {
                        const long iy = oy * sh - ph + ky;
                        if (iy < 0 || iy >= h) continue;
                        for (long kx = 0; kx < kw; kx++) {
                            const long ix = ox * sw - pw + kx;
                            if (ix < 0 || ix >= w) continue;
                            const uint8_t *p = x + (((size_t)b * h + iy) * w + ix) * c + j0;
                            if (in_int8) for (long j = 0; j < m; j++) { int32_t v = (int8_t)p[j]; acc[j] = v > acc[j] ? v : acc[j]; }
                            else for (long j = 0; j < m; j++) { int32_t v = p[j]; acc[j] = v > acc[j] ? v : acc[j]; }
                        }
                    }
                    uint8_t *o = out + (((size_t)b * oh + oy) * ow + ox) * c + j0;
                    for (long j = 0; j < m; j++) o[j] = (uint8_t)clamp_i32(acc[j], lo, hi);
                }
}

/* MEAN by table: meta = [in_int8, offset, in_shape[6], reduced[6] (0/1)]; acc (int32, one per output element,
 * scratch from the caller) gets the sums in output order; out[o] = table[acc[o] - offset] */
void intq_mean_table(const uint8_t *x, uint8_t *out, const int64_t *meta, const uint8_t *table, int32_t *acc) {
    const int in_int8 = (int)meta[0];
    const int64_t offset = meta[1], *sh = meta + 2, *red = meta + 2 + INTQ_MAXDIM;
    long ostr[INTQ_MAXDIM], nout = 1;
    for (int k = INTQ_MAXDIM - 1; k >= 0; k--) { ostr[k] = red[k] ? 0 : nout; nout *= red[k] ? 1 : (long)sh[k]; }
    memset(acc, 0, (size_t)nout * sizeof(int32_t));
    const long n5 = (long)sh[5];
    for (long a = 0; a < sh[0]; a++)
    for (long b = 0; b < sh[1]; b++)
    for (long c = 0; c < sh[2]; c++)
    for (long d = 0; d < sh[3]; d++)
    for (long e = 0; e < sh[4]; e++) {
        int32_t *o = acc + a * ostr[0] + b * ostr[1] + c * ostr[2] + d * ostr[3] + e * ostr[4];
        if (red[5]) {
            int32_t s = 0;
            if (in_int8) for (long f = 0; f < n5; f++) s += (int8_t)x[f];
            else for (long f = 0; f < n5; f++) s += x[f];
            *o += s;
        } else if (in_int8) for (long f = 0; f < n5; f++) o[f] += (int8_t)x[f];
        else for (long f = 0; f < n5; f++) o[f] += x[f];
        x += n5;
    }
    for (long i = 0; i < nout; i++) out[i] = table[acc[i] - offset];
}

/* ARG_MAX of 1-byte codes (int8 when in_int8) over the middle axis of x [outer][len][inner]: out [outer][inner]
 * int32 (osize 4) or int64 (osize 8), the first index of the maximum (TFLite ArgMinMax with std::greater:
 * only a strictly greater element replaces the current one) */
void intq_arg_max(const uint8_t *x, void *out, long outer, long len, long inner, int in_int8, int osize) {
    const int flip = in_int8 ? 0x80 : 0;              /* int8 order = the order of the bytes xor 0x80 */
    for (long o = 0; o < outer; o++)
        for (long j = 0; j < inner; j++) {
            const uint8_t *p = x + (size_t)o * len * inner + j;
            int best = p[0] ^ flip;
            long idx = 0;
            for (long a = 1; a < len; a++) {
                const int v = p[(size_t)a * inner] ^ flip;
                if (v > best) { best = v; idx = a; }
            }
            if (osize == 8) ((int64_t *)out)[o * inner + j] = idx;
            else ((int32_t *)out)[o * inner + j] = (int32_t)idx;
        }
}
