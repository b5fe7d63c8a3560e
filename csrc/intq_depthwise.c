/* intq fast DEPTHWISE_CONV_2D, bit-exact with intq.runtime.reference.depthwise_conv. Plain C ABI for ctypes.
 *
 * Portable loop per output row (padded taps skipped, as TFLite's reference DepthwiseConv), and for depth
 * multiplier 1 an AVX2 row kernel: sum (x - za) w = sum x w - za sum w with the zero-point term folded into
 * the bias, two taps per vpmaddwd, padded taps reading a row of za. Requantization and threads from
 * intq_common.h. */
#include "intq_common.h"
#include "intq_kernels.h"
#ifdef INTQ_X86
#include "intq_v512.h"
#endif

/* ---- DEPTHWISE_CONV_2D: w32 [kh*kw][cpad] int32 (w - zw), bias/m0 padded to cpad (multiple of 8), shift a
 * shift block of cpad channels (intq_rq_pack, intq_common.h);
 * channel oc reads input channel oc / mult; padded taps are skipped (TFLite reference DepthwiseConv). ---- */
typedef struct {
    int n, h, w, c, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, cout, mult, in_int8, za, zout, lo, hi, cpad;
} dw_geom;
#define DW_MAX_TAPS 64     /* larger windows (kh*kw > 64) use the portable loop */

/* one tap's products into acc for the portable row: channel j reads input channel j / mult. Depth multiplier 1
 * with a fixed code type takes a plain loop over the channels that compilers vectorise (int32 products of
 * (x - za) and w - zw, |.| <= 255 each); the sums wrap as the reference's int32 sums do (uint32). */
static inline void dw_tap_c(const dw_geom *g, const uint8_t *src, const int32_t *wt, int32_t *acc) {
    const int cout = g->cout, za = g->za;
    uint32_t *a = (uint32_t *)acc;
    if (g->mult == 1 && !g->in_int8)
        for (int j = 0; j < cout; j++) a[j] += (uint32_t)(((int32_t)src[j] - za) * wt[j]);
    else if (g->mult == 1)
        for (int j = 0; j < cout; j++) a[j] += (uint32_t)(((int32_t)(int8_t)src[j] - za) * wt[j]);
    else
        for (int j = 0; j < cout; j++) {
            const int ic = j / g->mult;
            const int v = g->in_int8 ? (int)(int8_t)src[ic] : (int)src[ic];
            a[j] += (uint32_t)((v - za) * wt[j]);
        }
}

static void dw_row_c(const dw_geom *g, const uint8_t *x, const int32_t *w32, const int32_t *bias,
                     const int32_t *m0, const int32_t *shift, uint8_t *out, int b, int oy, int32_t *acc) {
    for (int ox = 0; ox < g->ow; ox++) {
        memcpy(acc, bias, (size_t)g->cout * sizeof(int32_t));
        for (int ky = 0; ky < g->kh; ky++) {
            int iy = oy * g->sh - g->ph + ky * g->dh;
            if (iy < 0 || iy >= g->h) continue;
            for (int kx = 0; kx < g->kw; kx++) {
                int ix = ox * g->sw - g->pw + kx * g->dw;
                if (ix < 0 || ix >= g->w) continue;
                dw_tap_c(g, x + (((size_t)b * g->h + iy) * g->w + ix) * g->c,
                         w32 + (size_t)(ky * g->kw + kx) * g->cpad, acc);
            }
        }
        requant_row_c(acc, m0, shift, g->cout, g->zout, g->lo, g->hi,
                      out + (((size_t)b * g->oh + oy) * g->ow + ox) * g->cout);
    }
}

#ifdef INTQ_X86
/* AVX2, 8 channels, 2 * nq (2 or 4) horizontally adjacent pixels whose windows are inside (tap pointers
 * rsrc + off + i * step): one 16-lane step per two pixels, the first pixel in the low 8 bytes of each tap's
 * load and the second in the high 8, the same weights for all; 16 output bytes per two pixels. Compiled for
 * four pixels and for two (dw_quad8, dw_pair8). */
__attribute__((target("avx2"), always_inline))
static inline void dw_pairs8(const uint8_t *const *rsrc, size_t off, size_t step, int npairs, const int16_t *w2,
                             const int32_t *bint, const int32_t *m0, const rq_consts *q, int zout, int lo,
                             int hi, int in_int8, uint8_t *o, const int nq) {
    const codes_k k = codes_init(zout, lo, hi, in_int8);
    const __m256i b0 = _mm256_loadu_si256((const __m256i *)bint);
    __m256i s[4];
    for (int i = 0; i < 2 * nq; i++) s[i] = b0;
    for (int pi = 0; pi < npairs; pi++, w2 += 32) {         /* w2 rows are 16 channels x 2 taps */
        const uint8_t *ta = rsrc[2 * pi] + off, *tb = rsrc[2 * pi + 1] + off;
        const __m256i w = _mm256_loadu_si256((const __m256i *)w2);
        for (int qi = 0; qi < nq; qi++) {
            const size_t o0 = 2 * (size_t)qi * step, o1 = o0 + step;
            __m128i xa = _mm_castpd_si128(_mm_loadh_pd(_mm_castsi128_pd(_mm_loadl_epi64((const __m128i *)(ta + o0))),
                                                       (const double *)(ta + o1)));
            __m128i xb = _mm_castpd_si128(_mm_loadh_pd(_mm_castsi128_pd(_mm_loadl_epi64((const __m128i *)(tb + o0))),
                                                       (const double *)(tb + o1)));
            __m128i il = _mm_unpacklo_epi8(xa, xb), ih = _mm_unpackhi_epi8(xa, xb);
            __m256i l16 = in_int8 ? _mm256_cvtepi8_epi16(il) : _mm256_cvtepu8_epi16(il);
            __m256i h16 = in_int8 ? _mm256_cvtepi8_epi16(ih) : _mm256_cvtepu8_epi16(ih);
            s[2 * qi] = _mm256_add_epi32(s[2 * qi], _mm256_madd_epi16(l16, w));
            s[2 * qi + 1] = _mm256_add_epi32(s[2 * qi + 1], _mm256_madd_epi16(h16, w));
        }
    }
    for (int qi = 0; qi < nq; qi++)
        _mm_storeu_si128((__m128i *)(o + 16 * qi), codes16(&k, rq8(s[2 * qi], m0, q, 0), rq8(s[2 * qi + 1], m0, q, 0)));
}

#define DW_PAIRS8_ARGS const uint8_t *const *rsrc, size_t off, size_t step, int npairs, const int16_t *w2, \
                       const int32_t *bint, const int32_t *m0, const rq_consts *q, int zout, int lo, int hi,   \
                       int in_int8, uint8_t *o
__attribute__((target("avx2"))) static void dw_quad8(DW_PAIRS8_ARGS) {
    dw_pairs8(rsrc, off, step, npairs, w2, bint, m0, q, zout, lo, hi, in_int8, o, 2);
}
__attribute__((target("avx2"))) static void dw_pair8(DW_PAIRS8_ARGS) {
    dw_pairs8(rsrc, off, step, npairs, w2, bint, m0, q, zout, lo, hi, in_int8, o, 1);
}

/* AVX2, depth multiplier 1: 8 channels per vector, int32 multiply-accumulate, vector requantization */
__attribute__((target("avx2")))
static void dw_row_avx2(const dw_geom *gp, const uint8_t *x, const int32_t *w32, const int32_t *bias,
                        const int32_t *m0, const int32_t *shift, uint8_t *out, int b, int oy,
                        const int16_t *w2, const int32_t *bint, const rq_consts *rq, const long *toff,
                        const uint8_t *zrow, int ox_begin, int ox_end) {
    const dw_geom gl = *gp, *g = &gl;     /* a local copy: stores to `out` cannot alias it */
    const int in_int8 = g->in_int8, cout = g->cout, C = g->c, W = g->w, kw = g->kw, dw = g->dw;
    const size_t cpad = (size_t)g->cpad;
    const __m256i za = _mm256_set1_epi32(g->za);
    const codes_k k = codes_init(g->zout, g->lo, g->hi, in_int8);
    const rq_consts q = *rq;
    int ky0 = 0, ky1 = g->kh;
    int iy0 = oy * g->sh - g->ph;
    while (ky0 < ky1 && iy0 + ky0 * g->dh < 0) ky0++;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * g->dh >= g->h) ky1--;
    /* a row whose taps are all inside vertically: tap pointers of output column 0's window at ix = 0, built
     * once; a pixel whose window is inside horizontally too adds its ix0 * C to them */
    const int ntaps = g->kh * kw;
    const uint8_t *rsrc[DW_MAX_TAPS + 1];
    const int vinside = ky0 == 0 && ky1 == g->kh;
    if (vinside) {
        const uint8_t *rowbase = x + ((size_t)b * g->h + iy0) * W * C;
        for (int t = 0; t < ntaps; t++) rsrc[t] = rowbase + toff[t];
        rsrc[ntaps] = rsrc[ntaps - 1];
    }
    for (int ox = ox_begin; ox < ox_end; ox++) {
        int ix0 = ox * g->sw - g->pw;
        int kx0 = 0, kx1 = kw;
        while (kx0 < kx1 && ix0 + kx0 * dw < 0) kx0++;
        while (kx1 > kx0 && ix0 + (kx1 - 1) * dw >= W) kx1--;
        uint8_t *o = out + (((size_t)b * g->oh + oy) * g->ow + ox) * cout;
        int j = 0;
        {
            /* sum (x - za) w = sum x w - za sum w (bint = bias - za sum w over all taps), a padded tap reading
             * zrow (C bytes equal to za) so that it adds za w - za w = 0 as the skipped tap does; two taps per
             * vpmaddwd: bytes of taps 2p and 2p+1 interleaved and widened to int16 pairs, times the (w, w')
             * pairs of w2 [pairs][cpad16][2] (|x w + x' w'| < 2^17: exact) */
            const uint8_t *own[DW_MAX_TAPS + 1], *const *src = own;
            const int npairs = (ntaps + 1) / 2;
            const size_t cp16 = (size_t)(cout + 15) / 16 * 16;
            size_t off = 0;                              /* added to every tap pointer */
            if (vinside && kx0 == 0 && kx1 == kw) {
                src = rsrc;
                off = (size_t)ix0 * C;
            } else {
                const uint8_t *base = x + (((size_t)b * g->h + iy0) * W + ix0) * C;
                for (int t = 0, ky = 0; ky < g->kh; ky++)
                    for (int kx = 0; kx < kw; kx++, t++)
                        own[t] = ky >= ky0 && ky < ky1 && kx >= kx0 && kx < kx1 ? base + toff[t] : zrow;
                own[ntaps] = own[ntaps - 1];             /* odd count: the last pair's second weight is 0 */
            }
            for (; j + 16 <= cout; j += 16) {
                __m256i s0 = _mm256_loadu_si256((const __m256i *)(bint + j));
                __m256i s1 = _mm256_loadu_si256((const __m256i *)(bint + j + 8));
                const int16_t *wp = w2 + (size_t)j * 2;
                for (int pi = 0; pi < npairs; pi++, wp += cp16 * 2) {
                    __m128i xa = _mm_loadu_si128((const __m128i *)(src[2 * pi] + off + j));
                    __m128i xb = _mm_loadu_si128((const __m128i *)(src[2 * pi + 1] + off + j));
                    __m128i il = _mm_unpacklo_epi8(xa, xb), ih = _mm_unpackhi_epi8(xa, xb);
                    __m256i l16 = in_int8 ? _mm256_cvtepi8_epi16(il) : _mm256_cvtepu8_epi16(il);
                    __m256i h16 = in_int8 ? _mm256_cvtepi8_epi16(ih) : _mm256_cvtepu8_epi16(ih);
                    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(l16, _mm256_loadu_si256((const __m256i *)wp)));
                    s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(h16, _mm256_loadu_si256((const __m256i *)(wp + 16))));
                }
                _mm_storeu_si128((__m128i *)(o + j), codes16(&k, rq8(s0, m0, &q, j), rq8(s1, m0, &q, j + 8)));
            }
            for (; j + 8 <= cout; j += 8) {               /* 8 channels: the same pairs on 8-byte loads */
                __m256i s0 = _mm256_loadu_si256((const __m256i *)(bint + j));
                const int16_t *wp = w2 + (size_t)j * 2;
                for (int pi = 0; pi < npairs; pi++, wp += cp16 * 2) {
                    __m128i xa = _mm_loadl_epi64((const __m128i *)(src[2 * pi] + off + j));
                    __m128i xb = _mm_loadl_epi64((const __m128i *)(src[2 * pi + 1] + off + j));
                    __m128i il = _mm_unpacklo_epi8(xa, xb);
                    __m256i l16 = in_int8 ? _mm256_cvtepi8_epi16(il) : _mm256_cvtepu8_epi16(il);
                    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(l16, _mm256_loadu_si256((const __m256i *)wp)));
                }
                _mm_storel_epi64((__m128i *)(o + j), codes8(&k, rq8(s0, m0, &q, j)));
            }
        }
        for (; j < cout; j += 8) {
            int nc = cout - j < 8 ? cout - j : 8;
            __m256i a = _mm256_loadu_si256((const __m256i *)(bias + j));
            for (int ky = ky0; ky < ky1; ky++) {
                const uint8_t *src = x + (((size_t)b * g->h + iy0 + ky * g->dh) * W + ix0 + kx0 * dw) * C + j;
                const int32_t *wrow = w32 + (size_t)(ky * kw + kx0) * cpad + j;
                for (int kx = kx0; kx < kx1; kx++, src += (size_t)dw * C, wrow += cpad) {
                    long long t8 = 0;
                    if (nc == 8) memcpy(&t8, src, 8); else memcpy(&t8, src, (size_t)nc);
                    __m128i xb = _mm_cvtsi64_si128(t8);
                    __m256i xv = in_int8 ? _mm256_cvtepi8_epi32(xb) : _mm256_cvtepu8_epi32(xb);
                    a = _mm256_add_epi32(a, _mm256_mullo_epi32(_mm256_sub_epi32(xv, za), _mm256_loadu_si256((const __m256i *)wrow)));
                }
            }
            __m256i v = mbqm8(a, _mm256_loadu_si256((const __m256i *)(m0 + j)),
                              _mm256_loadu_si256((const __m256i *)(shift + j)));
            long long r8 = _mm_cvtsi128_si64(codes8(&k, v));
            memcpy(o + j, &r8, (size_t)nc);
        }
    }
}

/* The output columns [*oxa, *oxb) of row oy whose windows are inside the image horizontally; when there are
 * at least two, the row's tap pointers at ix = 0 into rsrc (with the last repeated for an odd count) and 1,
 * else 0. A kernel row outside the image (the window leaves it vertically) points into zplane, a row of
 * zero-point bytes as wide as the input, so that its taps add za w - za w = 0 like the skipped taps of the
 * reference, and the top and bottom rows' inside columns go through the multi-pixel kernels too. For the
 * two-pixel row kernels below. */
__attribute__((target("avx2")))
static inline int inside_span(const dw_geom *g, const uint8_t *x, const uint8_t *zplane, int b, int oy, int *oxa,
                              int *oxb, const uint8_t **rsrc) {
    const int iy0 = oy * g->sh - g->ph, ow = g->ow, ntaps = g->kh * g->kw;
    *oxa = (g->pw + g->sw - 1) / g->sw;
    const int last = g->w - 1 - (g->kw - 1) * g->dw + g->pw;   /* ix0 + (kw-1) dw <= w - 1 */
    *oxb = last < 0 ? 0 : last / g->sw + 1;
    if (*oxb > ow) *oxb = ow;
    if (*oxa > *oxb) *oxa = *oxb;
    if (*oxb - *oxa < 2) return 0;
    const size_t c = (size_t)g->c;
    for (int t = 0; t < ntaps; t++) {
        const int iy = iy0 + (t / g->kw) * g->dh;
        const size_t col = (size_t)(t % g->kw) * g->dw * c;
        rsrc[t] = iy >= 0 && iy < g->h ? x + ((size_t)b * g->h + iy) * g->w * c + col : zplane + col;
    }
    rsrc[ntaps] = rsrc[ntaps - 1];
    return 1;
}

/* AVX2, depth multiplier 1 and 8 channels: dw_row_avx2, except that the pixels whose windows are inside
 * (in a row inside vertically) go four, then two at a time through dw_quad8 / dw_pair8 */
__attribute__((target("avx2")))
static void dw_row8_avx2(const dw_geom *g, const uint8_t *x, const int32_t *w32, const int32_t *bias,
                         const int32_t *m0, const int32_t *shift, uint8_t *out, int b, int oy,
                         const int16_t *w2, const int32_t *bint, const rq_consts *rq, const long *toff,
                         const uint8_t *zrow) {
    const int ow = g->ow, ntaps = g->kh * g->kw, C = g->c;
    int oxa, oxb;
    const uint8_t *rsrc[DW_MAX_TAPS + 1];
    if (!inside_span(g, x, zrow, b, oy, &oxa, &oxb, rsrc)) {
        dw_row_avx2(g, x, w32, bias, m0, shift, out, b, oy, w2, bint, rq, toff, zrow, 0, ow);
        return;
    }
    dw_row_avx2(g, x, w32, bias, m0, shift, out, b, oy, w2, bint, rq, toff, zrow, 0, oxa);
    uint8_t *o = out + ((size_t)b * g->oh + oy) * ow * 8;
    int ox = oxa;
    for (; ox + 4 <= oxb; ox += 4)
        dw_quad8(rsrc, (size_t)(ox * g->sw - g->pw) * C, (size_t)g->sw * C, (ntaps + 1) / 2, w2, bint, m0, rq,
                 g->zout, g->lo, g->hi, g->in_int8, o + (size_t)ox * 8);
    for (; ox + 2 <= oxb; ox += 2)
        dw_pair8(rsrc, (size_t)(ox * g->sw - g->pw) * C, (size_t)g->sw * C, (ntaps + 1) / 2, w2, bint, m0, rq,
                 g->zout, g->lo, g->hi, g->in_int8, o + (size_t)ox * 8);
    dw_row_avx2(g, x, w32, bias, m0, shift, out, b, oy, w2, bint, rq, toff, zrow, ox, ow);
}

/* AVX2, np (2 or 4) horizontally adjacent pixels whose windows are inside (tap pointers rsrc + off + i * step),
 * cout a multiple of 8: dw_row_avx2's paired-tap sums for each, each weight vector loaded once for all of
 * them; outputs at o + i * cout, channels from j0. Compiled for np = 4 and np = 2 and for uint8 and int8
 * codes (dw_row2_avx2 picks per row): with in_int8 a run-time value, the widening and packing branched in the
 * inner loop and its accumulators spilled to the stack (the depthwise layers of v1 1.0/224 random took 0.91-0.98x
 * the time without, `ab_builds.py` per record). */
__attribute__((target("avx2"), always_inline))
static inline void dw_pixels(const uint8_t *const *rsrc, size_t off, size_t step, int npairs, int cout,
                             size_t cp16, const int16_t *w2, const int32_t *bint, const int32_t *m0,
                             const rq_consts *rq, const codes_k *kp, int in_int8, uint8_t *o, int j0,
                             const int np) {
    const rq_consts q = *rq;
    codes_k k = *kp;
    k.s8 = in_int8;                              /* a constant in each compiled copy (the output's dtype is the input's) */
#define WIDEN(v) (in_int8 ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v))
    int j = j0;
    for (; j + 16 <= cout; j += 16) {
        __m256i lo[4], hi[4];
        lo[0] = _mm256_loadu_si256((const __m256i *)(bint + j));
        hi[0] = _mm256_loadu_si256((const __m256i *)(bint + j + 8));
        for (int i = 1; i < np; i++) { lo[i] = lo[0]; hi[i] = hi[0]; }
        const int16_t *wp = w2 + (size_t)j * 2;
        for (int pi = 0; pi < npairs; pi++, wp += cp16 * 2) {
            const __m256i wl = _mm256_loadu_si256((const __m256i *)wp);
            const __m256i wh = _mm256_loadu_si256((const __m256i *)(wp + 16));
            const uint8_t *ta = rsrc[2 * pi] + j + off, *tb = rsrc[2 * pi + 1] + j + off;
            for (int i = 0; i < np; i++) {
                __m128i xa = _mm_loadu_si128((const __m128i *)(ta + i * step));
                __m128i xb = _mm_loadu_si128((const __m128i *)(tb + i * step));
                lo[i] = _mm256_add_epi32(lo[i], _mm256_madd_epi16(WIDEN(_mm_unpacklo_epi8(xa, xb)), wl));
                hi[i] = _mm256_add_epi32(hi[i], _mm256_madd_epi16(WIDEN(_mm_unpackhi_epi8(xa, xb)), wh));
            }
        }
        for (int i = 0; i < np; i++)
            _mm_storeu_si128((__m128i *)(o + (size_t)i * cout + j),
                             codes16(&k, rq8(lo[i], m0, &q, j), rq8(hi[i], m0, &q, j + 8)));
    }
    if (j < cout) {                              /* the last 8 channels */
        __m256i a[4];
        a[0] = _mm256_loadu_si256((const __m256i *)(bint + j));
        for (int i = 1; i < np; i++) a[i] = a[0];
        const int16_t *wp = w2 + (size_t)j * 2;
        for (int pi = 0; pi < npairs; pi++, wp += cp16 * 2) {
            const __m256i wl = _mm256_loadu_si256((const __m256i *)wp);
            const uint8_t *ta = rsrc[2 * pi] + j + off, *tb = rsrc[2 * pi + 1] + j + off;
            for (int i = 0; i < np; i++) {
                __m128i xa = _mm_loadl_epi64((const __m128i *)(ta + i * step));
                __m128i xb = _mm_loadl_epi64((const __m128i *)(tb + i * step));
                a[i] = _mm256_add_epi32(a[i], _mm256_madd_epi16(WIDEN(_mm_unpacklo_epi8(xa, xb)), wl));
            }
        }
        for (int i = 0; i < np; i++)
            _mm_storel_epi64((__m128i *)(o + (size_t)i * cout + j), codes8(&k, rq8(a[i], m0, &q, j)));
    }
#undef WIDEN
}

#define DW_PIXELS_ARGS const uint8_t *const *rsrc, size_t off, size_t step, int npairs, int cout, size_t cp16, \
                       const int16_t *w2, const int32_t *bint, const int32_t *m0, const rq_consts *rq,           \
                       const codes_k *kp, uint8_t *o, int j0
typedef void dw_pixels_fn(DW_PIXELS_ARGS);
#define DW_PIXELS_VARIANT(NAME, NP, S8) __attribute__((target("avx2"), noinline)) static void NAME(DW_PIXELS_ARGS) { \
    dw_pixels(rsrc, off, step, npairs, cout, cp16, w2, bint, m0, rq, kp, S8, o, j0, NP);                     \
}
DW_PIXELS_VARIANT(dw_pixel4_u8, 4, 0)
DW_PIXELS_VARIANT(dw_pixel4_s8, 4, 1)
DW_PIXELS_VARIANT(dw_pixel2_u8, 2, 0)
DW_PIXELS_VARIANT(dw_pixel2_s8, 2, 1)
#undef DW_PIXELS_VARIANT

/* The VNNI level's dw_pixels for channels [0, c32), c32 a multiple of 32: 32 channels per step on 16-lane
 * vectors (intq_v512.h). Each tap pair's 32 + 32 input bytes are interleaved in 128-bit lanes (unpack) and
 * regrouped into channels 0-15 and 16-31 (vperm2i128), widened to int16 and multiplied with the (w, w')
 * pairs by vpdpwssd (the same exact products and wrapping sums as vpmaddwd + vpaddd). Compiled for np = 4
 * and np = 2 and for uint8 and int8 codes (dw_row2_avx2 picks per row). */
VNNI_TARGET __attribute__((always_inline))
static inline void dw_pixels_wide(const uint8_t *const *rsrc, size_t off, size_t step, int npairs, int cout,
                                  size_t cp16, const int16_t *w2, const int32_t *bint, const int32_t *m0,
                                  const rq_consts *rq, const int *zlh, int in_int8, uint8_t *o, int c32,
                                  const int np) {
    const codes16_k ck = codes16_init(zlh[0], zlh[1], zlh[2]);
    const int any_left = rq->any_left;
    for (int j = 0; j < c32; j += 32) {
        v512 lo[4], hi[4];
        lo[0] = v512_load(bint + j);
        hi[0] = v512_load(bint + j + 16);
        for (int i = 1; i < np; i++) { lo[i] = lo[0]; hi[i] = hi[0]; }
        const int16_t *wp = w2 + (size_t)j * 2;
        for (int pi = 0; pi < npairs; pi++, wp += cp16 * 2) {
            const v512 wl = v512_load(wp), wh = v512_load(wp + 32);
            const uint8_t *ta = rsrc[2 * pi] + j + off, *tb = rsrc[2 * pi + 1] + j + off;
            for (int i = 0; i < np; i++) {
                const __m256i xa = _mm256_loadu_si256((const __m256i *)(ta + i * step));
                const __m256i xb = _mm256_loadu_si256((const __m256i *)(tb + i * step));
                const __m256i il = _mm256_unpacklo_epi8(xa, xb), ih = _mm256_unpackhi_epi8(xa, xb);
                const __m256i c0 = _mm256_permute2x128_si256(il, ih, 0x20), c1 = _mm256_permute2x128_si256(il, ih, 0x31);
                lo[i] = v512_dpwssd(lo[i], v512_widen(c0, in_int8), wl);
                hi[i] = v512_dpwssd(hi[i], v512_widen(c1, in_int8), wh);
            }
        }
        const rq16_k k0 = rq16_load(rq, m0, j), k1 = rq16_load(rq, m0, j + 16);
        for (int i = 0; i < np; i++) {
            codes16_store(o + (size_t)i * cout + j, rq16(lo[i], &k0, any_left), &ck, 16);
            codes16_store(o + (size_t)i * cout + j + 16, rq16(hi[i], &k1, any_left), &ck, 16);
        }
    }
}

#define DW_WIDE_ARGS const uint8_t *const *rsrc, size_t off, size_t step, int npairs, int cout, size_t cp16,   \
                     const int16_t *w2, const int32_t *bint, const int32_t *m0, const rq_consts *rq,             \
                     const int *zlh, uint8_t *o, int c32
typedef void dw_wide_fn(DW_WIDE_ARGS);
#define DW_WIDE_VARIANT(NAME, NP, S8) VNNI_TARGET __attribute__((noinline)) static void NAME(DW_WIDE_ARGS) {      \
    dw_pixels_wide(rsrc, off, step, npairs, cout, cp16, w2, bint, m0, rq, zlh, S8, o, c32, NP);              \
}
DW_WIDE_VARIANT(dw_pixel4_wide_u8, 4, 0)
DW_WIDE_VARIANT(dw_pixel4_wide_s8, 4, 1)
DW_WIDE_VARIANT(dw_pixel2_wide_u8, 2, 0)
DW_WIDE_VARIANT(dw_pixel2_wide_s8, 2, 1)
#undef DW_WIDE_VARIANT

/* AVX2, depth multiplier 1, cout a multiple of 8 (more than 8): dw_row_avx2, except that the pixels whose
 * windows are inside horizontally go four, then two at a time through dw_pixel4_* / dw_pixel2_* (wide, the
 * VNNI level: their first cout / 32 * 32 channels through dw_pixel4_wide_* / dw_pixel2_wide_*) */
__attribute__((target("avx2")))
static void dw_row2_avx2(const dw_geom *g, const uint8_t *x, const int32_t *w32, const int32_t *bias,
                         const int32_t *m0, const int32_t *shift, uint8_t *out, int b, int oy,
                         const int16_t *w2, const int32_t *bint, const rq_consts *rq, const long *toff,
                         const uint8_t *zrow, int wide) {
    const int ow = g->ow, ntaps = g->kh * g->kw, C = g->c, cout = g->cout;
    int oxa, oxb;
    const uint8_t *rsrc[DW_MAX_TAPS + 1];
    if (!inside_span(g, x, zrow, b, oy, &oxa, &oxb, rsrc)) {
        dw_row_avx2(g, x, w32, bias, m0, shift, out, b, oy, w2, bint, rq, toff, zrow, 0, ow);
        return;
    }
    const codes_k k = codes_init(g->zout, g->lo, g->hi, g->in_int8);
    const int zlh[3] = {g->zout, g->lo, g->hi};        /* the wide kernels' codes16_k, built there */
    const size_t cp16 = (size_t)(cout + 15) / 16 * 16, step = (size_t)g->sw * C;
    const int npairs = (ntaps + 1) / 2, c32 = wide ? cout / 32 * 32 : 0;
    const int s8 = g->in_int8;                    /* the copies compiled for this row's code type */
    dw_pixels_fn *const px[2] = {s8 ? dw_pixel4_s8 : dw_pixel4_u8, s8 ? dw_pixel2_s8 : dw_pixel2_u8};
    dw_wide_fn *const wide_px[2] = {s8 ? dw_pixel4_wide_s8 : dw_pixel4_wide_u8,
                                    s8 ? dw_pixel2_wide_s8 : dw_pixel2_wide_u8};
    dw_row_avx2(g, x, w32, bias, m0, shift, out, b, oy, w2, bint, rq, toff, zrow, 0, oxa);
    uint8_t *o = out + ((size_t)b * g->oh + oy) * ow * cout;
    int ox = oxa;
    for (int v = 0, n = 4; v < 2; v++, n -= 2)          /* four pixels at a time, then two */
        for (; ox + n <= oxb; ox += n) {
            const size_t off = (size_t)(ox * g->sw - g->pw) * C;
            uint8_t *op = o + (size_t)ox * cout;
            if (c32) wide_px[v](rsrc, off, step, npairs, cout, cp16, w2, bint, m0, rq, zlh, op, c32);
            if (c32 < cout) px[v](rsrc, off, step, npairs, cout, cp16, w2, bint, m0, rq, &k, op, c32);
        }
    dw_row_avx2(g, x, w32, bias, m0, shift, out, b, oy, w2, bint, rq, toff, zrow, ox, ow);
}
#endif

typedef struct {
    dw_geom g; const uint8_t *x; const int32_t *w32, *bias, *m0, *shift; uint8_t *out;
    const int16_t *w2; const int32_t *bint; rq_consts rq; const long *toff; uint8_t *zrow;   /* AVX2 paired taps */
    int32_t *acc;                 /* the portable loop's accumulators, cpad per thread */
    int paired;                   /* the AVX2 row kernels run (dw_work_layout decides) */
    int wide;                     /* and their multi-pixel steps take 32 channels at a time (VNNI level) */
} dw_job;

static int dw_task(void *vp, long begin, long end, int thread) {
    const dw_job *d = vp;
    int32_t *acc = d->acc + (size_t)thread * d->g.cpad;
    for (long ri = begin; ri < end; ri++) {
        int b = (int)(ri / d->g.oh), oy = (int)(ri % d->g.oh);
#ifdef INTQ_X86
        if (d->paired) {
            if (d->g.cout == 8)
                dw_row8_avx2(&d->g, d->x, d->w32, d->bias, d->m0, d->shift, d->out, b, oy, d->w2, d->bint,
                             &d->rq, d->toff, d->zrow);
            else if (d->g.cout % 8 == 0)
                dw_row2_avx2(&d->g, d->x, d->w32, d->bias, d->m0, d->shift, d->out, b, oy, d->w2, d->bint,
                             &d->rq, d->toff, d->zrow, d->wide);
            else
                dw_row_avx2(&d->g, d->x, d->w32, d->bias, d->m0, d->shift, d->out, b, oy, d->w2, d->bint,
                            &d->rq, d->toff, d->zrow, 0, d->g.ow);
            continue;
        }
#endif
        dw_row_c(&d->g, d->x, d->w32, d->bias, d->m0, d->shift, d->out, b, oy, acc);
    }
    return 0;
}

/* byte offsets in a call's work memory (64-byte aligned): the AVX2 path's tap offsets and zero-point row,
 * the padded copy of a small padded layer's input (see intq_depthwise), and the portable loop's accumulators
 * (cpad per thread) */
typedef struct { size_t toff, zrow, pad, acc, total; int paired, padded; } dw_work;

/* the input extent every window reads, padding included: rows, columns */
static int dw_reach_h(const dw_geom *g) { return (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1; }
static int dw_reach_w(const dw_geom *g) { return (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1; }

/* the zero-point row (inside_span, dw_row_avx2): the input's width, or the padded copy's, in bytes + slack */
static size_t zplane_bytes(const dw_geom *g) {
    const int w = dw_reach_w(g) > g->w ? dw_reach_w(g) : g->w;
    return (size_t)w * g->c + 64;
}

static dw_work dw_work_layout(const dw_geom *g, int nt, int level) {
    dw_work w;
    size_t o = 0;
    const int taps = g->kh * g->kw;
#ifdef INTQ_X86
    w.paired = level >= 1 && g->mult == 1 && taps <= DW_MAX_TAPS;
#else
    w.paired = 0;
    (void)level;
#endif
    w.toff = o;
    if (w.paired) o += align64(((size_t)taps + 1) * sizeof(long));
    w.zrow = o;                                   /* a row of zero-point bytes as wide as the (padded) input */
    if (w.paired) o += align64(zplane_bytes(g));
    /* a small stride-1 layer with padding (<= 256 output pixels, so a quarter or more of them touch the
     * border) runs on a copy of its input with the padding written out as zero-point bytes: every window is
     * then inside and goes through the multi-pixel kernels. Only copies of up to 64 KB: the caller makes the
     * copy before the threads split the layer, and at 2 threads MobileNet v2's 78-147 KB copies (7x7x960,
     * 14x14x384/576) cost about what they saved; at stride 2 the copy, four times the output, cost more
     * than it saved (v2's 14x14x576 -> 7x7 layer 1.15x). */
    const int h2 = dw_reach_h(g), w2 = dw_reach_w(g);
    const size_t pbytes = (size_t)g->n * h2 * w2 * g->c;
    w.padded = w.paired && (long)g->oh * g->ow <= 256 && g->sh == 1 && g->sw == 1
               && (g->ph > 0 || g->pw > 0 || h2 > g->h || w2 > g->w) && pbytes <= ((size_t)1 << 16);
    w.pad = o;
    if (w.padded) o += align64(pbytes + 16);
    w.acc = o;
    w.total = o + align64((size_t)nt * g->cpad * sizeof(int32_t));
    return w;
}

/* bytes of work memory intq_depthwise needs (a plan allocates them once) */
long intq_depthwise_work_bytes(const int32_t *gm, int nthreads, int level) {
    dw_geom g;
    memcpy(&g, gm, sizeof g);
    return (long)dw_work_layout(&g, nthreads > 0 ? nthreads : 1, level).total;
}

/* w2 int16 [ceil(kh*kw/2)][cpad16][2]: taps (2p, 2p+1) per channel, the missing odd tap 0; bint int32 [cpad16]:
 * bias - z_in * sum_t w[t] (wrapping), both from the Python prepare. work: intq_depthwise_work_bytes() bytes,
 * 64-byte aligned, or NULL (then allocated here for the call). */
int intq_depthwise(const int32_t *gm, const uint8_t *x, const int32_t *w32, const int32_t *bias,
                   const int32_t *m0, const int32_t *shift, const int16_t *w2, const int32_t *bint, uint8_t *out,
                   int nthreads, int level, void *work) {
    dw_job d;
    memcpy(&d.g, gm, sizeof d.g);
    d.x = x; d.w32 = w32; d.bias = bias; d.m0 = m0; d.shift = shift; d.out = out;
    d.w2 = w2; d.bint = bint; d.toff = NULL; d.zrow = NULL;
    const int nt = nthreads > 0 ? nthreads : 1;
    const dw_work w = dw_work_layout(&d.g, nt, level);
    uint8_t *owned, *mem = work_take(work, w.total, &owned);
    if (!mem) return 1;
    d.acc = (int32_t *)(mem + w.acc);
    d.paired = w.paired;
    d.wide = w.paired && level >= 2;
    rq_view(&d.rq, shift, d.g.cpad);
#ifdef INTQ_X86
    if (w.padded) {                               /* zero-point bytes around a copy of the input */
        const size_t c = (size_t)d.g.c, h2 = (size_t)dw_reach_h(&d.g), w2 = (size_t)dw_reach_w(&d.g);
        uint8_t *px = mem + w.pad;
        memset(px, (uint8_t)d.g.za, (size_t)d.g.n * h2 * w2 * c + 16);
        const size_t cols = (size_t)d.g.w < w2 - (size_t)d.g.pw ? (size_t)d.g.w : w2 - (size_t)d.g.pw;
        for (int b = 0; b < d.g.n; b++)
            for (int iy = 0; iy < d.g.h && (size_t)(iy + d.g.ph) < h2; iy++)
                copy_block(px + (((size_t)b * h2 + (size_t)(iy + d.g.ph)) * w2 + (size_t)d.g.pw) * c,
                       x + ((size_t)b * d.g.h + (size_t)iy) * d.g.w * c, cols * c);
        d.x = px;
        d.g.h = (int)h2;
        d.g.w = (int)w2;
        d.g.ph = d.g.pw = 0;
    }
    if (w.paired) {
        int taps = d.g.kh * d.g.kw;
        long *toff = (long *)(mem + w.toff);
        for (int t = 0; t < taps; t++)
            toff[t] = ((long)(t / d.g.kw) * d.g.dh * d.g.w + (long)(t % d.g.kw) * d.g.dw) * d.g.c;
        toff[taps] = toff[taps - 1];              /* the odd last pair repeats a tap with weight 0 */
        d.toff = toff;
        d.zrow = mem + w.zrow;
        memset(d.zrow, (uint8_t)d.g.za, zplane_bytes(&d.g));
    }
#endif
    int err = intq_parallel_for(nt, (long)d.g.n * d.g.oh, dw_task, &d);
    free(owned);
    return err;
}
