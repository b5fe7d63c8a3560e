/* intq fast SOFTMAX (uint8/int8, last axis) and the ADD/MUL table gather, bit-exact with intq.runtime.reference. Plain C ABI.
 *
 * TFLite reference_ops::Softmax: d = q - max(q) takes 256 values, so the Python prepare tabulates
 * exp_on_negative_values (Q0.31) and its Rescale<12> term per -d (term 0 where d < diff_min). Per row this
 * file sums the terms (int32, wrapping), takes gemmlowp's GetReciprocal of the sum (scalar ports of
 * intq.scheme.fixedpoint: SRDHM and RoundingDivideByPOT from intq_common.h; SaturatingRoundingMultiplyByPOT,
 * RoundingHalfSum and the 3-step Newton-Raphson one_over_one_plus_x_for_x_in_0_1 here) and writes
 * clamp(RDBPOT(SRDHM(inv, e), nbu + 23) + qmin) per element (qmin when d < diff_min or nbu + 23 > 31). */
#include "intq_common.h"
#include "intq_kernels.h"

static inline int32_t wrap32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

/* gemmlowp SaturatingRoundingMultiplyByPOT<e> */
static inline int32_t srmbpot(int32_t x, int e) {
    if (e == 0) return x;
    if (e < 0) return rdbpot(x, -e);
    int64_t thr = (1LL << (31 - e)) - 1;
    if (x > thr) return INT32_MAX;
    if (x < -thr) return INT32_MIN;
    return wrap32((int64_t)x << e);
}

/* gemmlowp RoundingHalfSum: (a + b) / 2 rounded half away from zero */
static inline int32_t rounding_half_sum(int32_t a, int32_t b) {
    int64_t s = (int64_t)a + b;
    s += s >= 0 ? 1 : -1;
    return (int32_t)(s / 2);                                              /* C division truncates */
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1, Q0.31 -> Q0.31 */
static int32_t one_over_one_plus_x(int32_t a) {
    int32_t hd = rounding_half_sum(a, INT32_MAX);
    int32_t x = wrap32((int64_t)1515870810 + srdhm(hd, -1010580540));   /* 48/17 - 32/17 d, Q2.29 */
    for (int i = 0; i < 3; i++) {
        int32_t one_minus = wrap32((1LL << 29) - srdhm(hd, x));
        x = wrap32((int64_t)x + srmbpot(srdhm(x, one_minus), 2));
    }
    return srmbpot(x, 1);
}

/* TFLite GetReciprocal(x, x_integer_digits): returns 1/x's mantissa (Q0.31), *bits_over_unit */
int32_t intq_get_reciprocal(int32_t x, int x_integer_digits, int32_t *bits_over_unit) {
    uint32_t ux = (uint32_t)x;
    int headroom_plus_one = ux == 0 ? 32 : __builtin_clz(ux);
    *bits_over_unit = x_integer_digits - headroom_plus_one;
    uint32_t shifted = (uint32_t)(((uint64_t)ux << headroom_plus_one) & 0xFFFFFFFFu);
    return one_over_one_plus_x(wrap32((int64_t)shifted - (1LL << 31)));
}

/* rows x depth codes (int8 when in_int8, else uint8) -> same-shape output codes.
 * exps[n], terms[n], keep[n] for n = max - q in 0..255 (terms already 0 where !keep). Per row: the max, the sum
 * of terms (four partial sums: wrapping int32 addition is associative, the same total), then the output of
 * every input byte in a 256-entry table indexed by the raw byte (bytes above the row's max never occur; they
 * get q_min) and one byte gather (lut_bytes: AVX2 vpshufb at level >= 1). Rows split over up to nthreads
 * threads (threads_for_elements of rows x depth). */
typedef struct {
    const uint8_t *x; uint8_t *out; long depth; int in_int8, level; const int32_t *exps, *terms; const uint8_t *keep;
} softmax_job;

/* the row's largest code, as an int */
static int row_max(const uint8_t *xr, long depth, int in_int8) {
    if (in_int8) {
        int8_t m = -128;
        for (long i = 0; i < depth; i++) m = (int8_t)xr[i] > m ? (int8_t)xr[i] : m;
        return m;
    }
    uint8_t m = 0;
    for (long i = 0; i < depth; i++) m = xr[i] > m ? xr[i] : m;
    return m;
}

/* A row's outputs reversed and padded: rev[255 - n] = clamp(RDBPOT(SRDHM(inv, exps[n]), e) + lo) where keep[n]
 * (e <= 31), else lo, for n = max - code in 0..255, and rev[256..511] = lo (what the codes above the max would
 * read; none occurs, but the gather loads whole table rows).
 * Then the output of code c is rev[255 - max + c]: for uint8 the table by raw byte is rev + 255 - max itself; for
 * int8 it is two 128-byte runs of rev. (A byte loop that reordered the outputs after the vector stores that
 * wrote them took a quarter of the kernel's time.) */
#define REV_BYTES 512

#ifdef INTQ_X86
/* rev from 32 outputs per step: 8 per mbqm8_right (inv >= 0; SRDHM as (p + 2^30) >> 31 equals it for every
 * operand pair but INT32_MIN^2, and exps are Q0.31 values of exp on [-inf, 0], never negative); values in
 * [lo, lo + 255] pack to bytes without saturation changing them; the 32 bytes reversed (vpshufb within the
 * 128-bit lanes, then the lanes swapped) and stored at rev + 224 - n */
__attribute__((target("avx2"))) static void outputs_avx2(int32_t inv, int e, const int32_t *exps,
                                                          const uint8_t *keep, int lo, int s8, uint8_t *rev) {
    const __m256i iv = _mm256_set1_epi32(inv), lov = _mm256_set1_epi32(lo), hiv = _mm256_set1_epi32(lo + 255);
    const rshift_k r = rshift_init(e);
    const __m256i reverse = _mm256_setr_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
                                             15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    for (int n = 0; n < 256; n += 32) {
        __m256i v[4];
        for (int u = 0; u < 4; u++) {
            /* SRDHM is symmetric: SRDHM(inv, exps[n]) = SRDHM(exps[n], inv) */
            __m256i q = mbqm8_right(_mm256_loadu_si256((const __m256i *)(exps + n + 8 * u)), iv, &r);
            q = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(q, lov), lov), hiv);
            const __m256i k = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(keep + n + 8 * u)));
            v[u] = _mm256_blendv_epi8(q, lov, _mm256_cmpeq_epi32(k, _mm256_setzero_si256()));
        }
        const __m256i ab = _mm256_packs_epi32(v[0], v[1]), cd = _mm256_packs_epi32(v[2], v[3]);
        const __m256i b = _mm256_permutevar8x32_epi32(s8 ? _mm256_packs_epi16(ab, cd) : _mm256_packus_epi16(ab, cd),
                                                      _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(rev + 224 - n),
                            _mm256_permute4x64_epi64(_mm256_shuffle_epi8(b, reverse), 0x4E));
    }
}
#endif

static int softmax_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const softmax_job *j = vp;
    const long depth = j->depth;
    const int in_int8 = j->in_int8, lo = in_int8 ? -128 : 0, hi = in_int8 ? 127 : 255;
    uint8_t table[256], rev[REV_BYTES];
    memset(rev + 256, lo, REV_BYTES - 256);
    for (long r = begin; r < end; r++) {
        const uint8_t *xr = j->x + r * depth;
        const int mx = row_max(xr, depth, in_int8);
        const int32_t *t = j->terms + mx;            /* t[-v] = terms[mx - v] */
        uint32_t s[4] = {0, 0, 0, 0};
        long i = 0;
        if (in_int8) {
            for (; i + 4 <= depth; i += 4)
                for (int u = 0; u < 4; u++) s[u] += (uint32_t)t[-(int)(int8_t)xr[i + u]];
            for (; i < depth; i++) s[0] += (uint32_t)t[-(int)(int8_t)xr[i]];
        } else {
            for (; i + 4 <= depth; i += 4)
                for (int u = 0; u < 4; u++) s[u] += (uint32_t)t[-(int)xr[i + u]];
            for (; i < depth; i++) s[0] += (uint32_t)t[-(int)xr[i]];
        }
        int32_t nbu;
        const int32_t inv = intq_get_reciprocal((int32_t)(s[0] + s[1] + s[2] + s[3]), 12, &nbu);
        const int exponent = nbu + 31 - 8;
        int done = 0;
#ifdef INTQ_X86
        if (j->level >= 1 && exponent <= 31) {
            outputs_avx2(inv, exponent, j->exps, j->keep, lo, in_int8, rev);
            done = 1;
        }
#endif
        if (!done)
            for (int n = 0; n < 256; n++)
                rev[255 - n] = (uint8_t)(j->keep[n] && exponent <= 31
                                         ? clamp_i32(rdbpot(srdhm(inv, j->exps[n]), exponent) + lo, lo, hi) : lo);
        const uint8_t *tb = rev + 255 - mx;          /* tb[c] = rev[255 - mx + c]: code c's output */
        if (in_int8) {                               /* raw bytes 0..127 are codes 0..127, 128..255 codes -128..-1 */
            memcpy(table, tb, 128);
            memcpy(table + 128, tb - 128, 128);
            tb = table;
        }
        lut_bytes(xr, j->out + r * depth, depth, tb, j->level);
    }
    return 0;
}

void intq_softmax(const uint8_t *x, uint8_t *out, long rows, long depth, int in_int8, const int32_t *exps,
                  const int32_t *terms, const uint8_t *keep, int nthreads, int level) {
    softmax_job j = {x, out, depth, in_int8, level, exps, terms, keep};
    intq_parallel_for(threads_for_elements(rows * depth, nthreads), rows, softmax_task, &j);
}

/* ADD / MUL of same-shape operands through the 256x256 table built by the Python prepare:
 * out[i] = table[(a[i] << 8) | b[i]] on raw bytes (intq.runtime.fast.elementwise); split over threads as
 * threads_for_elements (intq_common.h) says */
typedef struct { const uint8_t *a, *b, *table; uint8_t *out; } lut2_job;

static int lut2_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const lut2_job *j = vp;
    for (long i = begin; i < end; i++) j->out[i] = j->table[((unsigned)j->a[i] << 8) | j->b[i]];
    return 0;
}

void intq_lut2(const uint8_t *a, const uint8_t *b, const uint8_t *table, uint8_t *out, long n, int nthreads) {
    lut2_job j = {a, b, table, out};
    intq_parallel_for(threads_for_elements(n, nthreads), n, lut2_task, &j);
}
