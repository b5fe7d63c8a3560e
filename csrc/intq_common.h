/* intq fast kernels: what the C files share (ISA detection, requantization, threads). Plain C, no Python headers.
 *
 * Requantization is TFLite's MultiplyByQuantizedMultiplier with double rounding (intq.scheme.fixedpoint):
 * mbqm() per value (on the scalar srdhm / rdbpot, shared with softmax), mbqm8() / rq8() on 8 int32 lanes
 * (AVX2), rq8() with per-channel constants precomputed by intq_rq_pack(); both end in rdbpot8(), the rounding shift
 * in sign-magnitude form; codes8/16/32() add the zero point and clamp (AVX2). intq_parallel_for()
 * (intq_threads.c) runs a task over chunks on a pool of worker threads. */
#ifndef INTQ_COMMON_H
#define INTQ_COMMON_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
/* INTQ_PORTABLE_ONLY (a compile-time define, for checking the non-x86 build on x86) leaves out the SIMD code */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(INTQ_PORTABLE_ONLY)
#include <immintrin.h>
#define INTQ_X86 1
#endif

#define INTQ_HIDDEN __attribute__((visibility("hidden")))

/* two independent selects: the nested form compiled to branches where requant_row_c inlined it, and the portable
 * level took 1.22-1.34x the time (`INTQ_ISA=portable benchmarks/ab_builds.py --whole`, v1 1.0/224 random, v2) */
static inline int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* memcpy of a block that may be large. glibc's memcpy moves large blocks with `rep movsb`, which on the AMD
 * EPYC (Zen 3) development VM ran 2-13x slower whenever (dst - src) mod 4096 lay in [1, 31] (a 200 KB copy:
 * 73-147 us against 6-16; 16-byte vector moves: 6-12 us at every distance; one-off, docs/performance.md). Blocks
 * of COPY_VECTOR_BYTES or more move in 16-byte vectors (SSE2, every x86-64), smaller ones with memcpy. */
#define COPY_VECTOR_BYTES 1024
static inline void copy_block(void *dst, const void *src, size_t n) {
#ifdef INTQ_X86
    if (n >= COPY_VECTOR_BYTES) {
        uint8_t *d = (uint8_t *)dst;
        const uint8_t *s = (const uint8_t *)src;
        size_t i = 0;
        for (; i + 64 <= n; i += 64) {
            const __m128i a = _mm_loadu_si128((const __m128i *)(s + i));
            const __m128i b = _mm_loadu_si128((const __m128i *)(s + i + 16));
            const __m128i c = _mm_loadu_si128((const __m128i *)(s + i + 32));
            const __m128i e = _mm_loadu_si128((const __m128i *)(s + i + 48));
            _mm_storeu_si128((__m128i *)(d + i), a);
            _mm_storeu_si128((__m128i *)(d + i + 16), b);
            _mm_storeu_si128((__m128i *)(d + i + 32), c);
            _mm_storeu_si128((__m128i *)(d + i + 48), e);
        }
        memcpy(d + i, s + i, n - i);
        return;
    }
#endif
    memcpy(dst, src, n);
}

/* ---- gemmlowp fixed point, scalar (ports of intq.scheme.fixedpoint) ---- */
/* SaturatingRoundingDoublingHighMul: round(a*b / 2^31), ties up; INT32_MIN^2 saturates */
static inline int32_t srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * b;
    int64_t t = ab + (ab >= 0 ? (1LL << 30) : 1 - (1LL << 30));
    return (int32_t)((t + ((t >> 63) & ((1LL << 31) - 1))) >> 31);       /* C++ division: toward zero */
}

/* RoundingDivideByPOT, exponent in [0, 31]: ties away from zero (int32 throughout, no branch: loops over it
 * vectorise where the target has per-lane shifts) */
static inline int32_t rdbpot(int32_t x, int e) {
    const int32_t mask = (int32_t)((1u << e) - 1u), rem = x & mask, thr = (mask >> 1) + (x < 0);
    return (x >> e) + (rem > thr);
}

/* ---- requantization: TFLite MultiplyByQuantizedMultiplier, double rounding ---- */
static inline int32_t mbqm(int32_t x, int32_t m, int32_t shift) {
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int32_t xs = (int32_t)((uint32_t)x << left);
    int64_t ab = (int64_t)xs * (int64_t)m;              /* m >= 0, so no INT32_MIN*INT32_MIN case */
    /* srdhm(xs, m) = trunc((ab + (ab >= 0 ? 2^30 : 1 - 2^30)) / 2^31), which equals floor((ab + 2^30) / 2^31):
     * for ab < 0 the sum is negative and trunc(t / 2^31) = floor((t + 2^31 - 1) / 2^31). */
    return rdbpot((int32_t)((ab + (1LL << 30)) >> 31), right);
}

/* n codes from int32 sums: clamp(mbqm(acc[j], m0[j], shift[j]) + zout, lo, hi), the low byte stored (uint8 or
 * int8 codes): the portable level's epilogues, a loop that compilers vectorise where the target has per-lane
 * shifts (NEON) and run without branches elsewhere */
static inline void requant_row_c(const int32_t *acc, const int32_t *m0, const int32_t *shift, int n, int zout,
                                 int lo, int hi, uint8_t *out) {
    for (int j = 0; j < n; j++) out[j] = (uint8_t)clamp_i32(mbqm(acc[j], m0[j], shift[j]) + zout, lo, hi);
}

/* per-channel requantization constants for rq8(), derived once by the Python prepare (intq_rq_pack) and
 * stored after the np shifts they come from, in one "shift block" of RQ_BLOCK_WORDS(np) int32:
 * shift[np], left[np], right[np], half[np], msw[np], any_left: left and right shifts, half = 2^(right-1) (0
 * when right = 0), m0 with neighbours swapped (msw[2i] = m0[2i+1]) so one _mm256_mul_epi32 reaches the odd
 * lanes' multipliers, and whether any shift is to the left. np is even. */
typedef struct { const int32_t *left, *right, *half, *msw; int any_left; } rq_consts;

#define RQ_BLOCK_WORDS(np) (5 * (long)(np) + 1)

/* fill a shift block (RQ_BLOCK_WORDS(np) int32) from np multipliers and shifts */
__attribute__((unused)) static void rq_pack(const int32_t *m0, const int32_t *shift, int np, int32_t *block) {
    int32_t *left = block + np, *right = block + 2 * np, *half = block + 3 * np, *msw = block + 4 * np;
    int any_left = 0;
    for (int j = 0; j < np; j++) {
        int sh = shift[j];
        block[j] = sh;
        left[j] = sh > 0 ? sh : 0;
        right[j] = sh > 0 ? 0 : -sh;
        half[j] = right[j] > 0 ? (int32_t)(1u << (right[j] - 1)) : 0;
        msw[j] = m0[j ^ 1];
        any_left |= sh > 0;
    }
    block[5 * np] = any_left;
}

/* q's view of a shift block */
__attribute__((unused)) static inline void rq_view(rq_consts *q, const int32_t *block, int np) {
    q->left = block + np; q->right = block + 2 * np; q->half = block + 3 * np; q->msw = block + 4 * np;
    q->any_left = block[5 * np];
}

static inline size_t align64(size_t n) { return (n + 63) / 64 * 64; }

/* a call's work memory: the caller's (a plan's workspace) or, given none, one allocation of the call (never
 * of size 0, which aligned_alloc may refuse) */
static inline uint8_t *work_take(void *given, size_t bytes, uint8_t **owned) {
    *owned = NULL;
    if (given) return given;
    *owned = aligned_alloc(64, align64(bytes + 1));
    return *owned;
}

#ifdef INTQ_X86
/* RoundingDivideByPOT of the SRDHM results hi by per-lane exponents `right` (rounding half away from zero):
 * sign(hi) * ((|hi| + half) >> right) with |hi| + half taken as uint32 (<= 2^31 + 2^30: no wrap; |INT32_MIN|
 * = 2^31 and right = 0 give INT32_MIN back). The same integers as gemmlowp's mask/threshold form:
 * for hi = -y, y = q 2^e + r, both give -q - [r >= 2^(e-1)]. */
__attribute__((target("avx2"))) static inline __m256i rdbpot8(__m256i hi, __m256i right, __m256i half) {
    return _mm256_sign_epi32(_mm256_srlv_epi32(_mm256_add_epi32(_mm256_abs_epi32(hi), half), right), hi);
}

/* AVX2 requantization of 8 int32 lanes with per-lane (m, shift): the scalar mbqm() vectorised.
 * SRDHM = (x*m + 2^30) >> 31 on 64-bit lanes (low 32 bits of a logical shift = those of the arithmetic one). */
__attribute__((target("avx2"))) static inline __m256i mbqm8(__m256i x, __m256i m, __m256i sh) {
    __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
    __m256i left = _mm256_max_epi32(sh, zero), right = _mm256_max_epi32(_mm256_sub_epi32(zero, sh), zero);
    x = _mm256_sllv_epi32(x, left);
    __m256i half = _mm256_set1_epi64x(1LL << 30);
    __m256i ev = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(x, m), half), 31);
    __m256i od = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)), half);
    od = _mm256_slli_epi64(_mm256_srli_epi64(od, 31), 32);
    __m256i hi = _mm256_blend_epi32(ev, od, 0xAA);
    __m256i rhalf = _mm256_srli_epi32(_mm256_sllv_epi32(one, right), 1);      /* 2^(right-1), 0 for right 0 */
    return rdbpot8(hi, right, rhalf);
}

/* one right shift e in [0, 31] for every lane, as mbqm8_right takes it: the count and 2^(e-1) (0 for e = 0) */
typedef struct { __m128i cnt; __m256i rhalf; } rshift_k;

/* whether a MBQM shift s is such a right shift (s <= 0: a multiplier below one) */
static inline int shift_is_right(int32_t s) { return s <= 0 && s >= -31; }

__attribute__((target("avx2"))) static inline rshift_k rshift_init(int e) {
    rshift_k r = {_mm_cvtsi32_si128(e), _mm256_set1_epi32(e > 0 ? 1 << (e - 1) : 0)};
    return r;
}

/* mbqm8 for one multiplier m (>= 0) and one right shift for every lane (ADD's and MUL's output rescale,
 * SOFTMAX's outputs): no left shift, the odd lanes multiplied by m as it is, their SRDHM doubled in place as
 * in rq8, and rdbpot8's sign-magnitude rounding with one shift count */
__attribute__((target("avx2"))) static inline __m256i mbqm8_right(__m256i x, __m256i m, const rshift_k *r) {
    const __m256i half = _mm256_set1_epi64x(1LL << 30);
    const __m256i ev = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(x, m), half), 31);
    __m256i od = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), m), half);
    od = _mm256_add_epi64(od, od);
    const __m256i h = _mm256_blend_epi32(ev, od, 0xAA);
    return _mm256_sign_epi32(_mm256_srl_epi32(_mm256_add_epi32(_mm256_abs_epi32(h), r->rhalf), r->cnt), h);
}

/* mbqm8 with the per-channel constants at channel c precomputed (the same arithmetic). The odd lanes' SRDHM
 * is (p + 2^30) doubled, whose high dword is bits 31..62 of p + 2^30, the dword (p + 2^30) >> 31 keeps. */
__attribute__((target("avx2"))) static inline __m256i rq8(__m256i x, const int32_t *m0, const rq_consts *q, int c) {
    const __m256i half = _mm256_set1_epi64x(1LL << 30);
    if (q->any_left) x = _mm256_sllv_epi32(x, _mm256_loadu_si256((const __m256i *)(q->left + c)));
    __m256i ev = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(x, _mm256_loadu_si256((const __m256i *)(m0 + c))),
                                                    half), 31);
    __m256i od = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32),
                                                   _mm256_loadu_si256((const __m256i *)(q->msw + c))), half);
    od = _mm256_add_epi64(od, od);
    __m256i hi = _mm256_blend_epi32(ev, od, 0xAA);
    return rdbpot8(hi, _mm256_loadu_si256((const __m256i *)(q->right + c)),
                   _mm256_loadu_si256((const __m256i *)(q->half + c)));
}

/* requantized int32 lanes (before the zero point) -> output codes: saturate to int16, add the zero point with
 * int16 saturation, saturate to 8 bits, clamp to [lo, hi] bytewise. Equal to clamp(v + zout, lo, hi) in
 * int32 whenever lo..hi lies in the 8-bit range: a v outside int16 saturates to a value that still leaves
 * v + zout (|zout| <= 255) beyond the 8-bit range on the same side. */
typedef struct { __m256i zo16, lo8, hi8; int s8; } codes_k;

__attribute__((target("avx2"))) static inline codes_k codes_init(int zout, int lo, int hi, int out_int8) {
    codes_k k = { _mm256_set1_epi16((int16_t)zout), _mm256_set1_epi8((char)lo), _mm256_set1_epi8((char)hi),
                  out_int8 };
    return k;
}

/* 32 codes in order from four vectors of 8 channels */
__attribute__((target("avx2"))) static inline __m256i codes32(const codes_k *k, __m256i a, __m256i b, __m256i c,
                                                                __m256i d) {
    __m256i ab = _mm256_adds_epi16(_mm256_packs_epi32(a, b), k->zo16);
    __m256i cd = _mm256_adds_epi16(_mm256_packs_epi32(c, d), k->zo16);
    __m256i v = _mm256_permutevar8x32_epi32(k->s8 ? _mm256_packs_epi16(ab, cd) : _mm256_packus_epi16(ab, cd),
                                            _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    return k->s8 ? _mm256_min_epi8(_mm256_max_epi8(v, k->lo8), k->hi8)
                 : _mm256_min_epu8(_mm256_max_epu8(v, k->lo8), k->hi8);
}

/* 16 codes in order from two vectors of 8 channels */
__attribute__((target("avx2"))) static inline __m128i codes16(const codes_k *k, __m256i a, __m256i b) {
    __m256i ab = _mm256_permute4x64_epi64(_mm256_adds_epi16(_mm256_packs_epi32(a, b), k->zo16), 0xD8);
    __m128i l = _mm256_castsi256_si128(ab), h = _mm256_extracti128_si256(ab, 1);
    __m128i lo = _mm256_castsi256_si128(k->lo8), hi = _mm256_castsi256_si128(k->hi8);
    return k->s8 ? _mm_min_epi8(_mm_max_epi8(_mm_packs_epi16(l, h), lo), hi)
                 : _mm_min_epu8(_mm_max_epu8(_mm_packus_epi16(l, h), lo), hi);
}

/* 8 codes in the low half from one vector of 8 channels */
__attribute__((target("avx2"))) static inline __m128i codes8(const codes_k *k, __m256i a) {
    __m128i w = _mm_adds_epi16(_mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1)),
                               _mm256_castsi256_si128(k->zo16));
    __m128i lo = _mm256_castsi256_si128(k->lo8), hi = _mm256_castsi256_si128(k->hi8);
    return k->s8 ? _mm_min_epi8(_mm_max_epi8(_mm_packs_epi16(w, w), lo), hi)
                 : _mm_min_epu8(_mm_max_epu8(_mm_packus_epi16(w, w), lo), hi);
}

#endif

/* threads for an elementwise kernel over n elements: nthreads, or fewer so that each gets at least
 * ELEMENTS_PER_THREAD (ADD, the ADD/MUL table gather) */
#define ELEMENTS_PER_THREAD 8192
static inline int threads_for_elements(long n, int nthreads) {
    long nt = n / ELEMENTS_PER_THREAD < nthreads ? n / ELEMENTS_PER_THREAD : nthreads;
    return nt > 1 ? (int)nt : 1;
}

/* run f(ctx, begin, end, thread) over chunks of [0, n) on nt threads, the caller being one of them (work
 * stealing: f is called several times per thread, once per chunk); `thread` in [0, nt) names the thread
 * running the chunk (the caller is 0), and no two chunks of one call run at once with the same `thread`, so
 * a task may use scratch indexed by it. Returns the OR of the tasks' errors (intq_threads.c) */
/* out[i] = table[x[i]] for n bytes (256-entry byte table); level >= 1 (an ISA level up to intq_isa_level) takes
 * the AVX2 code, 32 bytes per step (intq_layout.c) */
INTQ_HIDDEN void lut_bytes(const uint8_t *x, uint8_t *out, long n, const uint8_t *table, int level);

typedef int (*task_fn)(void *ctx, long begin, long end, int thread);
INTQ_HIDDEN int intq_parallel_for(int nt, long n, task_fn f, void *ctx);

#endif
