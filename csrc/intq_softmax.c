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
 * exps[n], terms[n], keep[n] for n = max - q in 0..255 (terms already 0 where !keep). Rows split over up to
 * nthreads threads (threads_for_elements of rows x depth). */
typedef struct {
    const uint8_t *x; uint8_t *out; long depth; int in_int8; const int32_t *exps, *terms; const uint8_t *keep;
} softmax_job;

static int softmax_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const softmax_job *j = vp;
    const long depth = j->depth;
    const int in_int8 = j->in_int8, lo = in_int8 ? -128 : 0, hi = in_int8 ? 127 : 255;
    uint8_t table[256];
    for (long r = begin; r < end; r++) {
        const uint8_t *xr = j->x + r * depth;
        uint8_t *o = j->out + r * depth;
        int mx = -129;
        for (long i = 0; i < depth; i++) {
            int v = in_int8 ? (int)(int8_t)xr[i] : (int)xr[i];
            mx = v > mx ? v : mx;
        }
        uint32_t sum = 0;
        for (long i = 0; i < depth; i++) {
            int v = in_int8 ? (int)(int8_t)xr[i] : (int)xr[i];
            sum += (uint32_t)j->terms[mx - v];
        }
        int32_t nbu;
        int32_t inv = intq_get_reciprocal((int32_t)sum, 12, &nbu);
        int exponent = nbu + 31 - 8;
        for (int n = 0; n < 256; n++) {
            int q = lo;
            if (j->keep[n] && exponent <= 31) {
                int32_t p = rdbpot(srdhm(inv, j->exps[n]), exponent) + lo;
                q = clamp_i32(p, lo, hi);
            }
            table[n] = (uint8_t)q;
        }
        for (long i = 0; i < depth; i++) {
            int v = in_int8 ? (int)(int8_t)xr[i] : (int)xr[i];
            o[i] = table[mx - v];
        }
    }
    return 0;
}

void intq_softmax(const uint8_t *x, uint8_t *out, long rows, long depth, int in_int8, const int32_t *exps,
                  const int32_t *terms, const uint8_t *keep, int nthreads) {
    softmax_job j = {x, out, depth, in_int8, exps, terms, keep};
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
