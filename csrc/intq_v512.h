/* The VNNI level's operations on 16 int32 lanes (v512_*), for intq_fast.c (GEMM, epilogue) and
 * intq_depthwise.c. INTQ_EMULATE_VNNI (a compile-time define, for tests: tests/runtime/test_isa_builds.py)
 * writes each of them in C and reports level 2 on any AVX2 CPU, so the level's tiles, row sums, packing,
 * epilogue and depthwise kernel are checked on CPUs without AVX-512; only these definitions differ. Functions
 * using them are compiled with VNNI_TARGET. Include after intq_common.h, under INTQ_X86. */
#ifndef INTQ_V512_H
#define INTQ_V512_H
#include "intq_common.h"

#ifdef INTQ_EMULATE_VNNI
typedef struct { int32_t d[16]; } v512;
#define VNNI_TARGET __attribute__((target("avx2")))
static inline v512 v512_zero(void) { v512 v; memset(&v, 0, sizeof v); return v; }
static inline v512 v512_load(const void *p) { v512 v; memcpy(&v, p, sizeof v); return v; }
static inline void v512_store(void *p, v512 v) { memcpy(p, &v, sizeof v); }
static inline v512 v512_bcast(int32_t t) { v512 v; for (int i = 0; i < 16; i++) v.d[i] = t; return v; }
/* vpdpbusd: each lane adds its four u8 x s8 byte products, wrapping (no saturation) */
static inline v512 v512_dpbusd(v512 c, v512 a, v512 b) {
    const uint8_t *pa = (const uint8_t *)a.d;
    const int8_t *pb = (const int8_t *)b.d;
    for (int i = 0; i < 16; i++) {
        int32_t s = 0;
        for (int j = 0; j < 4; j++) s += pa[4 * i + j] * pb[4 * i + j];
        c.d[i] = (int32_t)((uint32_t)c.d[i] + (uint32_t)s);
    }
    return c;
}
/* the 16-lane epilogue's operations (epilogue_vnni) */
static inline v512 v512_add(v512 a, v512 b) { for (int i = 0; i < 16; i++) a.d[i] = (int32_t)((uint32_t)a.d[i] + (uint32_t)b.d[i]); return a; }
static inline v512 v512_add64(v512 a, v512 b) {
    int64_t x[8], y[8];
    memcpy(x, a.d, 64); memcpy(y, b.d, 64);
    for (int i = 0; i < 8; i++) x[i] = (int64_t)((uint64_t)x[i] + (uint64_t)y[i]);
    memcpy(a.d, x, 64);
    return a;
}
static inline v512 v512_mul_even(v512 a, v512 b) {          /* int32 lanes 0, 2, ... -> int64 products */
    int64_t x[8];
    for (int i = 0; i < 8; i++) x[i] = (int64_t)a.d[2 * i] * b.d[2 * i];
    memcpy(a.d, x, 64);
    return a;
}
static inline v512 v512_srli64(v512 a, int n) {
    uint64_t x[8];
    memcpy(x, a.d, 64);
    for (int i = 0; i < 8; i++) x[i] >>= n;
    memcpy(a.d, x, 64);
    return a;
}
static inline v512 v512_sllv(v512 a, v512 n) { for (int i = 0; i < 16; i++) a.d[i] = (int32_t)((uint32_t)a.d[i] << n.d[i]); return a; }
static inline v512 v512_srlv(v512 a, v512 n) { for (int i = 0; i < 16; i++) a.d[i] = (int32_t)((uint32_t)a.d[i] >> n.d[i]); return a; }
static inline v512 v512_abs(v512 a) { for (int i = 0; i < 16; i++) a.d[i] = (int32_t)(a.d[i] < 0 ? 0u - (uint32_t)a.d[i] : (uint32_t)a.d[i]); return a; }
static inline v512 v512_odd_from(v512 ev, v512 od) { for (int i = 1; i < 16; i += 2) ev.d[i] = od.d[i]; return ev; }
static inline v512 v512_neg_where_neg(v512 a, v512 s) {    /* -a in the lanes where s < 0 */
    for (int i = 0; i < 16; i++) if (s.d[i] < 0) a.d[i] = (int32_t)(0u - (uint32_t)a.d[i]);
    return a;
}
static inline v512 v512_min(v512 a, v512 b) { for (int i = 0; i < 16; i++) a.d[i] = a.d[i] < b.d[i] ? a.d[i] : b.d[i]; return a; }
static inline v512 v512_max(v512 a, v512 b) { for (int i = 0; i < 16; i++) a.d[i] = a.d[i] > b.d[i] ? a.d[i] : b.d[i]; return a; }
static inline void v512_store_low_bytes(uint8_t *p, v512 a) { for (int i = 0; i < 16; i++) p[i] = (uint8_t)a.d[i]; }
/* the depthwise kernel's: 32 bytes widened to 32 int16 (zero- or sign-extended), and vpdpwssd (each lane adds
 * its two int16 x int16 products, wrapping) */
VNNI_TARGET static inline v512 v512_widen(__m256i b, int s8) {
    uint8_t x[32];
    int16_t w[32];
    v512 v;
    memcpy(x, &b, 32);
    for (int i = 0; i < 32; i++) w[i] = s8 ? (int8_t)x[i] : x[i];
    memcpy(v.d, w, 64);
    return v;
}
static inline v512 v512_dpwssd(v512 c, v512 a, v512 b) {
    int16_t x[32], y[32];
    memcpy(x, a.d, 64); memcpy(y, b.d, 64);
    for (int i = 0; i < 16; i++)
        c.d[i] = (int32_t)((uint32_t)c.d[i] + (uint32_t)(x[2 * i] * y[2 * i] + x[2 * i + 1] * y[2 * i + 1]));
    return c;
}
#else
typedef __m512i v512;
#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define v512_zero _mm512_setzero_si512
#define v512_load _mm512_loadu_si512
#define v512_store _mm512_storeu_si512
#define v512_bcast _mm512_set1_epi32
#define v512_dpbusd _mm512_dpbusd_epi32
#define v512_add _mm512_add_epi32
#define v512_add64 _mm512_add_epi64
#define v512_mul_even _mm512_mul_epi32
#define v512_srli64 _mm512_srli_epi64
#define v512_sllv _mm512_sllv_epi32
#define v512_srlv _mm512_srlv_epi32
#define v512_abs _mm512_abs_epi32
#define v512_odd_from(ev, od) _mm512_mask_blend_epi32(0xAAAA, ev, od)
#define v512_neg_where_neg(a, s) _mm512_mask_sub_epi32(a, _mm512_cmplt_epi32_mask(s, _mm512_setzero_si512()), \
                                                       _mm512_setzero_si512(), a)
#define v512_min _mm512_min_epi32
#define v512_max _mm512_max_epi32
#define v512_store_low_bytes(p, a) _mm_storeu_si128((__m128i *)(p), _mm512_cvtepi32_epi8(a))
#define v512_widen(b, s8) ((s8) ? _mm512_cvtepi8_epi16(b) : _mm512_cvtepu8_epi16(b))
#define v512_dpwssd _mm512_dpwssd_epi32
#endif

/* 16-lane requantization constants of channels [c, c + 16) from a shift block's view (rq_consts) and m0 */
typedef struct { v512 m, msw, left, right, half; } rq16_k;

VNNI_TARGET static inline rq16_k rq16_load(const rq_consts *q, const int32_t *m0, int c) {
    rq16_k k = { v512_load(m0 + c), v512_load(q->msw + c), v512_load(q->left + c), v512_load(q->right + c),
                 v512_load(q->half + c) };
    return k;
}

/* rq8's arithmetic (intq_common.h) on 16 lanes: SRDHM on the even and odd lanes' 64-bit products, then the
 * rounding shift in sign-magnitude form; any_left: some shift is to the left */
VNNI_TARGET static inline v512 rq16(v512 x, const rq16_k *k, int any_left) {
    const v512 h64 = v512_odd_from(v512_bcast(1 << 30), v512_zero());   /* 2^30 in each 64-bit lane */
    if (any_left) x = v512_sllv(x, k->left);
    const v512 ev = v512_srli64(v512_add64(v512_mul_even(x, k->m), h64), 31);
    v512 od = v512_add64(v512_mul_even(v512_srli64(x, 32), k->msw), h64);
    od = v512_add64(od, od);
    const v512 hi = v512_odd_from(ev, od);
    return v512_neg_where_neg(v512_srlv(v512_add(v512_abs(hi), k->half), k->right), hi);
}

/* output codes of requantized lanes: clamp(v, lo - zout, hi - zout) + zout in int32 (no overflow: the bounds
 * are 8-bit), whose low byte is the code, the same as codes8/16/32's saturating form */
typedef struct { v512 lo, hi, zo; } codes16_k;

VNNI_TARGET static inline codes16_k codes16_init(int zout, int lo, int hi) {
    codes16_k k = { v512_bcast(lo - zout), v512_bcast(hi - zout), v512_bcast(zout) };
    return k;
}

/* n (<= 16) codes of v at o */
VNNI_TARGET static inline void codes16_store(uint8_t *o, v512 v, const codes16_k *k, int n) {
    const v512 y = v512_add(v512_min(v512_max(v, k->lo), k->hi), k->zo);
    if (n == 16) v512_store_low_bytes(o, y);
    else {
        uint8_t tmp[16];
        v512_store_low_bytes(tmp, y);
        memcpy(o, tmp, (size_t)n);
    }
}
#endif
