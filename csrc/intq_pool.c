/* intq MAX_POOL_2D and AVERAGE_POOL_2D (NHWC), tabled MEAN. Plain C ABI, called per node (ctypes) and from
 * intq_run_plan.
 *
 * MAX_POOL_2D as runtime/reference/pooling.py: the max of the window's taps inside the image (padded taps
 * are skipped, as reading the dtype's lowest code does), then clamp to the fused activation's [lo, hi].
 * AVERAGE_POOL_2D likewise over the taps inside the image: their sum divided by their count n, rounded half
 * away from zero as the reference's C division does, then the clamp.
 * MEAN as intq.runtime.fast.pooling: the int32 sum over the reduced axes, then a gather of the table the
 * Python prepare built from the reference formula for every possible sum. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "intq_common.h"
#include "intq_kernels.h"

#define INTQ_MAXDIM 6

/* The pools share one loop over the output pixels of rows [r0, r1) (FOR_EACH_WINDOW): each window is clipped
 * to the image, and the body gets its first tap `first`, its size wh x ww and the output pixel `o`. Any CPU:
 * the reductions below, vectorised by the compiler over blocks of up to 256 channels kept in a stack array.
 * AVX2: 32 channels at a time held in registers over all the window's taps, two taps per loop step (one tap
 * per step was about 2x slower: a short inner loop whose length changes at the image border). Threads take
 * whole output rows (pool_run). */
typedef struct {
    const uint8_t *x; uint8_t *out;
    long n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw;
    int in_int8, lo, hi;
    long r0, r1;                  /* the output rows (b * oh + oy) to compute */
} pool_geom;

static pool_geom pool_geom_of(const uint8_t *x, uint8_t *out, const int64_t *g) {
    pool_geom p = { x, out, g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11],
                    (int)g[12], (int)g[13], (int)g[14], 0, g[0] * g[4] };
    return p;
}

#define FOR_EACH_WINDOW(P, ...)                                                                          \
    for (long row_ = (P)->r0; row_ < (P)->r1; row_++) {                                                  \
        const long b_ = row_ / (P)->oh, oy_ = row_ % (P)->oh;                                            \
        const long y0_ = oy_ * (P)->sh - (P)->ph, ya = y0_ < 0 ? 0 : y0_;                                 \
        const long wh = (y0_ + (P)->kh < (P)->h ? y0_ + (P)->kh : (P)->h) - ya;                          \
        for (long ox_ = 0; ox_ < (P)->ow; ox_++) {                                                       \
            const long x0_ = ox_ * (P)->sw - (P)->pw, xa = x0_ < 0 ? 0 : x0_;                             \
            const long ww = (x0_ + (P)->kw < (P)->w ? x0_ + (P)->kw : (P)->w) - xa;                      \
            const uint8_t *first = (P)->x + ((((size_t)b_ * (P)->h + ya) * (P)->w + xa) * (P)->c);       \
            uint8_t *o = (P)->out + ((((size_t)b_ * (P)->oh + oy_) * (P)->ow + ox_) * (P)->c);           \
            __VA_ARGS__                                                                                  \
        }                                                                                                \
    }

/* MAX_POOL_2D on bytes: int8 codes are compared as code ^ 0x80 (the order of unsigned bytes), so the max
 * and the clamp are byte operations; a window with no tap inside the image would give the lowest code, as
 * the reference's padding does */
static void max_pool_any(const pool_geom *P) {
    const uint8_t flip = P->in_int8 ? 0x80 : 0, lo = (uint8_t)(P->lo ^ flip), hi = (uint8_t)(P->hi ^ flip);
    const long c = P->c, w = P->w;
    uint8_t acc[256];
    FOR_EACH_WINDOW(P, {
        for (long j0 = 0; j0 < c; j0 += 256) {
            const long m = c - j0 < 256 ? c - j0 : 256;
            memset(acc, 0, (size_t)m);
            for (long iy = 0; iy < wh; iy++)
                for (long ix = 0; ix < ww; ix++) {
                    const uint8_t *p = first + (iy * w + ix) * c + j0;
                    for (long j = 0; j < m; j++) {
                        const uint8_t v = p[j] ^ flip;
                        acc[j] = v > acc[j] ? v : acc[j];
                    }
                }
            for (long j = 0; j < m; j++) o[j0 + j] = (uint8_t)((acc[j] < lo ? lo : acc[j] > hi ? hi : acc[j]) ^ flip);
        }
    })
}

/* AVERAGE_POOL_2D: q = acc > 0 ? (acc + n/2) / n : (acc - n/2) / n in C's truncating division, taken in
 * floating point so that it vectorises: after truncation the quotient is exact whenever |acc| < 2^p (p = 24
 * for float, 53 for double), because a quotient that is not an integer lies at least 1/n below the next
 * integer, more than the division's rounding error (< q 2^-p) when q n < 2^p. Windows of at most 128 taps
 * sum in int16 (|sum| <= 128 * 255) and divide in float; larger ones in int32 and double. */
#define SMALL_WINDOW 128
#define AVG_POOL_ANY(ACC_T, DIV_T)                                                                       \
    ACC_T acc[256];                                                                                      \
    FOR_EACH_WINDOW(P, {                                                                                 \
        const int32_t cnt = (int32_t)(wh * ww), half = cnt / 2;                                          \
        const DIV_T dc = (DIV_T)cnt;                                                                     \
        for (long j0 = 0; j0 < c; j0 += 256) {                                                           \
            const long m = c - j0 < 256 ? c - j0 : 256;                                                  \
            memset(acc, 0, (size_t)m * sizeof(ACC_T));                                                   \
            for (long iy = 0; iy < wh; iy++)                                                             \
                for (long ix = 0; ix < ww; ix++) {                                                       \
                    const uint8_t *p = first + (iy * w + ix) * c + j0;                                   \
                    if (P->in_int8) for (long j = 0; j < m; j++) acc[j] += (int8_t)p[j];                 \
                    else for (long j = 0; j < m; j++) acc[j] += p[j];                                    \
                }                                                                                        \
            for (long j = 0; j < m; j++) {                                                               \
                const int32_t t = acc[j] > 0 ? acc[j] + half : acc[j] - half;                            \
                o[j0 + j] = (uint8_t)clamp_i32((int32_t)((DIV_T)t / dc), P->lo, P->hi);                  \
            }                                                                                            \
        }                                                                                                \
    })

static void avg_pool_any(const pool_geom *P) {
    const long c = P->c, w = P->w;
    if (P->kh * P->kw <= SMALL_WINDOW) {
        AVG_POOL_ANY(int16_t, float)
    } else {
        AVG_POOL_ANY(int32_t, double)
    }
}
#undef AVG_POOL_ANY

#ifdef INTQ_X86
/* AVX2: channels [0, c - c % 32) in groups of NV 32-byte vectors (8, then 4, 2, 1) held in registers while the
 * window's taps go by, one tap's NV loads after another (taps outer: a 3x3 window's short tap loops no longer
 * run once per 32 channels), the rest by the scalar tail of the same arithmetic. Compiled once for uint8 and
 * once for int8 codes (max_pool_avx2_u8 / _s8), each comparing its codes in their own order (vpmaxub /
 * vpmaxsb) */
#define VMAX(x, y) (s8 ? _mm256_max_epi8((x), (y)) : _mm256_max_epu8((x), (y)))
#define VMIN(x, y) (s8 ? _mm256_min_epi8((x), (y)) : _mm256_min_epu8((x), (y)))
__attribute__((target("avx2"), always_inline))
static inline void max_group(const uint8_t *first, uint8_t *o, long wh, long ww, long rowstep, long c, __m256i low,
                             __m256i lov, __m256i hiv, const int nv, const int s8) {
    __m256i acc[8];
    for (int v = 0; v < nv; v++) acc[v] = low;
    for (long iy = 0; iy < wh; iy++)
        for (long ix = 0; ix < ww; ix++) {
            const uint8_t *p = first + iy * rowstep + ix * c;
            for (int v = 0; v < nv; v++) acc[v] = VMAX(acc[v], _mm256_loadu_si256((const __m256i *)(p + 32 * v)));
        }
    for (int v = 0; v < nv; v++) _mm256_storeu_si256((__m256i *)(o + 32 * v), VMIN(VMAX(acc[v], lov), hiv));
}

__attribute__((target("avx2"), always_inline))
static inline void max_pool_avx2_body(const pool_geom *P, const int s8) {
    const uint8_t flip = s8 ? 0x80 : 0, lo8 = (uint8_t)(P->lo ^ flip), hi8 = (uint8_t)(P->hi ^ flip);
    const __m256i lov = _mm256_set1_epi8((char)P->lo), hiv = _mm256_set1_epi8((char)P->hi),
                  low = s8 ? _mm256_set1_epi8((char)0x80) : _mm256_setzero_si256();
    const long c = P->c, w = P->w, cv = c / 32 * 32, rowstep = w * c;
    FOR_EACH_WINDOW(P, {
        long j = 0;
        for (; j + 256 <= cv; j += 256) max_group(first + j, o + j, wh, ww, rowstep, c, low, lov, hiv, 8, s8);
        if (j + 128 <= cv) { max_group(first + j, o + j, wh, ww, rowstep, c, low, lov, hiv, 4, s8); j += 128; }
        if (j + 64 <= cv) { max_group(first + j, o + j, wh, ww, rowstep, c, low, lov, hiv, 2, s8); j += 64; }
        if (j + 32 <= cv) max_group(first + j, o + j, wh, ww, rowstep, c, low, lov, hiv, 1, s8);
        for (j = cv; j < c; j++) {
            uint8_t a = 0;
            for (long iy = 0; iy < wh; iy++)
                for (long ix = 0; ix < ww; ix++) {
                    const uint8_t v = first[(iy * w + ix) * c + j] ^ flip;
                    a = v > a ? v : a;
                }
            o[j] = (uint8_t)((a < lo8 ? lo8 : a > hi8 ? hi8 : a) ^ flip);
        }
    })
}
#undef VMAX
#undef VMIN

__attribute__((target("avx2"))) static void max_pool_avx2_u8(const pool_geom *P) { max_pool_avx2_body(P, 0); }
__attribute__((target("avx2"))) static void max_pool_avx2_s8(const pool_geom *P) { max_pool_avx2_body(P, 1); }

/* s0 += channels 0..15 of the taps at p and q (q may be NULL), s1 += channels 16..31, as int16 */
__attribute__((target("avx2"), always_inline))
static inline void avg_taps(__m256i *s0, __m256i *s1, const uint8_t *p, const uint8_t *q, int in_int8) {
#define WIDEN(ptr) (in_int8 ? _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(ptr)))                   \
                            : _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(ptr))))
    __m256i l = WIDEN(p), u = WIDEN(p + 16);
    if (q) {
        l = _mm256_add_epi16(l, WIDEN(q));
        u = _mm256_add_epi16(u, WIDEN(q + 16));
    }
#undef WIDEN
    *s0 = _mm256_add_epi16(*s0, l);
    *s1 = _mm256_add_epi16(*s1, u);
}

/* windows of at most SMALL_WINDOW taps: int16 sums of 32 channels in two registers. The division of
 * |acc| + n/2 (< 2^15) by n is a multiply-high: with l = ceil(log2 n) and m = ceil(2^(15+l) / n) (< 2^16),
 * floor(t m / 2^(15+l)) = floor(t / n) for every 0 <= t < 2^15 (Granlund and Montgomery 1994, theorem 4.2:
 * 2^(15+l) <= m n <= 2^(15+l) + 2^l), i.e. mulhi_epu16(t, m) >> (l - 1); n = 1 is t itself. The sign of
 * acc goes back on (the reference rounds half away from zero), then saturation to bytes and the clamp. */
__attribute__((target("avx2")))
static void avg_pool_avx2(const pool_geom *P) {
    const long c = P->c, w = P->w, cv = c / 32 * 32;
    const int s8 = P->in_int8;
    const __m256i lov = _mm256_set1_epi8((char)P->lo), hiv = _mm256_set1_epi8((char)P->hi);
    FOR_EACH_WINDOW(P, {
        const int32_t cnt = (int32_t)(wh * ww), half = cnt / 2;
        int l = 0;
        while ((1 << l) < cnt) l++;
        const uint32_t m = (uint32_t)((((uint64_t)1 << (15 + l)) + (uint64_t)cnt - 1) / (uint64_t)cnt);
        const __m256i mv = _mm256_set1_epi16((int16_t)(uint16_t)m), hv = _mm256_set1_epi16((int16_t)half);
        const __m128i sh = _mm_cvtsi32_si128(l > 0 ? l - 1 : 0);
        for (long j = 0; j < cv; j += 32) {
            __m256i s0 = _mm256_setzero_si256(), s1 = s0;
            for (long iy = 0; iy < wh; iy++) {
                const uint8_t *p = first + iy * w * c + j;
                long ix = 0;
                for (; ix + 2 <= ww; ix += 2, p += 2 * c)      /* two taps per branch */
                    avg_taps(&s0, &s1, p, p + c, s8);
                if (ix < ww) avg_taps(&s0, &s1, p, NULL, s8);
            }
            __m256i q0 = _mm256_add_epi16(_mm256_abs_epi16(s0), hv), q1 = _mm256_add_epi16(_mm256_abs_epi16(s1), hv);
            if (cnt > 1) {
                q0 = _mm256_srl_epi16(_mm256_mulhi_epu16(q0, mv), sh);
                q1 = _mm256_srl_epi16(_mm256_mulhi_epu16(q1, mv), sh);
            }
            q0 = _mm256_sign_epi16(q0, s0);
            q1 = _mm256_sign_epi16(q1, s1);
            __m256i v = _mm256_permute4x64_epi64(s8 ? _mm256_packs_epi16(q0, q1) : _mm256_packus_epi16(q0, q1), 0xD8);
            v = s8 ? _mm256_min_epi8(_mm256_max_epi8(v, lov), hiv) : _mm256_min_epu8(_mm256_max_epu8(v, lov), hiv);
            _mm256_storeu_si256((__m256i *)(o + j), v);
        }
        for (long j = cv; j < c; j++) {
            int32_t a = 0;
            for (long iy = 0; iy < wh; iy++)
                for (long ix = 0; ix < ww; ix++) {
                    const uint8_t v = first[(iy * w + ix) * c + j];
                    a += s8 ? (int8_t)v : v;
                }
            o[j] = (uint8_t)clamp_i32(a > 0 ? (a + half) / cnt : (a - half) / cnt, P->lo, P->hi);
        }
    })
}
#endif

/* both pools' calls: output rows split over threads (threads_for_elements of the output's size) */
typedef void (*pool_fn)(const pool_geom *P);
typedef struct { const pool_geom *P; pool_fn f; } pool_job;

static int pool_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const pool_job *j = vp;
    pool_geom P = *j->P;
    P.r0 = begin;
    P.r1 = end;
    j->f(&P);
    return 0;
}

static void pool_run(const pool_geom *P, pool_fn f, int nthreads) {
    pool_job j = { P, f };
    intq_parallel_for(threads_for_elements(P->n * P->oh * P->ow * P->c, nthreads), P->n * P->oh, pool_task, &j);
}

/* g = [n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, in_int8, lo, hi, level, nthreads] (both pools): level >= 1
 * (an ISA level up to intq_isa_level) takes the AVX2 code */
void intq_max_pool(const uint8_t *x, uint8_t *out, const int64_t *g) {
    const pool_geom P = pool_geom_of(x, out, g);
    pool_fn f = max_pool_any;
#ifdef INTQ_X86
    if (g[15] >= 1) f = g[12] ? max_pool_avx2_s8 : max_pool_avx2_u8;
#endif
    pool_run(&P, f, (int)g[16]);
}

void intq_avg_pool(const uint8_t *x, uint8_t *out, const int64_t *g) {
    const pool_geom P = pool_geom_of(x, out, g);
    pool_fn f = avg_pool_any;
#ifdef INTQ_X86
    if (g[15] >= 1 && g[6] * g[7] <= SMALL_WINDOW) f = avg_pool_avx2;
#endif
    pool_run(&P, f, (int)g[16]);
}

/* MEAN by table: meta = [in_int8, offset, in_shape[6], reduced[6] (0/1)]; acc (int32, nthreads x the output's
 * elements, scratch from the caller) gets the sums in output order; out[o] = table[acc[o] - offset]. Dims of
 * length 1 are dropped and neighbours both reduced or both kept merged (a C-contiguous array's neighbours
 * always merge), so MEAN over H and W of NHWC is [N, H*W, C] with the middle dim reduced. Threads (up to
 * nthreads, threads_for_elements of the input's size) split the outermost of the first five dims longer
 * than 1, so each reads a contiguous part of the input (as the threads of the layer before wrote it, when
 * that layer split its rows), and add into their own copies of the sums (acc + thread x outputs), which are
 * added at the end (int32 wrapping sums, so the order does not matter). AVX2 (level >= 1), a reduced dim
 * followed by a kept last dim of 32 or more: the rows of the reduced dim summed 32 codes at a time in 16-bit
 * lanes held in registers, flushed into the int32 sums every 255 rows (255 x 255 fits 16 bits unsigned,
 * 255 x 128 signed). */
typedef struct {
    const uint8_t *x; int32_t *acc; long sh[INTQ_MAXDIM], red[INTQ_MAXDIM], ostr[INTQ_MAXDIM], istr[INTQ_MAXDIM];
    long nout;
    int split, in_int8, rows4;    /* rows4: AVX2 sums dim 4's rows (reduced) into one row of dim 5 (kept) */
} mean_job;

#ifdef INTQ_X86
/* acc[c] += sum of rows r in [0, rows) of x[r * stride + c] for c in [0, n - n % 32); returns that count */
__attribute__((target("avx2"))) static long mean_rows_avx2(const uint8_t *x, long stride, long rows, long n,
                                                           int32_t *acc, int s8) {
    const long n32 = n / 32 * 32;
    for (long c = 0; c < n32; c += 32) {
        for (long r0 = 0; r0 < rows; r0 += 255) {
            const long r1 = rows - r0 < 255 ? rows : r0 + 255;
            __m256i a = _mm256_setzero_si256(), b = a;
            const uint8_t *p = x + r0 * stride + c;
            for (long r = r0; r < r1; r++, p += stride) {
                const __m128i u = _mm_loadu_si128((const __m128i *)p), v = _mm_loadu_si128((const __m128i *)(p + 16));
                a = _mm256_add_epi16(a, s8 ? _mm256_cvtepi8_epi16(u) : _mm256_cvtepu8_epi16(u));
                b = _mm256_add_epi16(b, s8 ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v));
            }
            __m256i *o = (__m256i *)(acc + c);
            const __m128i h[4] = {_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1),
                                  _mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1)};
            for (int k = 0; k < 4; k++) {
                const __m256i wide = s8 ? _mm256_cvtepi16_epi32(h[k]) : _mm256_cvtepu16_epi32(h[k]);
                _mm256_storeu_si256(o + k, _mm256_add_epi32(_mm256_loadu_si256(o + k), wide));
            }
        }
    }
    return n32;
}
#endif

static int mean_task(void *vp, long begin, long end, int thread) {
    const mean_job *j = vp;
    const int in_int8 = j->in_int8, red5 = (int)j->red[5];
    const uint8_t *const x0 = j->x;
    int32_t *const acc = j->acc + (size_t)thread * j->nout;
    long lo[INTQ_MAXDIM], hi[INTQ_MAXDIM], i[INTQ_MAXDIM], ostr[INTQ_MAXDIM], istr[INTQ_MAXDIM];
    for (int k = 0; k < INTQ_MAXDIM; k++) {
        lo[k] = 0; hi[k] = j->sh[k]; ostr[k] = j->ostr[k]; istr[k] = j->istr[k];
    }
    lo[j->split] = begin;
    hi[j->split] = end;
    const long n5 = hi[5];
    for (i[0] = lo[0]; i[0] < hi[0]; i[0]++)
    for (i[1] = lo[1]; i[1] < hi[1]; i[1]++)
    for (i[2] = lo[2]; i[2] < hi[2]; i[2]++)
    for (i[3] = lo[3]; i[3] < hi[3]; i[3]++)
    for (i[4] = lo[4]; i[4] < hi[4]; i[4]++) {
        long io = 0, oo = 0;
        for (int k = 0; k < 5; k++) { io += i[k] * istr[k]; oo += i[k] * ostr[k]; }
        const uint8_t *x = x0 + io;
        int32_t *o = acc + oo;
        long f = 0;
#ifdef INTQ_X86
        if (j->rows4) {
            const long rows = hi[4] - i[4];
            f = mean_rows_avx2(x, istr[4], rows, n5, o, in_int8);
            for (long r = 0; r < rows; r++) {
                const uint8_t *xr = x + r * istr[4];
                if (in_int8) for (long g = f; g < n5; g++) o[g] += (int8_t)xr[g];
                else for (long g = f; g < n5; g++) o[g] += xr[g];
            }
            break;                                    /* every row of dim 4 is summed */
        }
#endif
        if (red5) {
            int32_t s = 0;
            if (in_int8) for (; f < n5; f++) s += (int8_t)x[f];
            else for (; f < n5; f++) s += x[f];
            *o += s;
        } else if (in_int8) for (; f < n5; f++) o[f] += (int8_t)x[f];
        else for (; f < n5; f++) o[f] += x[f];
    }
    return 0;
}

void intq_mean_table(const uint8_t *x, uint8_t *out, const int64_t *meta, const uint8_t *table, int32_t *acc,
                     int nthreads, int level) {
    mean_job j = {x, acc, {0}, {0}, {0}, {0}, 1, 0, (int)meta[0], 0};
    const int64_t offset = meta[1];
    /* the dims without those of length 1, neighbours of one kind merged, right-aligned in 6 */
    long sh[INTQ_MAXDIM], red[INTQ_MAXDIM];
    int nd = 0;
    for (int k = 0; k < INTQ_MAXDIM; k++) {
        const long d = (long)meta[2 + k], r = meta[2 + INTQ_MAXDIM + k] != 0;
        if (d == 1) continue;
        if (nd > 0 && red[nd - 1] == r) sh[nd - 1] *= d;
        else { sh[nd] = d; red[nd] = r; nd++; }
    }
    for (int k = 0; k < INTQ_MAXDIM; k++) {
        const int s = k - (INTQ_MAXDIM - nd);
        j.sh[k] = s >= 0 ? sh[s] : 1;
        j.red[k] = s >= 0 ? red[s] : 0;
    }
    long nin = 1;
    for (int k = INTQ_MAXDIM - 1; k >= 0; k--) {
        j.ostr[k] = j.red[k] ? 0 : j.nout;
        j.nout *= j.red[k] ? 1 : j.sh[k];
        j.istr[k] = nin;
        nin *= j.sh[k];
    }
    while (j.split < INTQ_MAXDIM - 2 && j.sh[j.split] < 2) j.split++;
    /* the AVX2 row sums take ~0.05 ns a code: a second thread pays from ~128K codes each (one-off, 27 Nov:
     * 1x7x7x1280 ran slower on two, 1x28x28x512 1.6-1.8x faster) */
#ifdef INTQ_X86
    j.rows4 = level >= 1 && !j.red[5] && j.red[4] && j.sh[5] >= 32;
#endif
    (void)level;
    int nt = j.sh[j.split] < 2 ? 1 : threads_for_elements(j.rows4 ? nin / 16 : nin, nthreads);
    if (nt > j.sh[j.split]) nt = (int)j.sh[j.split];
    memset(acc, 0, (size_t)nt * (size_t)j.nout * sizeof(int32_t));
    intq_parallel_for(nt, j.sh[j.split], mean_task, &j);
    for (int t = 1; t < nt; t++)
        for (long i = 0; i < j.nout; i++) acc[i] = (int32_t)((uint32_t)acc[i] + (uint32_t)acc[(size_t)t * j.nout + i]);
    for (long i = 0; i < j.nout; i++) out[i] = table[acc[i] - offset];
}

/* ARG_MAX over the middle axis of x [outer][len][inner] as intq.runtime.reference.arg_max (NumPy's argmax): out
 * [outer][inner] int32 (osize 4) or int64 (osize 8), the first index of the maximum; only a strictly greater
 * element replaces the current one (TFLite's ArgMinMax with std::greater). kind: 0 uint8, 1 int8 (compared as
 * byte ^ 0x80, the order of the bytes), 2 int32, 3 float32, where a NaN is the maximum and the first one wins
 * (argmax's rule; -0.0 and 0.0 are equal) */
#define ARG_MAX_SCAN(T, KEY, STOP)                                                                       \
    for (long u = begin; u < end; u++) {                   /* u: outer row u / inner, column u % inner */ \
        const T *p = (const T *)j->x + (size_t)(u / inner) * len * inner + u % inner;                    \
        T best = KEY(p[0]);                                                                              \
        long idx = 0;                                                                                    \
        for (long a = 1; a < len && !(STOP(best)); a++) {                                                \
            const T v = KEY(p[(size_t)a * inner]);                                                       \
            if (v > best || STOP(v)) { best = v; idx = a; }                                              \
        }                                                                                                \
        if (j->osize == 8) ((int64_t *)j->out)[u] = idx;                                                 \
        else ((int32_t *)j->out)[u] = (int32_t)idx;                                                      \
    }
#define KEEP(v) (v)
#define FLIP(v) ((uint8_t)((v) ^ flip))
#define NEVER(v) 0
#define IS_NAN(v) ((v) != (v))
typedef struct { const void *x; void *out; long len, inner; int kind, osize; } arg_max_job;

static int arg_max_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const arg_max_job *j = vp;
    const long len = j->len, inner = j->inner;
    const uint8_t flip = j->kind == 1 ? 0x80 : 0;
    if (j->kind <= 1) {
        ARG_MAX_SCAN(uint8_t, FLIP, NEVER)
    } else if (j->kind == 2) {
        ARG_MAX_SCAN(int32_t, KEEP, NEVER)
    } else {
        ARG_MAX_SCAN(float, KEEP, IS_NAN)
    }
    return 0;
}

/* the outer * inner scans split over up to nthreads threads (threads_for_elements of the input's elements) */
void intq_arg_max(const void *x, void *out, long outer, long len, long inner, int kind, int osize, int nthreads) {
    arg_max_job j = {x, out, len, inner, kind, osize};
    intq_parallel_for(threads_for_elements(outer * len * inner, nthreads), outer * inner, arg_max_task, &j);
}
#undef ARG_MAX_SCAN
#undef KEEP
#undef FLIP
#undef NEVER
#undef IS_NAN
