/* ADD and MUL of two same-shape uint8 or int8 tensors, TFLite's reference arithmetic per element.
 *
 * ADD (reference_ops::Add), the same integers as intq/runtime/reference/add.py:
 *     a' = MBQM((a - z1) << 20, M1, s1),  b' = MBQM((b - z2) << 20, M2, s2)
 *     out = clamp(MBQM(a' + b', Mo, so) + z_out, lo, hi)
 * where every shift s is <= 0 (the multipliers are below one), so MBQM is TFLite's
 * MultiplyByQuantizedMultiplierSmallerThanOneExp. |a - z1| <= 255, so (a - z1) << 20 < 2^28, and
 * |a'| + |b'| < 2^29: no int32 overflow anywhere.
 * AVX2 (level >= 1): 32 elements per step, the input rescales in 32-bit lanes (rescaled8), the output's on
 * mbqm8_right, codes32 (intq_common.h); a scalar loop elsewhere, for the tail, and for input shifts beyond 19.
 * Split over threads as threads_for_elements says.
 *
 * MUL (reference_ops::Mul), as intq/runtime/reference/mul.py:
 *     out = clamp(MBQM((a - z1) * (b - z2), M, s) + z_out, lo, hi)
 * |a - z1| * |b - z2| <= 255^2; s may be a left shift (a multiplier above one), which wraps in int32 as the
 * reference's does. AVX2 likewise, 32 elements per step; both ops' output rescale on mbqm8_right for a
 * right shift. */
#include "intq_common.h"
#include "intq_kernels.h"


/* the parameter words of ADD (P_) and MUL (Q_) */
enum { P_Z1, P_Z2, P_M1, P_S1, P_M2, P_S2, P_MO, P_SO, P_ZOUT, P_LO, P_HI, P_INT8, P_WORDS };
enum { Q_Z1, Q_Z2, Q_M, Q_S, Q_ZOUT, Q_LO, Q_HI, Q_INT8, Q_WORDS };

typedef struct { const uint8_t *a, *b; uint8_t *out; const int32_t *p; int level, mul, s8; } add_job;

static inline int32_t code(const uint8_t *x, long i, int int8) { return int8 ? (int32_t)(int8_t)x[i] : x[i]; }

static void add_scalar(const add_job *j, long begin, long end) {
    const int32_t *p = j->p;
    for (long i = begin; i < end; i++) {
        int32_t a = mbqm((code(j->a, i, p[P_INT8]) - p[P_Z1]) * (1 << 20), p[P_M1], p[P_S1]);
        int32_t b = mbqm((code(j->b, i, p[P_INT8]) - p[P_Z2]) * (1 << 20), p[P_M2], p[P_S2]);
        int32_t q = mbqm(a + b, p[P_MO], p[P_SO]) + p[P_ZOUT];
        j->out[i] = (uint8_t)clamp_i32(q, p[P_LO], p[P_HI]);
    }
}

#ifdef INTQ_X86
/* The input rescale MBQM(d << 20, M, -e) of a code difference d = q - z (|d| <= 255) in 32-bit lanes: with
 * M = Mh 2^11 + Ml (Ml < 2^11), SRDHM(d 2^20, M) = floor((d M 2^20 + 2^30) / 2^31) = d Mh + ((d Ml + 2^10)
 * >> 11), and the rounding shift by e >= 1 (ties away from zero) folds into it: (hi + 2^(e-1) - [hi < 0]) >>
 * e, with 2^(e-1) added inside the first floor as 2^(10+e), and [hi < 0] replaceable by [d < 0] (d < 0
 * gives hi <= 0, and hi = 0 rounds to 0 either way). Two vpmulld instead of two 64-bit products; checked
 * against the reference on every d for 3,000 (M, e) pairs (one-off) and by the kernel's property test. Used
 * when 0 <= e <= 19 (so d Ml + the bias stays below 2^31); other shifts take mbqm8. */
typedef struct { __m256i z, mh, ml, bias, corr; __m128i e; } rescale_k;

static int rescale_fits(int32_t s) { return s <= 0 && s >= -19; }

__attribute__((target("avx2"))) static rescale_k rescale_init(int32_t z, int32_t m, int32_t s) {
    const int e = -s;
    rescale_k k = { _mm256_set1_epi32(z), _mm256_set1_epi32(m >> 11), _mm256_set1_epi32(m & 2047),
                    _mm256_set1_epi32((1 << 10) + (e >= 1 ? 1 << (10 + e) : 0)), _mm256_set1_epi32(e >= 1 ? -1 : 0),
                    _mm_cvtsi32_si128(e) };
    return k;
}

/* 8 codes at x (uint8, or int8 when s8) minus the zero point z, as int32 */
__attribute__((target("avx2"))) static inline __m256i diff8(const uint8_t *x, int s8, __m256i z) {
    const __m128i v = _mm_loadl_epi64((const __m128i *)x);
    return _mm256_sub_epi32(s8 ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v), z);
}

/* 8 codes at x, rescaled */
__attribute__((target("avx2"))) static inline __m256i rescaled8(const uint8_t *x, int s8, const rescale_k *k) {
    const __m256i d = diff8(x, s8, k->z);
    const __m256i lo = _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(d, k->ml), k->bias), 11);
    const __m256i hi = _mm256_add_epi32(_mm256_mullo_epi32(d, k->mh), lo);
    const __m256i neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), d);      /* not a shift: those share 2 pipes */
    return _mm256_sra_epi32(_mm256_add_epi32(hi, _mm256_and_si256(neg, k->corr)), k->e);
}

__attribute__((target("avx2"))) static long add_rescale_avx2(const uint8_t *x, int32_t *out, long n, int32_t z,
                                                              int32_t m, int32_t s, int s8) {
    const rescale_k k = rescale_init(z, m, s);
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_si256((__m256i *)(out + i), rescaled8(x + i, s8, &k));
    return i;
}

#endif

/* ADD's input rescale alone, MBQM((code - z) << 20, m, s) of n codes into out (level >= 1: rescaled8 where it
 * applies), so that a test can compare it with the reference for every code: an error of one in it seldom
 * reaches ADD's output, which the output rescale divides by 2^20 or more */
void intq_add_rescale(const uint8_t *x, int32_t *out, long n, int32_t z, int32_t m, int32_t s, int in_int8,
                      int level) {
    long i = 0;
#ifdef INTQ_X86
    if (level >= 1 && rescale_fits(s)) i = add_rescale_avx2(x, out, n, z, m, s, in_int8);
#endif
    (void)level;
    for (; i < n; i++) out[i] = mbqm((code(x, i, in_int8) - z) * (1 << 20), m, s);
}

static void mul_scalar(const add_job *j, long begin, long end) {
    const int32_t *p = j->p;
    for (long i = begin; i < end; i++) {
        const int32_t prod = (code(j->a, i, p[Q_INT8]) - p[Q_Z1]) * (code(j->b, i, p[Q_INT8]) - p[Q_Z2]);
        j->out[i] = (uint8_t)clamp_i32(mbqm(prod, p[Q_M], p[Q_S]) + p[Q_ZOUT], p[Q_LO], p[Q_HI]);
    }
}

#ifdef INTQ_X86
/* elements [begin, end) of ADD (mul = 0) or MUL from begin, 32 per step; returns where it stopped (the scalar
 * loop does the rest). Compiled for each op and code type (elementwise_avx2 picks): with s8 a run-time value
 * the loop branched on it for every load and pack. */
__attribute__((target("avx2"), always_inline))
static inline long elementwise_avx2_body(const add_job *j, long begin, long end, const int mul, const int s8,
                                         const int right) {
    const int32_t *p = j->p;
    if (!mul && (!rescale_fits(p[P_S1]) || !rescale_fits(p[P_S2]))) return begin;
    /* ADD: the input rescales; MUL: the zero points in k1.z, k2.z. Both: the output multiplier and shift */
    const rescale_k k1 = rescale_init(p[mul ? Q_Z1 : P_Z1], mul ? 0 : p[P_M1], mul ? 0 : p[P_S1]);
    const rescale_k k2 = rescale_init(p[mul ? Q_Z2 : P_Z2], mul ? 0 : p[P_M2], mul ? 0 : p[P_S2]);
    const __m256i m = _mm256_set1_epi32(p[mul ? Q_M : P_MO]), sh = _mm256_set1_epi32(p[mul ? Q_S : P_SO]);
    const rshift_k rs = rshift_init(right ? -p[mul ? Q_S : P_SO] : 0);      /* right: mbqm8_right */
    const codes_k k = mul ? codes_init(p[Q_ZOUT], p[Q_LO], p[Q_HI], s8) : codes_init(p[P_ZOUT], p[P_LO], p[P_HI], s8);
    long i = begin;
    for (; i + 32 <= end; i += 32) {
        __m256i r[4];
        for (int u = 0; u < 4; u++) {
            const uint8_t *a = j->a + i + 8 * u, *b = j->b + i + 8 * u;
            const __m256i x = mul ? _mm256_mullo_epi32(diff8(a, s8, k1.z), diff8(b, s8, k2.z))
                                  : _mm256_add_epi32(rescaled8(a, s8, &k1), rescaled8(b, s8, &k2));
            r[u] = right ? mbqm8_right(x, m, &rs) : mbqm8(x, m, sh);
        }
        _mm256_storeu_si256((__m256i *)(j->out + i), codes32(&k, r[0], r[1], r[2], r[3]));
    }
    return i;
}
/* ADD when one input's rescale is exact: the input with the larger scale has the multiplier 0.5 exactly (TFLite's
 * prepare divides each input scale by twice the larger one), M = 2^30 and s = 0, so its MBQM((q - z) << 20) is
 * (q - z) << 19 (|q - z| << 19 < 2^28: SRDHM's product is a multiple of 2^31 plus the 2^30 it rounds away).
 * That input (x; y is the other, rescaled by rescaled8) costs one shift. The output MBQM has a multiplier below
 * one (s_out <= 0), the same for every lane: mbqm8_right. */
__attribute__((target("avx2"), always_inline))
static inline long add_exact_avx2_body(const add_job *j, long begin, long end, const int s8) {
    const int32_t *p = j->p;
    const int a_exact = p[P_M1] == (1 << 30) && p[P_S1] == 0;
    const uint8_t *x = a_exact ? j->a : j->b, *y = a_exact ? j->b : j->a;
    const int32_t zx = a_exact ? p[P_Z1] : p[P_Z2];
    const rescale_k ky = a_exact ? rescale_init(p[P_Z2], p[P_M2], p[P_S2]) : rescale_init(p[P_Z1], p[P_M1], p[P_S1]);
    const __m256i cx = _mm256_set1_epi32(-zx * (1 << 19)), m = _mm256_set1_epi32(p[P_MO]);
    const rshift_k rs = rshift_init(-p[P_SO]);
    const codes_k k = codes_init(p[P_ZOUT], p[P_LO], p[P_HI], s8);
    long i = begin;
    for (; i + 32 <= end; i += 32) {
        __m256i r[4];
        for (int u = 0; u < 4; u++) {
            const __m128i xv = _mm_loadl_epi64((const __m128i *)(x + i + 8 * u));
            const __m256i xs = _mm256_slli_epi32(s8 ? _mm256_cvtepi8_epi32(xv) : _mm256_cvtepu8_epi32(xv), 19);
            const __m256i sum = _mm256_add_epi32(_mm256_add_epi32(xs, cx), rescaled8(y + i + 8 * u, s8, &ky));
            r[u] = mbqm8_right(sum, m, &rs);
        }
        _mm256_storeu_si256((__m256i *)(j->out + i), codes32(&k, r[0], r[1], r[2], r[3]));
    }
    return i;
}

/* whether add_exact_avx2_body applies: an input with M = 2^30, s = 0, the other's shift within rescaled8's
 * range, an output shift to the right by at most 31 */
static int add_exact_applies(const int32_t *p) {
    const int a_exact = p[P_M1] == (1 << 30) && p[P_S1] == 0, b_exact = p[P_M2] == (1 << 30) && p[P_S2] == 0;
    return ((a_exact && rescale_fits(p[P_S2])) || (b_exact && rescale_fits(p[P_S1]))) && shift_is_right(p[P_SO]);
}

/* ADD or MUL: the output rescale on mbqm8_right when its shift is to the right (a multiplier below one: every
 * ADD, most MULs), mbqm8 otherwise (a left shift) */
#define ELEMENTWISE_VARIANT(NAME, MUL, S8)                                                                  \
__attribute__((target("avx2"))) static long NAME(const add_job *j, long b, long e) {                        \
    if (!MUL && add_exact_applies(j->p)) return add_exact_avx2_body(j, b, e, S8);                           \
    return shift_is_right(j->p[MUL ? Q_S : P_SO]) ? elementwise_avx2_body(j, b, e, MUL, S8, 1)              \
                                                  : elementwise_avx2_body(j, b, e, MUL, S8, 0);             \
}
ELEMENTWISE_VARIANT(add_avx2_u8, 0, 0)
ELEMENTWISE_VARIANT(add_avx2_s8, 0, 1)
ELEMENTWISE_VARIANT(mul_avx2_u8, 1, 0)
ELEMENTWISE_VARIANT(mul_avx2_s8, 1, 1)
#undef ELEMENTWISE_VARIANT
static long (*const elementwise_avx2[2][2])(const add_job *, long, long) = {{add_avx2_u8, add_avx2_s8},
                                                                            {mul_avx2_u8, mul_avx2_s8}};
#endif

/* ADD or MUL over [begin, end): AVX2 32 elements per step where the level allows, the scalar code after */
static int elementwise_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const add_job *j = vp;
#ifdef INTQ_X86
    if (j->level >= 1) begin = elementwise_avx2[j->mul][j->s8](j, begin, end);
#endif
    if (j->mul) mul_scalar(j, begin, end);
    else add_scalar(j, begin, end);
    return 0;
}

static void elementwise(const uint8_t *a, const uint8_t *b, const int32_t *params, uint8_t *out, long n,
                        int nthreads, int level, int mul) {
    add_job j = {a, b, out, params, level, mul, params[mul ? Q_INT8 : P_INT8] != 0};
    intq_parallel_for(threads_for_elements(n, nthreads), n, elementwise_task, &j);
}

/* params: z1, z2, M1, s1, M2, s2, Mo, so, z_out, lo, hi, int8 (int32; zero points as signed code values) */
void intq_add(const uint8_t *a, const uint8_t *b, const int32_t *params, uint8_t *out, long n, int nthreads,
              int level) {
    elementwise(a, b, params, out, n, nthreads, level, 0);
}

/* params: z1, z2, M, s, z_out, lo, hi, int8 (int32; zero points as signed code values) */
void intq_mul(const uint8_t *a, const uint8_t *b, const int32_t *params, uint8_t *out, long n, int nthreads,
              int level) {
    elementwise(a, b, params, out, n, nthreads, level, 1);
}
