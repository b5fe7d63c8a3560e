/* intq fast integer kernels: CONV_2D (im2col tile + u8 x s8 GEMM, fused requantization) and
 * DEPTHWISE_CONV_2D, bit-exact with intq.runtime.reference. Plain C ABI for ctypes; no Python headers.
 *
 * Arithmetic (paper eq. 7-8): activations are handled as uint8 a (int8 inputs are xor 0x80, zero point +128),
 * weights as int8 b (uint8 weights were stored as w-128, zero point -128 by the Python prepare). With K the
 * real depth, acc = sum a*b - za*sum_k b - zb*sum_k a + K*za*zb (mod 2^32) equals the reference's
 * sum (a-za)(b-zb) because int32 accumulation wraps in both. Padded taps read a = za so they add 0.
 * Requantization = TFLite MultiplyByQuantizedMultiplier with double rounding (intq.scheme.fixedpoint).
 * Dispatch: AVX512-VNNI (vpdpbusd) when __builtin_cpu_supports says so, else portable C compiled twice
 * (target avx2 and default) and chosen at run time. Threads: OpenMP over pixel tiles. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define INTQ_X86 1
#endif

#define NR 32      /* output channels per packed block */
#define MR 6       /* pixel rows per micro-kernel call */
#define TILE 48    /* pixel rows per im2col tile (multiple of MR) */

/* ---- requantization: TFLite MultiplyByQuantizedMultiplier, double rounding ---- */
static inline int32_t mbqm(int32_t x, int32_t m, int32_t shift) {
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int32_t xs = (int32_t)((uint32_t)x << left);
    int64_t ab = (int64_t)xs * (int64_t)m;              /* m >= 0, so no INT32_MIN*INT32_MIN case */
    int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
    int32_t hi = (int32_t)((ab + nudge) / (1LL << 31)); /* C division truncates toward zero, as SRDHM */
    int32_t mask = (int32_t)((1LL << right) - 1);
    int32_t rem = hi & mask, thr = (mask >> 1) + (hi < 0 ? 1 : 0);
    return (hi >> right) + (rem > thr ? 1 : 0);
}

typedef struct {
    int n, h, w, c;               /* input NHWC */
    int kh, kw, sh, sw, dh, dw, ph, pw, oh, ow;
    int k, kp, cout, np;          /* real depth kh*kw*c, padded to 4; channels, padded to NR */
    int in_int8, out_int8;
    int za, zb, zout, lo, hi;     /* za: activation zero point as uint8 code (+128 for int8) */
} conv_geom;

/* epilogue for rows [0, rows) of an int32 tile acc[TILE][np] */
static void epilogue(const conv_geom *g, const int32_t *acc, const int32_t *rowsum, int rows,
                     const int32_t *colterm, const int32_t *m0, const int32_t *shift, uint8_t *out) {
    for (int r = 0; r < rows; r++) {
        uint32_t rt = (uint32_t)(-(int64_t)g->zb * rowsum[r]);
        const int32_t *a = acc + (size_t)r * g->np;
        uint8_t *o = out + (size_t)r * g->cout;
        for (int j = 0; j < g->cout; j++) {
            int32_t v = (int32_t)((uint32_t)a[j] + rt + (uint32_t)colterm[j]);
            int32_t q = mbqm(v, m0[j], shift[j]) + g->zout;
            q = q < g->lo ? g->lo : (q > g->hi ? g->hi : q);
            o[j] = (uint8_t)q;
        }
    }
}

/* im2col of TILE pixels starting at flat output pixel p0 into A[TILE][kp] (uint8), row sums into rs */
static int im2col(const conv_geom *g, const uint8_t *x, long p0, long ptotal, uint8_t *A, int32_t *rs) {
    int rows = (int)((ptotal - p0) < TILE ? (ptotal - p0) : TILE);
    uint8_t flip = g->in_int8 ? 0x80 : 0, pad = (uint8_t)g->za;
    for (int r = 0; r < TILE; r++) {
        uint8_t *dst = A + (size_t)r * g->kp;
        if (r >= rows) { memset(dst, 0, g->kp); rs[r] = 0; continue; }
        long p = p0 + r;
        int ox = (int)(p % g->ow), oy = (int)((p / g->ow) % g->oh), b = (int)(p / ((long)g->ow * g->oh));
        int32_t s = 0;
        uint8_t *d = dst;
        for (int ky = 0; ky < g->kh; ky++) {
            int iy = oy * g->sh - g->ph + ky * g->dh;
            for (int kx = 0; kx < g->kw; kx++) {
                int ix = ox * g->sw - g->pw + kx * g->dw;
                if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) {
                    memset(d, pad, g->c);
                    s += (int32_t)pad * g->c;
                } else {
                    const uint8_t *src = x + (((size_t)b * g->h + iy) * g->w + ix) * g->c;
                    for (int i = 0; i < g->c; i++) { uint8_t v = src[i] ^ flip; d[i] = v; s += v; }
                }
                d += g->c;
            }
        }
        memset(d, 0, g->kp - g->k);
        rs[r] = s;
    }
    return rows;
}

/* portable GEMM on packed B: layout [np/NR][kp/4][NR][4] int8 */
#define GEMM_PORTABLE_BODY                                                                    \
    for (int r = 0; r < TILE; r += MR)                                                        \
        for (int nb = 0; nb < g->np / NR; nb++) {                                             \
            int32_t c[MR][NR];                                                                \
            memset(c, 0, sizeof c);                                                           \
            const int8_t *bp = B + (size_t)nb * g->kp * NR;                                   \
            for (int k4 = 0; k4 < g->kp / 4; k4++, bp += NR * 4)                              \
                for (int i = 0; i < MR; i++) {                                                \
                    const uint8_t *a = A + (size_t)(r + i) * g->kp + 4 * k4;                  \
                    for (int j = 0; j < NR; j++)                                              \
                        c[i][j] += a[0] * bp[4 * j] + a[1] * bp[4 * j + 1] + a[2] * bp[4 * j + 2] \
                                   + a[3] * bp[4 * j + 3];                                    \
                }                                                                             \
            for (int i = 0; i < MR; i++)                                                      \
                memcpy(acc + (size_t)(r + i) * g->np + nb * NR, c[i], sizeof c[i]);           \
        }

static void gemm_c(const conv_geom *g, const uint8_t *A, const int8_t *B, int32_t *acc) { GEMM_PORTABLE_BODY }
#ifdef INTQ_X86
__attribute__((target("avx2,fma")))
static void gemm_avx2(const conv_geom *g, const uint8_t *A, const int8_t *B, int32_t *acc) { GEMM_PORTABLE_BODY }

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void gemm_vnni(const conv_geom *g, const uint8_t *A, const int8_t *B, int32_t *acc) {
    for (int r = 0; r < TILE; r += MR) {
        const uint8_t *a0 = A + (size_t)r * g->kp;
        for (int nb = 0; nb < g->np / NR; nb++) {
            __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                    c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
            const int8_t *bp = B + (size_t)nb * g->kp * NR;
            size_t kp = g->kp;
            for (size_t k = 0; k < kp; k += 4, bp += NR * 4) {
                __m512i b0 = _mm512_loadu_si512(bp), b1 = _mm512_loadu_si512(bp + 64);
                __m512i a;
                int32_t t;
#define ROW(i, x0, x1) memcpy(&t, a0 + (i) * kp + k, 4); a = _mm512_set1_epi32(t);          \
                x0 = _mm512_dpbusd_epi32(x0, a, b0); x1 = _mm512_dpbusd_epi32(x1, a, b1);
                ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21)
                ROW(3, c30, c31) ROW(4, c40, c41) ROW(5, c50, c51)
#undef ROW
            }
            int32_t *o = acc + (size_t)r * g->np + nb * NR;
            size_t s = g->np;
            _mm512_storeu_si512(o, c00); _mm512_storeu_si512(o + 16, c01);
            _mm512_storeu_si512(o + s, c10); _mm512_storeu_si512(o + s + 16, c11);
            _mm512_storeu_si512(o + 2 * s, c20); _mm512_storeu_si512(o + 2 * s + 16, c21);
            _mm512_storeu_si512(o + 3 * s, c30); _mm512_storeu_si512(o + 3 * s + 16, c31);
            _mm512_storeu_si512(o + 4 * s, c40); _mm512_storeu_si512(o + 4 * s + 16, c41);
            _mm512_storeu_si512(o + 5 * s, c50); _mm512_storeu_si512(o + 5 * s + 16, c51);
        }
    }
}
#endif

typedef void (*gemm_fn)(const conv_geom *, const uint8_t *, const int8_t *, int32_t *);

/* 0 portable, 1 avx2, 2 avx512-vnni; `force` >= 0 caps the level (tests) */
int intq_isa_level(void) {
#ifdef INTQ_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vnni"))
        return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
#endif
    return 0;
}

static gemm_fn pick_gemm(int level) {
#ifdef INTQ_X86
    if (level >= 2) return gemm_vnni;
    if (level >= 1) return gemm_avx2;
#endif
    (void)level;
    return gemm_c;
}

int intq_conv(const int32_t *geom, const uint8_t *x, const int8_t *B, const int32_t *colterm,
              const int32_t *m0, const int32_t *shift, uint8_t *out, int nthreads, int level) {
    conv_geom g;
    memcpy(&g, geom, sizeof g);
    gemm_fn gemm = pick_gemm(level);
    long ptotal = (long)g.n * g.oh * g.ow, ntiles = (ptotal + TILE - 1) / TILE;
    int err = 0;
#pragma omp parallel num_threads(nthreads > 0 ? nthreads : 1)
    {
        uint8_t *A = aligned_alloc(64, ((size_t)TILE * g.kp + 63) / 64 * 64);
        int32_t *acc = aligned_alloc(64, (size_t)TILE * g.np * 4);
        int32_t rs[TILE];
        if (!A || !acc) {
#pragma omp atomic write
            err = 1;
        } else {
#pragma omp for schedule(static)
            for (long t = 0; t < ntiles; t++) {
                long p0 = t * TILE;
                int rows = im2col(&g, x, p0, ptotal, A, rs);
                gemm(&g, A, B, acc);
                epilogue(&g, acc, rs, rows, colterm, m0, shift, out + (size_t)p0 * g.cout);
            }
        }
        free(A);
        free(acc);
    }
    return err;
}

/* ---- DEPTHWISE_CONV_2D: w16 [kh*kw][cout] int16 (w - zw), channel oc reads input oc / mult ---- */
#define DW_BODY                                                                                      \
    long rowsN = (long)n * oh;                                                                       \
    _Pragma("omp parallel for schedule(static) num_threads(nthreads > 0 ? nthreads : 1)")           \
    for (long rowi = 0; rowi < rowsN; rowi++) {                                                      \
        int b = (int)(rowi / oh), oy = (int)(rowi % oh);                                             \
        int32_t *acc = malloc((size_t)cout * 4);                                                     \
        int16_t *xv = malloc((size_t)cout * 2);                                                      \
        for (int ox = 0; ox < ow; ox++) {                                                            \
            for (int j = 0; j < cout; j++) acc[j] = bias[j];                                         \
            for (int ky = 0; ky < kh; ky++) {                                                        \
                int iy = oy * sh - ph + ky * dh;                                                     \
                if (iy < 0 || iy >= h) continue;                                                     \
                for (int kx = 0; kx < kw; kx++) {                                                    \
                    int ix = ox * sw - pw + kx * dw;                                                 \
                    if (ix < 0 || ix >= w) continue;                                                 \
                    const uint8_t *src = x + (((size_t)b * h + iy) * w + ix) * c;                    \
                    const int16_t *wt = w16 + (size_t)(ky * kw + kx) * cout;                         \
                    if (mult == 1) {                                                                 \
                        if (in_int8)                                                                 \
                            for (int j = 0; j < cout; j++)                                           \
                                acc[j] = (int32_t)((uint32_t)acc[j]                                  \
                                         + (uint32_t)(((int32_t)(int8_t)src[j] - za) * wt[j]));      \
                        else                                                                         \
                            for (int j = 0; j < cout; j++)                                           \
                                acc[j] = (int32_t)((uint32_t)acc[j]                                  \
                                         + (uint32_t)(((int32_t)src[j] - za) * wt[j]));              \
                    } else {                                                                         \
                        for (int j = 0; j < cout; j++) {                                             \
                            int v = in_int8 ? (int)(int8_t)src[j / mult] : (int)src[j / mult];     \
                            xv[j] = (int16_t)(v - za);                                               \
                        }                                                                            \
                        for (int j = 0; j < cout; j++)                                               \
                            acc[j] = (int32_t)((uint32_t)acc[j] + (uint32_t)((int32_t)xv[j] * wt[j])); \
                    }                                                                                \
                }                                                                                    \
            }                                                                                        \
            uint8_t *o = out + (((size_t)b * oh + oy) * ow + ox) * cout;                             \
            for (int j = 0; j < cout; j++) {                                                         \
                int32_t q = mbqm(acc[j], m0[j], shift[j]) + zout;                                    \
                o[j] = (uint8_t)(q < lo ? lo : (q > hi ? hi : q));                                   \
            }                                                                                        \
        }                                                                                            \
        free(acc);                                                                                   \
        free(xv);                                                                                    \
    }

#define DW_ARGS const int32_t *gm, const uint8_t *x, const int16_t *w16, const int32_t *bias, \
                const int32_t *m0, const int32_t *shift, uint8_t *out, int nthreads
#define DW_UNPACK int n = gm[0], h = gm[1], w = gm[2], c = gm[3], kh = gm[4], kw = gm[5], sh = gm[6],       \
    sw = gm[7], dh = gm[8], dw = gm[9], ph = gm[10], pw = gm[11], oh = gm[12], ow = gm[13], cout = gm[14], \
    mult = gm[15], in_int8 = gm[16], za = gm[17], zout = gm[18], lo = gm[19], hi = gm[20];                \
    (void)c;

static void dw_c(DW_ARGS) { DW_UNPACK DW_BODY }
#ifdef INTQ_X86
__attribute__((target("avx2,fma"))) static void dw_avx2(DW_ARGS) { DW_UNPACK DW_BODY }
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void dw_avx512(DW_ARGS) { DW_UNPACK DW_BODY }
#endif

int intq_depthwise(DW_ARGS, int level) {
#ifdef INTQ_X86
    if (level >= 2) { dw_avx512(gm, x, w16, bias, m0, shift, out, nthreads); return 0; }
    if (level >= 1) { dw_avx2(gm, x, w16, bias, m0, shift, out, nthreads); return 0; }
#endif
    (void)level;
    dw_c(gm, x, w16, bias, m0, shift, out, nthreads);
    return 0;
}
