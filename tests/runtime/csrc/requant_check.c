/* The AVX2 requantization (mbqm8, rq8, mbqm8_right in csrc/intq_common.h) and the VNNI level's 16-lane one (rq16 and the
 * codes16 clamp, csrc/intq_v512.h) against the scalar mbqm() on edge and random inputs: every multiplier/shift
 * pair drawn over the whole range of TFLite's QuantizeMultiplier output (M0 in [2^30, 2^31), shifts
 * -31..+30), accumulators at the int32 edges, powers of two, their neighbours and ties; codes for random zero
 * points and uint8/int8 clamp ranges. The 16-lane part runs on an AVX-512 VNNI CPU, or anywhere with AVX2
 * when built with -DINTQ_EMULATE_VNNI. Built and run by tests/runtime/test_requant_simd.py. Prints "ok",
 * "skip" (no AVX2) or the first mismatch. */
#include "intq_common.h"
#include <stdio.h>
#ifdef INTQ_X86
#include "intq_v512.h"
#endif

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

#ifdef INTQ_X86
static int32_t xs[4096];

/* accumulators: int32 edges, powers of two and their neighbours, random values of every magnitude */
static int fill_inputs(void) {
    int nx = 0;
    const int32_t fixed[] = {0, 1, -1, 2, -2, 3, -3, INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1};
    for (unsigned i = 0; i < sizeof fixed / sizeof fixed[0]; i++) xs[nx++] = fixed[i];
    for (int k = 1; k < 31; k++)
        for (int d = -1; d <= 1; d++) { xs[nx++] = (int32_t)((1u << k) + d); xs[nx++] = -(int32_t)((1u << k) + d); }
    while (nx < 4096) xs[nx++] = (int32_t)next() >> (next() % 31);
    return nx;
}

/* n lanes of trial `trial`: multipliers over [2^30, 2^31) (all 2^30 every 7th trial), shifts -31..+30 (the
 * common right shifts 0..-11 every 3rd), accumulators from xs */
static void draw_lanes(int trial, int n, int32_t *m0, int32_t *sh, int32_t *x) {
    for (int l = 0; l < n; l++) {
        m0[l] = (int32_t)((1u << 30) + (next() & ((1u << 30) - 1)));
        if (trial % 7 == 0) m0[l] = (int32_t)(1u << 30);
        sh[l] = (int)(next() % 62) - 31;
        if (trial % 3 == 0) sh[l] = -(int)(next() % 12);
        x[l] = xs[next() % 4096];
    }
}

__attribute__((target("avx2"))) static int check(void) {
    for (int trial = 0; trial < 20000; trial++) {
        int32_t m0[8], sh[8], x[8], got[8], got2[8], got3[8];
        draw_lanes(trial, 8, m0, sh, x);
        rq_consts q;
        int32_t block[RQ_BLOCK_WORDS(8)];
        rq_pack(m0, sh, 8, block);
        rq_view(&q, block, 8);
        __m256i v = _mm256_loadu_si256((const __m256i *)x);
        _mm256_storeu_si256((__m256i *)got, mbqm8(v, _mm256_loadu_si256((const __m256i *)m0),
                                                  _mm256_loadu_si256((const __m256i *)sh)));
        _mm256_storeu_si256((__m256i *)got2, rq8(v, m0, &q, 0));
        /* mbqm8_right: lane 0's multiplier and shift for every lane, when that shift is to the right */
        const int right = shift_is_right(sh[0]);
        if (right) {
            const rshift_k r = rshift_init(-sh[0]);
            _mm256_storeu_si256((__m256i *)got3, mbqm8_right(v, _mm256_set1_epi32(m0[0]), &r));
        }
        for (int l = 0; l < 8; l++) {
            int32_t want = mbqm(x[l], m0[l], sh[l]);
            if (got[l] != want || got2[l] != want) {
                printf("FAIL x %d m0 %d shift %d: mbqm %d, mbqm8 %d, rq8 %d\n", x[l], m0[l], sh[l], want, got[l], got2[l]);
                return 1;
            }
            if (right && got3[l] != mbqm(x[l], m0[0], sh[0])) {
                printf("FAIL x %d m0 %d shift %d: mbqm %d, mbqm8_right %d\n", x[l], m0[0], sh[0],
                       mbqm(x[l], m0[0], sh[0]), got3[l]);
                return 1;
            }
        }
    }
    return 0;
}

/* rq16 and codes16_store on 16 lanes (a whole vector, then a tail of n < 16 codes) */
VNNI_TARGET static int check16(void) {
    for (int trial = 0; trial < 20000; trial++) {
        int32_t m0[16], sh[16], x[16];
        uint8_t got[16];
        draw_lanes(trial, 16, m0, sh, x);
        const int s8 = trial % 2, zout = s8 ? (int)(next() % 256) - 128 : (int)(next() % 256);
        int lo = s8 ? -128 : 0, hi = s8 ? 127 : 255;
        if (trial % 5 == 0) { lo += (int)(next() % 100); hi -= (int)(next() % 100); }   /* a fused activation */
        rq_consts q;
        int32_t block[RQ_BLOCK_WORDS(16)];
        rq_pack(m0, sh, 16, block);
        rq_view(&q, block, 16);
        const rq16_k k = rq16_load(&q, m0, 0);
        const codes16_k ck = codes16_init(zout, lo, hi);
        const int n = trial % 4 == 0 ? 1 + (int)(next() % 15) : 16;
        memset(got, 0xA5, sizeof got);
        codes16_store(got, rq16(v512_load(x), &k, q.any_left), &ck, n);
        for (int l = 0; l < 16; l++) {
            const int32_t want = clamp_i32(mbqm(x[l], m0[l], sh[l]) + zout, lo, hi);
            if (l < n ? got[l] != (uint8_t)want : got[l] != 0xA5) {
                printf("FAIL rq16 lane %d of %d: x %d m0 %d shift %d zout %d [%d, %d]: want %d, got %d\n", l, n,
                       x[l], m0[l], sh[l], zout, lo, hi, want, (int)got[l]);
                return 1;
            }
        }
    }
    return 0;
}
#endif

int main(void) {
#ifdef INTQ_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        fill_inputs();
        int bad = check();
#ifndef INTQ_EMULATE_VNNI
        const int wide = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                         && __builtin_cpu_supports("avx512vnni");
#else
        const int wide = 1;
#endif
        if (!bad && wide) bad = check16();
        if (!bad) printf("ok\n");
        return bad;
    }
#endif
    printf("skip\n");
    return 0;
}
