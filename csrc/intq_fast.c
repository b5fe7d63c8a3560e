/* intq fast integer kernels: CONV_2D and FULLY_CONNECTED (im2col tile + u8 x s8 GEMM, fused
 * requantization), bit-exact with intq.runtime.reference. Plain C ABI for ctypes; no Python headers.
 *
 * Arithmetic (paper eq. 7-8): activations are handled as uint8 a (int8 inputs are xor 0x80, zero point +128),
 * weights as int8 b (uint8 weights were stored as w-128, zero point -128 by the Python prepare). With K the
 * real depth, acc = sum a*b - za*sum_k b - zb*sum_k a + K*za*zb (mod 2^32) equals the reference's
 * sum (a-za)(b-zb) because int32 accumulation wraps in both. Padded taps read a = za so they add 0.
 * Requantization = TFLite MultiplyByQuantizedMultiplier with double rounding (intq.scheme.fixedpoint).
 * Dispatch by intq_isa_level (__builtin_cpu_supports at load): AVX512-VNNI (vpdpbusd on the u8 x s8 form
 * above), AVX2 (vpmaddwd on int16 w - z_w, so no row sums), or portable C (int16 dot products over k,
 * gemm_dot). Threads: intq_parallel_for (intq_threads.c, a work-stealing pool of workers) over pixel tiles
 * (or output-channel blocks when there are few pixels).
 * DEPTHWISE_CONV_2D is in intq_depthwise.c, the shared helpers in intq_common.h. */
#include "intq_common.h"
#include "intq_kernels.h"
#ifdef INTQ_X86
#include "intq_v512.h"
#endif

#define NR 32      /* output channels per packed block */
#define MR 6       /* pixel rows per micro-kernel call */
#define TILE 48    /* most pixel rows per im2col tile, except one tile of up to 2*TILE (multiple of MR) */
#define NARROW_ROWS 12  /* tiles are multiples of 12 rows: the AVX2 kernels take 3, 4, 6 or 12 */

typedef struct {
    int n, h, w, c;               /* input NHWC */
    int kh, kw, sh, sw, dh, dw, ph, pw, oh, ow;
    int k, kp, cout, np;          /* real depth kh*kw*c, padded to 4; channels, padded to NR */
    int in_int8, out_int8;
    int za, zb, zout, lo, hi;     /* za: activation zero point as uint8 code (+128 for int8) */
    int lp;                       /* AVX2 row segments (im2col16_seg): each kernel row's kw*C taps padded to lp
                                   * (even) in B16 and the int16 tile; 0: B16 rows of kp */
} conv_geom;

/* the portable level's epilogue for rows [0, rows) of an int32 tile acc[tile][np], channels [j0, min(j1, cout)):
 * the column term added (its products need no row sums), 64 channels at a time, then requant_row_c */
static void epilogue(const conv_geom *g, const int32_t *acc, int rows, const int32_t *colterm, const int32_t *m0,
                     const int32_t *shift, uint8_t *out, int j0, int j1) {
    const int je = j1 < g->cout ? j1 : g->cout;
    int32_t v[64];
    for (int r = 0; r < rows; r++) {
        const int32_t *a = acc + (size_t)r * g->np;
        uint8_t *o = out + (size_t)r * g->cout;
        for (int j = j0; j < je; j += 64) {
            const int n = je - j < 64 ? je - j : 64;
            for (int i = 0; i < n; i++) v[i] = (int32_t)((uint32_t)a[j + i] + (uint32_t)colterm[j + i]);
            requant_row_c(v, m0 + j, shift + j, n, g->zout, g->lo, g->hi, o + j);
        }
    }
}

/* copy n bytes with at most two fixed-size moves (no libc call for the few-byte taps of small-C convs) */
static inline void copy_bytes(uint8_t *d, const uint8_t *s, size_t n) {
    if (n > 32) { memcpy(d, s, n); return; }
    if (n >= 16) { memcpy(d, s, 16); memcpy(d + n - 16, s + n - 16, 16); return; }
    if (n >= 8) { memcpy(d, s, 8); memcpy(d + n - 8, s + n - 8, 8); return; }
    if (n >= 4) { memcpy(d, s, 4); memcpy(d + n - 4, s + n - 4, 4); return; }
    for (size_t i = 0; i < n; i++) d[i] = s[i];
}

/* im2col of `tile` pixels starting at flat output pixel p0 into A[tile][kp] (uint8, int8 inputs xor 0x80,
 * padded taps = za, depth padding = 0); row sums (needed when zb != 0) into rs. Returns the real rows.
 * Raw bytes are copied: the whole tile at once for a 1x1 stride-1 unpadded conv; else pixel by pixel, a
 * pixel whose window is inside horizontally taking a whole kw*C run per kernel row (as one 16-byte move when
 * the run is shorter and the input has 16 bytes left). Such a move may write up to 16 bytes past its run:
 * a pixel's kernel rows are built in order and pixels in order, each overwriting all of its own kp bytes
 * (A has 64 bytes of slack). int8 rows are flipped in one pass at the end. The geometry is read into locals
 * once: stores to A (uint8_t) may alias *g as far as the compiler knows. */
#define IM2COL_BODY                                                                                \
    const int H = g->h, W = g->w, KH = g->kh, KW = g->kw, SH = g->sh, SW = g->sw, DH = g->dh;       \
    const int DW = g->dw, PH = g->ph, PW = g->pw, OH = g->oh, OW = g->ow, zb = g->zb;               \
    const int rows = (int)((ptotal - p0) < tile ? (ptotal - p0) : tile);                           \
    const uint8_t flip = g->in_int8 ? 0x80 : 0, pad = (uint8_t)(g->za ^ flip);                     \
    const size_t c = (size_t)g->c, kwc = (size_t)KW * c, k = (size_t)g->k, kp = (size_t)g->kp;     \
    const size_t xlen = (size_t)g->n * H * W * c;                                                  \
    if (KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0) {                          \
        if (kp == k) copy_block(A, x + (size_t)p0 * c, (size_t)rows * c);                          \
        else for (int r = 0; r < rows; r++) {                                                      \
            memcpy(A + (size_t)r * kp, x + (size_t)(p0 + r) * c, c);                               \
            memset(A + (size_t)r * kp + k, 0, kp - k);                                             \
        }                                                                                          \
    } else {                                                                                       \
        int ox = (int)(p0 % OW), oy = (int)((p0 / OW) % OH), b = (int)(p0 / ((long)OW * OH));      \
        for (int r = 0; r < rows; r++) {                                                           \
            uint8_t *dst = A + (size_t)r * kp, *d = dst;                                           \
            const int ix0 = ox * SW - PW, iy0 = oy * SH - PH;                                      \
            const size_t off0 = ((size_t)b * H * W + (size_t)ix0) * c;  /* + iy * W * c (wraps)*/   \
            if (DW == 1 && ix0 >= 0 && ix0 + KW <= W) {                                            \
                for (int ky = 0, iy = iy0; ky < KH; ky++, iy += DH, d += kwc) {                    \
                    if (iy < 0 || iy >= H) { memset(d, pad, kwc); continue; }                      \
                    const size_t so = off0 + (size_t)iy * W * c;                                   \
                    if (kwc <= 16 && so + 16 <= xlen) memcpy(d, x + so, 16);                       \
                    else copy_bytes(d, x + so, kwc);                                               \
                }                                                                                  \
            } else {                                                                               \
                for (int ky = 0, iy = iy0; ky < KH; ky++, iy += DH, d += kwc) {                    \
                    if (iy < 0 || iy >= H) { memset(d, pad, kwc); continue; }                      \
                    const uint8_t *srow = x + ((size_t)b * H + iy) * W * c;                        \
                    uint8_t *dk = d;                                                               \
                    for (int kx = 0; kx < KW; kx++, dk += c) {                                     \
                        int ix = ix0 + kx * DW;                                                    \
                        if (ix < 0 || ix >= W) memset(dk, pad, c);                                 \
                        else copy_bytes(dk, srow + (size_t)ix * c, c);                             \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
            if (kp > k) { const uint32_t z = 0; memcpy(dst + k, &z, 4); }                          \
            if (++ox == OW) { ox = 0; if (++oy == OH) { oy = 0; b++; } }                           \
        }                                                                                          \
    }                                                                                              \
    ROW_PASS(A, kp, k, rows, flip, zb != 0, rs);                                                   \
    const int fill = (rows + NARROW_ROWS - 1) / NARROW_ROWS * NARROW_ROWS; /* what the GEMMs read */  \
    for (int r = rows; r < fill; r++) { memset(A + (size_t)r * kp, 0, kp); rs[r] = 0; }             \
    return rows;
#define IM2COL_ARGS const conv_geom *g, const uint8_t *x, long p0, long ptotal, int tile, uint8_t *A, int32_t *rs

/* the tile's last pass over rows [0, rows) of A (row stride kp, k real bytes): int8 codes flipped in place when
 * flip = 0x80, and each row's byte sum into rs when sums (else 0) */
static void row_pass(uint8_t *A, size_t kp, size_t k, int rows, uint8_t flip, int sums, int32_t *rs) {
    for (int r = 0; r < rows; r++) {
        uint8_t *dst = A + (size_t)r * kp;
        if (flip) for (size_t i = 0; i < k; i++) dst[i] ^= 0x80;
        int32_t sum = 0;
        if (sums) for (size_t i = 0; i < k; i++) sum += dst[i];
        rs[r] = sum;
    }
}
#define ROW_PASS row_pass
static int im2col(IM2COL_ARGS) { IM2COL_BODY }
#undef ROW_PASS
#ifdef INTQ_X86
/* row sums of rows [0, rows) of k bytes at stride kp, 32 bytes per vpsadbw (then 16, then one by one) */
__attribute__((target("avx2"))) static void row_sums_avx2(const uint8_t *A, size_t kp, size_t k, int rows,
                                                          int32_t *rs) {
    const __m256i zero = _mm256_setzero_si256();
    for (int r = 0; r < rows; r++) {
        const uint8_t *a = A + (size_t)r * kp;
        __m256i s4 = zero;
        size_t i = 0;
        for (; i + 32 <= k; i += 32) s4 = _mm256_add_epi64(s4, _mm256_sad_epu8(_mm256_loadu_si256((const __m256i *)(a + i)), zero));
        __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(s4), _mm256_extracti128_si256(s4, 1));
        if (i + 16 <= k) {
            s2 = _mm_add_epi64(s2, _mm_sad_epu8(_mm_loadu_si128((const __m128i *)(a + i)), _mm_setzero_si128()));
            i += 16;
        }
        int64_t sum = _mm_cvtsi128_si64(s2) + _mm_extract_epi64(s2, 1);
        for (; i < k; i++) sum += a[i];
        rs[r] = (int32_t)sum;
    }
}

/* row_pass in AVX2: the flip 32 bytes per step, the sums by row_sums_avx2 */
__attribute__((target("avx2"))) static void row_pass_avx2(uint8_t *A, size_t kp, size_t k, int rows, uint8_t flip,
                                                           int sums, int32_t *rs) {
    if (flip) {
        const __m256i f = _mm256_set1_epi8((char)0x80);
        for (int r = 0; r < rows; r++) {
            uint8_t *a = A + (size_t)r * kp;
            size_t i = 0;
            for (; i + 32 <= k; i += 32)
                _mm256_storeu_si256((__m256i *)(a + i), _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(a + i)), f));
            for (; i < k; i++) a[i] ^= 0x80;
        }
    }
    if (sums) row_sums_avx2(A, kp, k, rows, rs);
    else memset(rs, 0, (size_t)rows * sizeof(int32_t));
}
#define ROW_PASS row_pass_avx2
__attribute__((target("avx2"))) static int im2col_general_avx2(IM2COL_ARGS) { IM2COL_BODY }
#undef ROW_PASS

/* How many pixels from output pixel (b, oy, ox) on, at most `left` and all in output row oy, have windows
 * inside the image (0 if that pixel's does not) and leave `reach` readable input bytes from the start of
 * their last kernel row (vector loads past the window); *first = the first window's input offset. For the
 * tile builders that move such runs with pointer steps (horizontal dilation 1). */
static inline int inside_run(const conv_geom *g, int b, int oy, int ox, int left, size_t reach, size_t *first) {
    const int ix0 = ox * g->sw - g->pw, iy0 = oy * g->sh - g->ph;
    const int ox_last = g->pw + g->w - g->kw < 0 ? -1 : (g->pw + g->w - g->kw) / g->sw;
    if (iy0 < 0 || iy0 + (g->kh - 1) * g->dh >= g->h || ix0 < 0 || ox > ox_last) return 0;
    const size_t c = (size_t)g->c, xlen = (size_t)g->n * g->h * g->w * c;
    const size_t last_row = (size_t)(g->kh - 1) * g->dh * g->w * c, pstride = (size_t)g->sw * c;
    int run = ox_last - ox + 1 < g->ow - ox ? ox_last - ox + 1 : g->ow - ox;
    if (run > left) run = left;
    *first = (((size_t)b * g->h + iy0) * g->w + ix0) * c;
    while (run > 0 && *first + (size_t)(run - 1) * pstride + last_row + reach > xlen) run--;
    return run;
}

/* im2col of a conv whose whole window fits one 32-byte row (kh*kw*C <= 32, kw*C <= 16, horizontal dilation
 * 1; the 3x3x3 first layers): a pixel whose window is inside the image is assembled in a register, each
 * kernel row's 16-byte load broadcast to both lanes and moved to its place by vpshufb (masks built per
 * call, zero past K), and written with one 32-byte store (rows are written in order, each overwriting the 4
 * or more bytes the one before spilled; A has 64 bytes of slack); other pixels are built tap by tap in a
 * 32-byte scratch row; the int8 flip and the row sum (vpsadbw) are taken on the register before the store.
 * Same bytes as IM2COL_BODY. */
__attribute__((target("avx2"))) static int im2col_short_avx2(IM2COL_ARGS) {
    const int H = g->h, W = g->w, KH = g->kh, KW = g->kw, SH = g->sh, SW = g->sw, DH = g->dh;
    const int PH = g->ph, PW = g->pw, OH = g->oh, OW = g->ow;
    const int rows = (int)((ptotal - p0) < tile ? (ptotal - p0) : tile);
    const uint8_t flip = g->in_int8 ? 0x80 : 0, pad = (uint8_t)(g->za ^ flip);
    const size_t c = (size_t)g->c, kwc = (size_t)KW * c, k = (size_t)g->k, kp = (size_t)g->kp;
    const size_t rstride = (size_t)DH * W * c, pstride = (size_t)SW * c;
    uint8_t mk[3][32] __attribute__((aligned(32)));      /* kh <= 3 */
    __m256i m[3];
    for (int ky = 0; ky < KH; ky++) {
        for (int i = 0; i < 32; i++) {
            const int j = i - ky * (int)kwc;
            mk[ky][i] = j >= 0 && j < (int)kwc ? (uint8_t)j : 0x80;
        }
        m[ky] = _mm256_load_si256((const __m256i *)mk[ky]);
    }
    uint8_t fm[32] __attribute__((aligned(32)));
    for (int i = 0; i < 32; i++) fm[i] = (size_t)i < k ? flip : 0;
    const __m256i fv = _mm256_load_si256((const __m256i *)fm), zero = _mm256_setzero_si256();
    const int sums = g->zb != 0;
    /* a built row: flipped (int8), stored, its byte sum (bytes past k are 0) into rs */
#define FINISH_ROW(v, q) do {                                                                            \
        __m256i fl = _mm256_xor_si256((v), fv);                                                          \
        _mm256_storeu_si256((__m256i *)(A + (size_t)(q) * kp), fl);                                       \
        int32_t sum = 0;                                                                                 \
        if (sums) {                                                                                      \
            __m256i s4 = _mm256_sad_epu8(fl, zero);                                                      \
            __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(s4), _mm256_extracti128_si256(s4, 1));     \
            sum = (int32_t)(_mm_cvtsi128_si64(s2) + _mm_extract_epi64(s2, 1));                           \
        }                                                                                                \
        rs[q] = sum;                                                                                     \
    } while (0)
    int ox = (int)(p0 % OW), oy = (int)((p0 / OW) % OH), b = (int)(p0 / ((long)OW * OH));
    int r = 0;
    while (r < rows) {
        const int ix0 = ox * SW - PW, iy0 = oy * SH - PH;
        size_t first = 0;
        const int run = inside_run(g, b, oy, ox, rows - r, 16, &first);
        if (run > 0) {
            const uint8_t *base = x + first;
            for (int j = 0; j < run; j++, base += pstride) {
                __m256i v = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)base)),
                                                m[0]);
                for (int ky = 1; ky < KH; ky++)
                    v = _mm256_or_si256(v, _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(
                                            _mm_loadu_si128((const __m128i *)(base + ky * rstride))), m[ky]));
                FINISH_ROW(v, r + j);
            }
            r += run;
            ox += run;
        }
        if (run == 0) {                               /* one pixel tap by tap, in a scratch row */
            uint8_t row[32] __attribute__((aligned(32)));
            memset(row, 0, sizeof row);
            uint8_t *dk = row;
            for (int ky = 0, iy = iy0; ky < KH; ky++, iy += DH)
                for (int kx = 0, ix = ix0; kx < KW; kx++, ix++, dk += c) {
                    if (iy < 0 || iy >= H || ix < 0 || ix >= W) memset(dk, pad, c);
                    else memcpy(dk, x + (((size_t)b * H + iy) * W + ix) * c, c);
                }
            FINISH_ROW(_mm256_load_si256((const __m256i *)row), r);
            r++;
            ox++;
        }
        if (ox == OW) { ox = 0; if (++oy == OH) { oy = 0; b++; } }
    }
#undef FINISH_ROW
    const int fill = (rows + NARROW_ROWS - 1) / NARROW_ROWS * NARROW_ROWS;
    for (int q = rows; q < fill; q++) { memset(A + (size_t)q * kp, 0, kp); rs[q] = 0; }
    return rows;
}

__attribute__((target("avx2"))) static int im2col_avx2(IM2COL_ARGS) {
    if (g->dw == 1 && g->kh <= 3 && (size_t)g->kw * g->c <= 16 && (size_t)g->kh * g->kw * g->c <= 32
        && g->kp <= 32 && !(g->kh == 1 && g->kw == 1))
        return im2col_short_avx2(g, x, p0, ptotal, tile, A, rs);
    return im2col_general_avx2(g, x, p0, ptotal, tile, A, rs);
}
#endif

#ifdef INTQ_X86
/* AVX2: the uint8 tile widened to int16, so the GEMM broadcasts an (a[k], a[k+1]) pair with one load (int8
 * bytes xor 0x80 on the way when flip = 0x80) */
__attribute__((target("avx2"))) static void widen_avx2(const uint8_t *A, int16_t *A16, size_t n, uint8_t flip) {
    const __m128i f = _mm_set1_epi8((char)flip);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(A16 + i),
                            _mm256_cvtepu8_epi16(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(A + i)), f)));
    for (; i < n; i++) A16[i] = (uint8_t)(A[i] ^ flip);
}

/* AVX2 int16 tile of a conv in row segments (g->lp > 0, horizontal dilation 1), read straight from the
 * uint8 input: row r holds, per kernel row, the window's kw*C codes (int8 xor 0x80) then padding up to lp,
 * whose weights are 0, so kp16 = kh*lp and K stays pair-aligned for vpmaddwd without a uint8 tile or a
 * widening pass. Runs of pixels whose windows lie inside the image move each kernel row as 16-code vectors
 * (32-byte stores that may run past the segment: segments and rows are written in order, each overwriting
 * what the one before spilled, and the buffer has 64 bytes of slack); other pixels go tap by tap, taps
 * outside the image reading za. Rows [rows, round12(rows)) are zeroed. Returns the real rows. */
__attribute__((target("avx2")))
static int im2col16_seg(const conv_geom *g, const uint8_t *x, long p0, long ptotal, int tile, int16_t *A16) {
    const int H = g->h, W = g->w, KH = g->kh, KW = g->kw, SH = g->sh, SW = g->sw, DH = g->dh;
    const int PH = g->ph, PW = g->pw, OH = g->oh, OW = g->ow, lp = g->lp;
    const int rows = (int)((ptotal - p0) < tile ? (ptotal - p0) : tile);
    const uint8_t flip = g->in_int8 ? 0x80 : 0;
    const int16_t pad = (int16_t)g->za;
    const size_t c = (size_t)g->c, L = (size_t)KW * c, L16 = (L + 15) / 16 * 16, kp = (size_t)KH * lp;
    const size_t rstride = (size_t)DH * W * c, pstride = (size_t)SW * c;
    const __m128i f = _mm_set1_epi8((char)flip);
    int ox = (int)(p0 % OW), oy = (int)((p0 / OW) % OH), b = (int)(p0 / ((long)OW * OH));
    int r = 0;
    while (r < rows) {
        const int ix0 = ox * SW - PW, iy0 = oy * SH - PH;
        size_t first = 0;
        const int run = inside_run(g, b, oy, ox, rows - r, L16, &first);
        if (run > 0) {
            const uint8_t *base = x + first;
            int16_t *d = A16 + (size_t)r * kp;
            if (L <= 16) {          /* one vector per kernel row; the general loop alone was 1.04-1.11x slower */
                for (int j = 0; j < run; j++, base += pstride, d += kp) {
                    const uint8_t *sp = base;
                    for (int ky = 0; ky < KH; ky++, sp += rstride)
                        _mm256_storeu_si256((__m256i *)(d + (size_t)ky * lp), _mm256_cvtepu8_epi16(
                                                _mm_xor_si128(_mm_loadu_si128((const __m128i *)sp), f)));
                }
            } else {
                for (int j = 0; j < run; j++, base += pstride, d += kp) {
                    const uint8_t *sp = base;
                    for (int ky = 0; ky < KH; ky++, sp += rstride)
                        for (size_t i = 0; i < L; i += 16)
                            _mm256_storeu_si256((__m256i *)(d + (size_t)ky * lp + i), _mm256_cvtepu8_epi16(
                                                    _mm_xor_si128(_mm_loadu_si128((const __m128i *)(sp + i)), f)));
                }
            }
            r += run;
            ox += run;
        }
        if (run == 0) {                               /* one pixel tap by tap */
            int16_t *d = A16 + (size_t)r * kp;
            for (int ky = 0, iy = iy0; ky < KH; ky++, iy += DH, d += lp) {
                int16_t *dk = d;
                const size_t row = ((size_t)b * H + (size_t)(iy < 0 ? 0 : iy)) * W;
                for (int kx = 0, ix = ix0; kx < KW; kx++, ix++, dk += c) {
                    if (iy < 0 || iy >= H || ix < 0 || ix >= W) for (size_t i = 0; i < c; i++) dk[i] = pad;
                    else for (size_t i = 0; i < c; i++) dk[i] = (uint8_t)(x[(row + ix) * c + i] ^ flip);
                }
                for (size_t i = L; i < (size_t)lp; i++) d[i] = 0;
            }
            r++;
            ox++;
        }
        if (ox == OW) { ox = 0; if (++oy == OH) { oy = 0; b++; } }
    }
    const int fill = (rows + NARROW_ROWS - 1) / NARROW_ROWS * NARROW_ROWS;
    memset(A16 + (size_t)rows * kp, 0, (size_t)(fill - rows) * kp * sizeof(int16_t));
    return rows;
}
#endif

/* The portable level's products: dot products over k of the int16 tile A16 [rows][kt] (the codes, widened)
 * with BT [np][kt] (w - z_w, zero past k), two rows x four channels per step, channels [j0, j1) (multiples
 * of 4), rows a multiple of 2. Written as plain reductions over k so that compilers vectorise them with their
 * widening multiply-adds (GCC -O3: pmaddwd on x86-64's baseline SSE2, smull/smlal on AArch64 NEON); the sums
 * are uint32, wrapping as the reference's int32 sums do. */
static void gemm_dot(size_t kt, const int16_t *A16, const int16_t *BT, int32_t *acc, size_t np, int rows, int j0,
                     int j1) {
    for (int r = 0; r < rows; r += 2) {
        const int16_t *a0 = A16 + (size_t)r * kt, *a1 = a0 + kt;
        for (int j = j0; j < j1; j += 4) {
            const int16_t *b0 = BT + (size_t)j * kt, *b1 = b0 + kt, *b2 = b1 + kt, *b3 = b2 + kt;
            uint32_t s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
            for (size_t k = 0; k < kt; k++) {
                s00 += (uint32_t)(a0[k] * b0[k]); s01 += (uint32_t)(a0[k] * b1[k]);
                s02 += (uint32_t)(a0[k] * b2[k]); s03 += (uint32_t)(a0[k] * b3[k]);
                s10 += (uint32_t)(a1[k] * b0[k]); s11 += (uint32_t)(a1[k] * b1[k]);
                s12 += (uint32_t)(a1[k] * b2[k]); s13 += (uint32_t)(a1[k] * b3[k]);
            }
            int32_t *o = acc + (size_t)r * np + j;
            o[0] = (int32_t)s00; o[1] = (int32_t)s01; o[2] = (int32_t)s02; o[3] = (int32_t)s03;
            o[np] = (int32_t)s10; o[np + 1] = (int32_t)s11; o[np + 2] = (int32_t)s12; o[np + 3] = (int32_t)s13;
        }
    }
}

/* rows [0, rows) of the uint8 tile A [.][kp] (k real bytes) as int16 rows of kt, zero past k */
static void widen_rows(const uint8_t *A, size_t kp, size_t k, int16_t *A16, size_t kt, int rows) {
    for (int r = 0; r < rows; r++) {
        const uint8_t *a = A + (size_t)r * kp;
        int16_t *d = A16 + (size_t)r * kt;
        for (size_t i = 0; i < k; i++) d[i] = a[i];
        for (size_t i = k; i < kt; i++) d[i] = 0;
    }
}
#ifdef INTQ_X86
/* AVX2: B16 is [np/NR][kp/2][NR][2] int16; vpmaddwd of (a[k], a[k+1]) pairs is exact (no int16 saturation,
 * unlike vpmaddubsw). 3 rows x 32 channels = 12 accumulators. */
__attribute__((target("avx2,fma")))
static void gemm_avx2(const conv_geom *g, const int16_t *A, const int16_t *B16, int32_t *acc, int rows,
                      int nb0, int nb1) {
    size_t kp = g->kp, s = g->np;
    for (int nb = nb0; nb < nb1; nb++) {      /* weight block outer: it stays in L1/L2 across rows */
        for (int r = 0; r < rows; r += 3) {
            const int16_t *a0 = A + (size_t)r * kp, *a1 = a0 + kp, *a2 = a1 + kp;
            __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00,
                    c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00;
            const __m256i *bp = (const __m256i *)(B16 + (size_t)nb * kp * NR);
            for (size_t k = 0; k < kp; k += 2, bp += 4) {
                __m256i b0 = _mm256_loadu_si256(bp), b1 = _mm256_loadu_si256(bp + 1),
                        b2 = _mm256_loadu_si256(bp + 2), b3 = _mm256_loadu_si256(bp + 3), a;
                int32_t pair;                                   /* (a[k], a[k+1]) as int16 pair */
#define ROW2(ap, x0, x1, x2, x3) memcpy(&pair, ap + k, 4); a = _mm256_set1_epi32(pair);                 \
                x0 = _mm256_add_epi32(x0, _mm256_madd_epi16(a, b0));                                   \
                x1 = _mm256_add_epi32(x1, _mm256_madd_epi16(a, b1));                                   \
                x2 = _mm256_add_epi32(x2, _mm256_madd_epi16(a, b2));                                   \
                x3 = _mm256_add_epi32(x3, _mm256_madd_epi16(a, b3));
                ROW2(a0, c00, c01, c02, c03) ROW2(a1, c10, c11, c12, c13) ROW2(a2, c20, c21, c22, c23)
#undef ROW2
            }
            int32_t *o = acc + (size_t)r * s + nb * NR;
            __m256i *o0 = (__m256i *)o, *o1 = (__m256i *)(o + s), *o2 = (__m256i *)(o + 2 * s);
            _mm256_storeu_si256(o0, c00); _mm256_storeu_si256(o0 + 1, c01);
            _mm256_storeu_si256(o0 + 2, c02); _mm256_storeu_si256(o0 + 3, c03);
            _mm256_storeu_si256(o1, c10); _mm256_storeu_si256(o1 + 1, c11);
            _mm256_storeu_si256(o1 + 2, c12); _mm256_storeu_si256(o1 + 3, c13);
            _mm256_storeu_si256(o2, c20); _mm256_storeu_si256(o2 + 1, c21);
            _mm256_storeu_si256(o2 + 2, c22); _mm256_storeu_si256(o2 + 3, c23);
        }
    }
}

/* AVX2 on the first nv (1..3) 8-channel vectors of one B16 block [kp/2][NR][2], R rows at a time (R*nv = 12
 * accumulators): the last block of a layer with C_out % 32 in 1..24 (8, 16, 24-channel layers) */
#define GEMM_NARROW(NAME, R, NV)                                                                         \
__attribute__((target("avx2")))                                                                         \
static void NAME(size_t kp, const int16_t *A, const int16_t *bblk, int32_t *o, size_t s, int rows) {     \
    for (int r = 0; r < rows; r += R) {                                                                  \
        __m256i c[R][NV];                                                                                \
        for (int i = 0; i < R; i++)                                                                      \
            for (int v = 0; v < NV; v++) c[i][v] = _mm256_setzero_si256();                              \
        const __m256i *bp = (const __m256i *)bblk;                                                       \
        for (size_t k = 0; k < kp; k += 2, bp += 4) {                                                    \
            __m256i b[NV];                                                                               \
            for (int v = 0; v < NV; v++) b[v] = _mm256_loadu_si256(bp + v);                              \
            for (int i = 0; i < R; i++) {                                                                \
                int32_t pair;                                                                            \
                memcpy(&pair, A + (size_t)(r + i) * kp + k, 4);                                          \
                __m256i a = _mm256_set1_epi32(pair);                                                     \
                for (int v = 0; v < NV; v++) c[i][v] = _mm256_add_epi32(c[i][v], _mm256_madd_epi16(a, b[v])); \
            }                                                                                            \
        }                                                                                                \
        for (int i = 0; i < R; i++)                                                                      \
            for (int v = 0; v < NV; v++) _mm256_storeu_si256((__m256i *)(o + (size_t)(r + i) * s + 8 * v), c[i][v]); \
    }                                                                                                    \
}
GEMM_NARROW(gemm_narrow1, 12, 1)
GEMM_NARROW(gemm_narrow2, 6, 2)
GEMM_NARROW(gemm_narrow3, 4, 3)

/* AVX2, one or two rows (1x1 images, FULLY_CONNECTED): reads the int8 packing B [np/NR][kp/4][NR][4], half
 * the bytes of B16, since these products are bound by weight traffic. Each 16-byte chunk holds 4 channels x
 * 4 depths; widened to int16 and multiplied by (a[k..k+3]) with vpmaddwd it leaves two partial sums per
 * channel, added pairwise at the end (int32 wrapping sums, so the order does not matter). */
__attribute__((target("avx2")))
static void gemv_avx2(const conv_geom *g, const uint8_t *A, const int8_t *B, int32_t *acc, int rows, int nb0,
                      int nb1) {
    const size_t kp = g->kp;
    for (int r = 0; r < rows; r++) {
        const uint8_t *a = A + (size_t)r * kp;
        for (int nb = nb0; nb < nb1; nb++) {
            __m256i s[8];
            for (int u = 0; u < 8; u++) s[u] = _mm256_setzero_si256();
            const int8_t *bp = B + (size_t)nb * kp * NR;
            for (size_t k = 0; k < kp; k += 4, bp += NR * 4) {
                int32_t t;
                memcpy(&t, a + k, 4);
                __m256i av = _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(t)));
                for (int u = 0; u < 8; u++) {
                    __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(bp + 16 * u)));
                    s[u] = _mm256_add_epi32(s[u], _mm256_madd_epi16(w, av));
                }
            }
            int32_t *o = acc + (size_t)r * g->np + nb * NR;
            for (int u = 0; u < 8; u += 2) {          /* hadd: [c0 c1 c4 c5 | c2 c3 c6 c7] -> channel order */
                __m256i h = _mm256_permute4x64_epi64(_mm256_hadd_epi32(s[u], s[u + 1]), 0xD8);
                _mm256_storeu_si256((__m256i *)(o + 4 * u), h);
            }
        }
    }
}

/* the VNNI level's 16-lane operations (v512_*, emulated in C under INTQ_EMULATE_VNNI): intq_v512.h */

VNNI_TARGET
static void gemm_vnni(const conv_geom *g, const uint8_t *A, const int8_t *B, int32_t *acc, int rows,
                      int nb0, int nb1) {
    for (int nb = nb0; nb < nb1; nb++) {
        for (int r = 0; r < rows; r += MR) {
            const uint8_t *a0 = A + (size_t)r * g->kp;
            v512 c00 = v512_zero(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
            const int8_t *bp = B + (size_t)nb * g->kp * NR;
            size_t kp = g->kp;
            for (size_t k = 0; k < kp; k += 4, bp += NR * 4) {
                v512 b0 = v512_load(bp), b1 = v512_load(bp + 64);
                v512 a;
                int32_t t;
#define ROW(i, x0, x1) memcpy(&t, a0 + (i) * kp + k, 4); a = v512_bcast(t);                        \
                x0 = v512_dpbusd(x0, a, b0); x1 = v512_dpbusd(x1, a, b1);
                ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21)
                ROW(3, c30, c31) ROW(4, c40, c41) ROW(5, c50, c51)
#undef ROW
            }
            int32_t *o = acc + (size_t)r * g->np + nb * NR;
            size_t s = g->np;
            v512_store(o, c00); v512_store(o + 16, c01);
            v512_store(o + s, c10); v512_store(o + s + 16, c11);
            v512_store(o + 2 * s, c20); v512_store(o + 2 * s + 16, c21);
            v512_store(o + 3 * s, c30); v512_store(o + 3 * s + 16, c31);
            v512_store(o + 4 * s, c40); v512_store(o + 4 * s + 16, c41);
            v512_store(o + 5 * s, c50); v512_store(o + 5 * s + 16, c51);
        }
    }
}

/* The requantization epilogue on 16 int32 lanes (rq16, intq_v512.h), channels outer so that a 16-channel
 * group's constants stay in registers over the rows. Channels [j0, min(j1, cout)) of rows [0, rows). */
VNNI_TARGET
static void epilogue_vnni(const conv_geom *g, const rq_consts *q, const int32_t *acc, const int32_t *rowsum,
                          int rows, const int32_t *colterm, const int32_t *m0, uint8_t *out, int j0, int j1) {
    int32_t rt[2 * TILE + NARROW_ROWS];           /* the zb * row-sum term per row (rows <= the tile cap) */
    for (int r = 0; r < rows; r++) rt[r] = (int32_t)(uint32_t)(-(int64_t)g->zb * rowsum[r]);
    const int cout = g->cout, je = j1 < cout ? j1 : cout, any_left = q->any_left;
    const size_t np = (size_t)g->np;
    const codes16_k ck = codes16_init(g->zout, g->lo, g->hi);
    for (int j = j0; j < je; j += 16) {
        const v512 ct = v512_load(colterm + j);
        const rq16_k k = rq16_load(q, m0, j);
        const int n = je - j < 16 ? je - j : 16;
        for (int r = 0; r < rows; r++) {
            const v512 x = v512_add(v512_add(v512_load(acc + r * np + j), v512_bcast(rt[r])), ct);
            codes16_store(out + (size_t)r * cout + j, rq16(x, &k, any_left), &ck, n);
        }
    }
}
#endif

#ifdef INTQ_X86
/* AVX2 epilogue over channels [j0, min(j1, cout rounded up to 8)): 32 channels per step, then 8. A layer
 * with 8, 16 or 24 channels, all of them in range, runs over the tile's outputs flat, 32 codes (several
 * rows) per step. Compiled eight times (epilogue_avx2 below): with the zb * row-sum term or without it (zb = 0,
 * every AVX2 int16 tile: no broadcast and add per vector), with or without per-channel left shifts, for uint8
 * or int8 codes, so the loops test none of the three (v2's convs 0.95-0.99x the time of one copy that tested
 * the last two, ab_builds.py). */
__attribute__((target("avx2"), always_inline))
static inline void epilogue_avx2_body(const conv_geom *g, const rq_consts *qp, const int32_t *acc,
                                      const int32_t *rowsum, int rows, const int32_t *colterm, const int32_t *m0,
                                      uint8_t *out, int j0, int j1, const int with_rt, const int any_left,
                                      const int s8) {
    rq_consts q = *qp;                        /* local copies: stores to `out` cannot alias them */
    q.any_left = any_left;                    /* constants of the variant: no test in the loops */
    const int cout = g->cout, zb = g->zb, c8 = (cout + 7) / 8 * 8, je = j1 < c8 ? j1 : c8;
    const size_t np = (size_t)g->np;
    const codes_k k = codes_init(g->zout, g->lo, g->hi, s8);
#define RT(r) (with_rt ? _mm256_set1_epi32((int32_t)(uint32_t)(-(int64_t)zb * rowsum[r])) : _mm256_setzero_si256())
#define ACC(r, c) _mm256_loadu_si256((const __m256i *)(acc + (r) * np + (c)))
#define RQ(rt, r, c) rq8(_mm256_add_epi32(with_rt ? _mm256_add_epi32(ACC(r, c), rt) : ACC(r, c),              \
                                          _mm256_loadu_si256((const __m256i *)(colterm + (c)))), m0, &q, (c))
    if (cout < 32 && cout % 8 == 0 && j0 == 0 && je == cout) {
        const size_t total = (size_t)rows * cout;
        size_t f = 0, r = 0;
        int c = 0;                                /* output f is row r, channel c */
#define NEXT8 if ((c += 8) == cout) { c = 0; r++; }
        for (; f + 32 <= total; f += 32) {
            __m256i v0 = RQ(RT(r), r, c); NEXT8
            __m256i v1 = RQ(RT(r), r, c); NEXT8
            __m256i v2 = RQ(RT(r), r, c); NEXT8
            __m256i v3 = RQ(RT(r), r, c); NEXT8
            _mm256_storeu_si256((__m256i *)(out + f), codes32(&k, v0, v1, v2, v3));
        }
        for (; f < total; f += 8) {
            _mm_storel_epi64((__m128i *)(out + f), codes8(&k, RQ(RT(r), r, c)));
            NEXT8
        }
#undef NEXT8
        return;
    }
    for (size_t r = 0; r < (size_t)rows; r++) {
        uint8_t *o = out + r * cout;
        const __m256i rt = RT(r);
        int j = j0;
        for (; j + 32 <= je; j += 32) {
            __m256i b = codes32(&k, RQ(rt, r, j), RQ(rt, r, j + 8), RQ(rt, r, j + 16), RQ(rt, r, j + 24));
            if (j + 32 <= cout) _mm256_storeu_si256((__m256i *)(o + j), b);
            else {
                uint8_t tmp[32];
                _mm256_storeu_si256((__m256i *)tmp, b);
                memcpy(o + j, tmp, (size_t)(cout - j));
            }
        }
        for (; j < je; j += 8) {
            __m128i w = codes8(&k, RQ(rt, r, j));
            if (j + 8 <= cout) _mm_storel_epi64((__m128i *)(o + j), w);
            else {
                uint8_t tmp[16];
                _mm_storeu_si128((__m128i *)tmp, w);
                memcpy(o + j, tmp, (size_t)(cout - j));
            }
        }
    }
#undef RQ
#undef ACC
#undef RT
}

/* the body compiled for each (row-sum term, any left shift, int8 output): their tests leave the loops */
#define EPILOGUE_VARIANT(NAME, RT, LEFT, S8)                                                                  \
__attribute__((target("avx2"))) static void NAME(const conv_geom *g, const rq_consts *qp, const int32_t *acc,   \
                                                 const int32_t *rowsum, int rows, const int32_t *colterm,      \
                                                 const int32_t *m0, uint8_t *out, int j0, int j1) {            \
    epilogue_avx2_body(g, qp, acc, rowsum, rows, colterm, m0, out, j0, j1, RT, LEFT, S8);                     \
}
EPILOGUE_VARIANT(epilogue_avx2_000, 0, 0, 0)
EPILOGUE_VARIANT(epilogue_avx2_001, 0, 0, 1)
EPILOGUE_VARIANT(epilogue_avx2_010, 0, 1, 0)
EPILOGUE_VARIANT(epilogue_avx2_011, 0, 1, 1)
EPILOGUE_VARIANT(epilogue_avx2_100, 1, 0, 0)
EPILOGUE_VARIANT(epilogue_avx2_101, 1, 0, 1)
EPILOGUE_VARIANT(epilogue_avx2_110, 1, 1, 0)
EPILOGUE_VARIANT(epilogue_avx2_111, 1, 1, 1)
#undef EPILOGUE_VARIANT

static void epilogue_avx2(const conv_geom *g, const rq_consts *qp, const int32_t *acc, const int32_t *rowsum,
                          int rows, const int32_t *colterm, const int32_t *m0, uint8_t *out, int j0, int j1) {
    typedef void (*epi_fn)(const conv_geom *, const rq_consts *, const int32_t *, const int32_t *, int,
                           const int32_t *, const int32_t *, uint8_t *, int, int);
    static const epi_fn variants[8] = {epilogue_avx2_000, epilogue_avx2_001, epilogue_avx2_010, epilogue_avx2_011,
                                       epilogue_avx2_100, epilogue_avx2_101, epilogue_avx2_110, epilogue_avx2_111};
    variants[(g->zb != 0) * 4 + (qp->any_left != 0) * 2 + (g->out_int8 != 0)](g, qp, acc, rowsum, rows, colterm, m0,
                                                                              out, j0, j1);
}
#endif

/* fill a shift block (intq_common.h) for the Python prepare */
void intq_rq_pack(const int32_t *m0, const int32_t *shift, int np, int32_t *block) { rq_pack(m0, shift, np, block); }

/* 0 portable, 1 avx2, 2 avx512-vnni (callers pass a level <= this one; tests run every lower level) */
int intq_isa_level(void) {
#ifdef INTQ_X86
    __builtin_cpu_init();
#ifdef INTQ_EMULATE_VNNI
    if (__builtin_cpu_supports("avx2")) return 2;
#endif
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vnni"))
        return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
#endif
    return 0;
}

typedef struct {
    conv_geom g;
    conv_geom g16;                /* the AVX2 int16 path's view of g: B16 = w - z_w, so no row sums (zb = 0) */
    conv_geom gw;                 /* g16 with kp = the int16 tile's and B16's row length (kh*lp in segments) */
    const uint8_t *x; const int8_t *B; const int16_t *B16; const int32_t *colterm, *m0, *shift, *colterm16;
    const int16_t *BT;            /* the portable level's [np][kt] int16 copy (w - z_w): B16 at level 0 */
    size_t kt;                    /* k rounded up to 8: BT's and the portable int16 tile's row length */
    uint8_t *out; int level; long ptotal, ntiles; int by_channel, nbt, tile;
    int cap;                      /* rows of a tile's buffers: tile rounded up to NARROW_ROWS */
    rq_consts rq;                 /* the AVX2 epilogue's view of the shift block */
    uint8_t *scratch;             /* scratch_bytes() per thread, `stride` bytes apart (conv_work_layout) */
    size_t stride;
    int *built;                   /* by_channel: built[i * ntiles + t]: thread i has built its copy of tile t */
} conv_job;

enum { TILE_PORTABLE, TILE_VNNI, TILE_VNNI_DIRECT, TILE_W16, TILE_GEMV };

/* scratch bytes of one tile's inputs: A (uint8, with im2col's slack), A16 (int16: AVX2, portable), rs */
static size_t a_bytes(const conv_job *c) { return align64((size_t)c->cap * c->g.kp) + 64; }
static size_t a16_bytes(const conv_job *c) {
    return align64((size_t)c->cap * (c->level == 0 ? c->kt : (size_t)c->gw.kp) * 2) + 64;
}

#ifdef INTQ_X86
/* AVX2 products of a widened tile (rows rounded up to 12 are valid, zero past `rows`) with blocks [nb0, nb1):
 * a last block with under 32 real channels runs only its 8-channel vectors, on more rows */
__attribute__((target("avx2")))
static void gemm16_tile(const conv_job *c, const conv_geom *g, const int16_t *A16, int32_t *acc, int rows, int nb0,
                        int nb1) {
    int rem = nb1 == c->nbt ? g->cout - (nb1 - 1) * NR : NR, nv = (rem + 7) / 8;
    int full = nv <= 3 ? nb1 - 1 : nb1;
    gemm_avx2(g, A16, c->B16, acc, (rows + 2) / 3 * 3, nb0, full);
    if (full < nb1) {
        const int16_t *bb = c->B16 + (size_t)full * g->kp * NR;
        int32_t *ob = acc + (size_t)full * NR;
        if (nv == 1) gemm_narrow1(g->kp, A16, bb, ob, g->np, (rows + 11) / 12 * 12);
        else if (nv == 2) gemm_narrow2(g->kp, A16, bb, ob, g->np, (rows + 5) / 6 * 6);
        else gemm_narrow3(g->kp, A16, bb, ob, g->np, (rows + 3) / 4 * 4);
    }
}
#endif

/* build tile t's GEMM inputs into A / A16 / rs; returns the real rows, the kind of product in *mode */
static int build_tile(const conv_job *c, long t, uint8_t *A, int16_t *A16, int32_t *rs, int *mode) {
    const conv_geom *g = &c->g;
    const long p0 = t * c->tile;
    const int tile = c->tile;
#ifdef INTQ_X86
    if (c->level >= 2) {
        /* a uint8 1x1 stride-1 unpadded conv with K % 4 == 0: the GEMM reads the pixel rows in place (only
         * the row sums are built) when the rows it reads, rounded up to MR, lie in the input */
        const long left = c->ptotal - p0;
        const int rows = (int)(left < tile ? left : tile);
        if (g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 && g->kp == g->k
            && !g->in_int8 && p0 + (rows + MR - 1) / MR * MR <= c->ptotal) {
            *mode = TILE_VNNI_DIRECT;
            if (g->zb) row_sums_avx2(c->x + (size_t)p0 * g->kp, g->kp, g->k, rows, rs);
            else memset(rs, 0, (size_t)rows * sizeof(int32_t));
            return rows;
        }
        *mode = TILE_VNNI;
        return im2col_avx2(g, c->x, p0, c->ptotal, tile, A, rs);
    }
    if (c->level == 1) {
        /* B16 holds w - z_w, so no row sums: the tile is built with zb = 0 (rs = 0) and colterm16.
         * A 1x1 stride-1 unpadded conv with K % 4 == 0 widens its pixel rows straight from the input. */
        const long left = c->ptotal - p0;
        const int direct = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0
                           && g->kp == g->k;
        *mode = TILE_W16;
        if (direct && left > 2) {
            int rows = (int)(left < tile ? left : tile);
            int rp = (rows + NARROW_ROWS - 1) / NARROW_ROWS * NARROW_ROWS;
            widen_avx2(c->x + (size_t)p0 * g->c, A16, (size_t)rows * g->kp, g->in_int8 ? 0x80 : 0);
            memset(A16 + (size_t)rows * g->kp, 0, (size_t)(rp - rows) * g->kp * sizeof(int16_t));
            memset(rs, 0, (size_t)tile * sizeof(int32_t));
            return rows;
        }
        if (g->lp && left > 2) {
            memset(rs, 0, (size_t)c->cap * sizeof(int32_t));
            return im2col16_seg(&c->gw, c->x, p0, c->ptotal, tile, A16);
        }
        int rows = im2col_avx2(&c->g16, c->x, p0, c->ptotal, tile, A, rs);
        if (rows <= 2) {                       /* GEMV on the int8 packing: Sum a*b needs the row sums */
            *mode = TILE_GEMV;
            for (int r = 0; r < rows; r++) {
                int32_t sum = 0;
                for (int i = 0; i < g->k; i++) sum += A[(size_t)r * g->kp + i];
                rs[r] = sum;
            }
            return rows;
        }
        int rp = (rows + NARROW_ROWS - 1) / NARROW_ROWS * NARROW_ROWS;   /* <= tile, a multiple of 12 */
        widen_avx2(A, A16, (size_t)rp * g->kp, 0);
        return rows;
    }
#endif
    *mode = TILE_PORTABLE;             /* no row sums (g16: BT holds w - z_w), rows widened for gemm_dot */
    const int rows = im2col(&c->g16, c->x, p0, c->ptotal, tile, A, rs);
    widen_rows(A, (size_t)g->kp, (size_t)g->k, A16, c->kt, (rows + 1) / 2 * 2);
    return rows;
}

/* products of a built tile t with channel blocks [nb0, nb1), requantized into the output */
static void compute_tile(const conv_job *c, long t, int mode, int rows, const uint8_t *A, const int16_t *A16,
                         const int32_t *rs, int32_t *acc, int nb0, int nb1) {
    const conv_geom *g = &c->g;
    uint8_t *o = c->out + (size_t)t * c->tile * g->cout;
    const int j0 = nb0 * NR, j1 = nb1 * NR;
#ifdef INTQ_X86
    if (mode == TILE_VNNI || mode == TILE_VNNI_DIRECT) {
        if (mode == TILE_VNNI_DIRECT) A = c->x + (size_t)t * c->tile * g->kp;
        gemm_vnni(g, A, c->B, acc, (rows + MR - 1) / MR * MR, nb0, nb1);   /* rows past `rows`: 0 or input */
        epilogue_vnni(g, &c->rq, acc, rs, rows, c->colterm, c->m0, o, j0, j1);
        return;
    }
    if (mode == TILE_W16) {
        gemm16_tile(c, &c->gw, A16, acc, rows, nb0, nb1);
        epilogue_avx2(&c->g16, &c->rq, acc, rs, rows, c->colterm16, c->m0, o, j0, j1);
        return;
    }
    if (mode == TILE_GEMV) {
        gemv_avx2(g, A, c->B, acc, rows, nb0, nb1);
        epilogue_avx2(g, &c->rq, acc, rs, rows, c->colterm, c->m0, o, j0, j1);
        return;
    }
#endif
    (void)A;
    (void)rs;                          /* zero: BT holds w - z_w */
    (void)mode;
    gemm_dot(c->kt, A16, c->BT, acc, (size_t)g->np, (rows + 1) / 2 * 2, j0, j1);
    epilogue(g, acc, rows, c->colterm16, c->m0, c->shift, o, j0, j1);
}

/* per-thread scratch, each part 64-byte aligned. Tile path: acc, rs, A, A16 (AVX2, portable) for one tile.
 * By channel blocks: acc, then the thread's own copy of every tile's rs, A, A16, rows and modes */
static size_t acc_bytes(const conv_job *c) { return align64((size_t)c->cap * c->g.np * 4); }
static size_t rs_bytes(const conv_job *c) { return align64((size_t)c->cap * 4); }
static size_t tile_bytes(const conv_job *c) {
    return rs_bytes(c) + a_bytes(c) + (c->level <= 1 ? a16_bytes(c) : 0);
}
static size_t scratch_bytes(const conv_job *c) {
    return acc_bytes(c) + (c->by_channel ? (size_t)c->ntiles * tile_bytes(c)
                                                + align64((size_t)c->ntiles * 2 * sizeof(int))
                                         : tile_bytes(c));
}

/* tile t's rs, A and A16 in a thread's scratch (tile slot `slot`) */
static void tile_parts(const conv_job *c, uint8_t *mem, long slot, int32_t **rs, uint8_t **A, int16_t **A16) {
    uint8_t *base = mem + acc_bytes(c) + (size_t)slot * tile_bytes(c);
    *rs = (int32_t *)base;
    *A = base + rs_bytes(c);
    *A16 = c->level <= 1 ? (int16_t *)(*A + a_bytes(c)) : NULL;
}

/* tasks are pixel tiles (each built and multiplied by every channel block), or, when there are few pixels,
 * (channel block, tile) pairs, block-major (task u: block u / ntiles, tile u % ntiles), so a thread reads
 * only its blocks' weights. In the second case each thread builds its own copy of a tile the first time one
 * of its tasks needs it in the call: building them once for all threads was serial work before the split,
 * and the other threads then read every tile from the builder's cache, which cost more than building them
 * again from the smaller input. `thread` picks the scratch. */
static int conv_task(void *vp, long begin, long end, int thread) {
    const conv_job *c = vp;
    uint8_t *mem = c->scratch + (size_t)thread * c->stride;
    int32_t *acc = (int32_t *)mem, *rs;
    uint8_t *A;
    int16_t *A16;
    if (c->by_channel) {
        int *rows = (int *)(mem + acc_bytes(c) + (size_t)c->ntiles * tile_bytes(c)), *modes = rows + c->ntiles;
        int *built = c->built + (size_t)thread * c->ntiles;
        for (long u = begin; u < end; u++) {
            const long t = u % c->ntiles;
            const int b = (int)(u / c->ntiles);
            tile_parts(c, mem, t, &rs, &A, &A16);
            if (!built[t]) {
                rows[t] = build_tile(c, t, A, A16, rs, &modes[t]);
                built[t] = 1;
            }
            compute_tile(c, t, modes[t], rows[t], A, A16, rs, acc, b, b + 1);
        }
        return 0;
    }
    tile_parts(c, mem, 0, &rs, &A, &A16);
    for (long t = begin; t < end; t++) {
        int mode, nrows = build_tile(c, t, A, A16, rs, &mode);
        compute_tile(c, t, mode, nrows, A, A16, rs, acc, 0, c->nbt);
    }
    return 0;
}

/* a one-tile layer with at most this many weights splits its pixels over the threads, each reading all the
 * weights, rather than its channel blocks, each thread building its own copy of the tile: v1 0.25/128's
 * 8x8 layers (8-16K weights; the 8x8x128 -> 128 ones 23.5-24.4 us at 1 thread, 1.44-1.47x faster at 2 split
 * by channel blocks, thread_scaling.py). `ab_builds.py --whole` at 2 threads, v1 0.25/128: 0.926x, 0.936x,
 * 0.967x, 0.940x; `compare_builds.py --threads 2`, six runs: 0.93-1.00x (a small gain, within the VM's noise
 * across processes), v2 and v1 1.0/224 (no such layer) 0.97-1.02x. Applied to every
 * one-tile layer (v2's 7x7 ones have 150-410K weights), v2 took 1.04-1.05x (27 Nov 2026, AVX2 EPYC). */
#define SMALL_WEIGHTS (32L * 1024)

/* the call's tiling and threading (no memory): one tile when the image has <= 2*TILE pixels (the weights
 * are read once), else balanced tiles; (channel block, tile) pairs as tasks when there are few tiles. Then,
 * when the blocks do not split evenly over the threads (3 blocks on 2 threads would leave one thread two
 * thirds of the work), the tiles are cut again into a multiple of the thread count, of equal size, so every
 * thread gets the same number of equal tasks. */
static void conv_setup(conv_job *c, const int32_t *geom, int nt, int level) {
    memcpy(&c->g, geom, sizeof c->g);
    c->g16 = c->g;
    c->g16.zb = 0;
    c->gw = c->g16;
    if (c->g.lp) c->gw.kp = c->g.kh * c->g.lp;
    c->kt = ((size_t)c->g.k + 7) / 8 * 8;
    c->level = level;
    c->ptotal = (long)c->g.n * c->g.oh * c->g.ow;
    long nt0 = c->ptotal <= 2 * TILE ? 1 : (c->ptotal + TILE - 1) / TILE;
    long per = (c->ptotal + nt0 - 1) / nt0;
    c->tile = (int)((per + NARROW_ROWS - 1) / NARROW_ROWS * NARROW_ROWS);
    if (c->tile < NARROW_ROWS) c->tile = NARROW_ROWS;
    c->ntiles = (c->ptotal + c->tile - 1) / c->tile;
    c->nbt = c->g.np / NR;
    int pixel_split = 0;
    if (nt > 1 && c->ntiles == 1 && c->ptotal >= (long)nt * NARROW_ROWS
        && (long)c->g.np * c->g.k <= SMALL_WEIGHTS) {
        const long per1 = (c->ptotal + nt - 1) / nt;
        c->tile = (int)((per1 + NARROW_ROWS - 1) / NARROW_ROWS * NARROW_ROWS);
        c->ntiles = (c->ptotal + c->tile - 1) / c->tile;
        pixel_split = 1;
    }
    c->by_channel = !pixel_split && nt > 1 && c->ntiles < 4L * nt && c->nbt >= nt;
    if (c->by_channel && c->nbt % nt != 0) {
        const long want = (c->ntiles + nt - 1) / nt * nt;
        if (c->ptotal >= want * NARROW_ROWS) {
            c->tile = (int)((c->ptotal + want - 1) / want);
            c->ntiles = (c->ptotal + c->tile - 1) / c->tile;
        }
    }
    c->cap = (c->tile + NARROW_ROWS - 1) / NARROW_ROWS * NARROW_ROWS;
}

/* byte offsets in a call's work memory (all 64-byte aligned): the threads' scratch, `stride` bytes apart, then
 * their by-channel "built" flags. With several threads the stride is at least CONV_THREAD_STRIDE, so in a
 * plan (one workspace for every layer) thread t's scratch starts at the same place in every conv layer whose
 * scratch fits: a thread reuses lines its own core last wrote, where scratch sized per layer made one
 * thread's part overlap another's part of the layer before, whose lines then came from the other core's
 * cache (`ab_builds.py --whole`, 2 threads: v1 0.25/128 0.893-0.905x, v2 0.978-0.999x). Pages no thread
 * touches are normally never backed by memory. */
#define CONV_THREAD_STRIDE ((size_t)1 << 20)
typedef struct { size_t stride, built, total; } conv_work;

static conv_work conv_work_layout(const conv_job *c, int nt) {
    conv_work w;
    const size_t own = scratch_bytes(c);
    w.stride = nt > 1 && own < CONV_THREAD_STRIDE ? CONV_THREAD_STRIDE : own;
    w.built = (size_t)nt * w.stride;
    w.total = w.built + align64((size_t)nt * (size_t)c->ntiles * sizeof(int));
    return w;
}

/* bytes of work memory intq_conv needs for this geometry, thread count and level (a plan allocates them
 * once and passes them to every call) */
long intq_conv_work_bytes(const int32_t *geom, int nthreads, int level) {
    conv_job c;
    const int nt = nthreads > 0 ? nthreads : 1;
    conv_setup(&c, geom, nt, level);
    return (long)conv_work_layout(&c, nt).total;
}

/* B int8 [np/NR][kp/4][NR][4] (w, or w - 128 for uint8) with colterm = bias - za sum b + K za zb (VNNI,
 * GEMV: the zb * row-sum term is added per pixel); B16 int16 [np/NR][kp16/2][NR][2] holding w - z_w
 * (kp16 = kp, or kh*lp with each kernel row's taps padded to lp by zeros when geom's lp > 0), or, in calls at
 * level 0, BT int16 [np][kt] holding w - z_w too (kt = k rounded up to 8, zeros past k: the portable
 * gemm_dot, which reads no other weights, so B may then be a placeholder; intq.runtime.fast.conv.level_consts), both
 * with colterm16 = bias - za sum (w - z_w) (no row sums). shift: a shift block of np channels
 * (intq_rq_pack, intq_common.h). work: intq_conv_work_bytes() bytes, 64-byte aligned, or NULL (then allocated
 * here for the call). */
int intq_conv(const int32_t *geom, const uint8_t *x, const int8_t *B, const int16_t *B16,
              const int32_t *colterm, const int32_t *m0, const int32_t *shift, const int32_t *colterm16,
              uint8_t *out, int nthreads, int level, void *work) {
    conv_job c;
    const int nt = nthreads > 0 ? nthreads : 1;
    conv_setup(&c, geom, nt, level);
    c.x = x; c.B = B; c.B16 = B16; c.colterm = colterm; c.m0 = m0; c.shift = shift; c.out = out;
    c.colterm16 = colterm16;
    c.BT = level == 0 ? B16 : NULL;
    const conv_work w = conv_work_layout(&c, nt);
    uint8_t *owned, *mem = work_take(work, w.total, &owned);
    if (!mem) return 1;
    rq_view(&c.rq, shift, c.g.np);
    c.built = (int *)(mem + w.built);
    memset(c.built, 0, (size_t)nt * (size_t)c.ntiles * sizeof(int));
    c.scratch = mem;
    c.stride = w.stride;
    int err = intq_parallel_for(nt, c.by_channel ? (long)c.nbt * c.ntiles : c.ntiles, conv_task, &c);
    free(owned);
    return err;
}
