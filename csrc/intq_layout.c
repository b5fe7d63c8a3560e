/* intq layout and boundary kernels: TRANSPOSE, PAD, QUANTIZE (float32 -> uint8/int8), one-input table gather
 * (QUANTIZE requantize, DEQUANTIZE). Plain C ABI, called per node (ctypes) and from intq_run_plan.
 *
 * Shapes come as int64 meta arrays normalised to INTQ_MAXDIM dims (leading 1s) by the Python prepare/plan
 * (intq.runtime.fast.layout); elements are 1 or 4 bytes. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <math.h>

#include "intq_common.h"
#include "intq_kernels.h"

#define INTQ_MAXDIM 6

/* row r (0 <= r < prod(sh[0..4])) of a 6-dim shape sh as its first five indices, last index fastest */
static void row_index(const int64_t *sh, long r, long idx[5]) {
    for (int k = 4; k >= 0; k--) {
        idx[k] = r % (long)sh[k];
        r /= (long)sh[k];
    }
}

/* TRANSPOSE as a strided copy: meta = [esize, out_shape[6], in_strides_of_out_dims[6] (elements)];
 * out is written in order, out[i0..i5] = x[sum i_k * stride_k]. Output rows (the last dim) split over up
 * to nthreads threads (threads_for_elements of the output's bytes). */
typedef struct { const uint8_t *x; uint8_t *out; const int64_t *meta; } layout_job;

static int transpose_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const layout_job *j = vp;
    const long es = (long)j->meta[0];
    const int64_t *sh = j->meta + 1, *st = j->meta + 1 + INTQ_MAXDIM;
    const long n5 = (long)sh[5], s5 = (long)st[5];
    long idx[5];
    row_index(sh, begin, idx);
    for (long r = begin; r < end; r++) {
        const long base = idx[0] * st[0] + idx[1] * st[1] + idx[2] * st[2] + idx[3] * st[3] + idx[4] * st[4];
        if (es == 1) {
            const uint8_t *p = j->x + base;
            uint8_t *o = j->out + (size_t)r * n5;
            if (s5 == 1) copy_block(o, p, (size_t)n5);
            else for (long f = 0; f < n5; f++) o[f] = p[f * s5];
        } else {
            const uint32_t *p = (const uint32_t *)j->x + base;
            uint32_t *o = (uint32_t *)j->out + (size_t)r * n5;
            if (s5 == 1) copy_block(o, p, (size_t)n5 * 4);
            else for (long f = 0; f < n5; f++) o[f] = p[f * s5];
        }
        for (int k = 4; k >= 0 && ++idx[k] == sh[k]; k--) idx[k] = 0;      /* the next row's indices */
    }
    return 0;
}

void intq_transpose(const uint8_t *x, uint8_t *out, const int64_t *meta, int nthreads) {
    layout_job j = {x, out, meta};
    const int64_t *sh = meta + 1;
    const long rows = (long)(sh[0] * sh[1] * sh[2] * sh[3] * sh[4]);
    intq_parallel_for(threads_for_elements(rows * (long)sh[5] * (long)meta[0], nthreads), rows, transpose_task, &j);
}

/* PAD with a constant: meta = [esize, value, in_shape[6], out_shape[6], before[6]]. The dims after the
 * innermost padded one are merged into it (their bytes are contiguous in the input and in the output), so a
 * "row" is that dim's bytes: an NHWC image padded in H and W copies W*C bytes per row. Each output row is
 * written once: the value where the row lies outside the input in the outer dims, else value, the input row,
 * value. Rows split over up to nthreads threads (threads_for_elements of the output's bytes). */
typedef struct { const uint8_t *x; uint8_t *out; long in[6], os[6], bf[6], es; uint32_t v; } pad_job;

static void fill_value(uint8_t *o, long bytes, long es, uint32_t v) {
    if (es == 1) memset(o, (int)(uint8_t)v, (size_t)bytes);
    else for (long i = 0; i < bytes; i += 4) memcpy(o + i, &v, 4);
}

static int pad_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const pad_job *j = vp;
    const long orow = j->os[5], irow = j->in[5], left = j->bf[5];     /* bytes */
    const int64_t os5[5] = {j->os[0], j->os[1], j->os[2], j->os[3], j->os[4]};
    long idx[5];
    row_index(os5, begin, idx);
    for (long r = begin; r < end; r++) {
        uint8_t *o = j->out + (size_t)r * orow;
        long src = 0;                                   /* the input row's index, or -1 outside the input */
        for (int k = 0; k < 5 && src >= 0; k++) {
            const long i = idx[k] - j->bf[k];
            src = i < 0 || i >= j->in[k] ? -1 : src * j->in[k] + i;
        }
        if (src < 0) fill_value(o, orow, j->es, j->v);
        else {
            fill_value(o, left, j->es, j->v);
            copy_block(o + left, j->x + (size_t)src * irow, (size_t)irow);
            fill_value(o + left + irow, orow - left - irow, j->es, j->v);
        }
        for (int k = 4; k >= 0 && ++idx[k] == os5[k]; k--) idx[k] = 0;
    }
    return 0;
}

void intq_pad(const uint8_t *x, uint8_t *out, const int64_t *meta, int nthreads) {
    const int64_t *in = meta + 2, *os = meta + 2 + INTQ_MAXDIM, *bf = meta + 2 + 2 * INTQ_MAXDIM;
    pad_job j = {x, out, {1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}, {0}, (long)meta[0], (uint32_t)meta[1]};
    int k = INTQ_MAXDIM - 1;
    long inner = j.es;                                  /* bytes of the merged unpadded inner dims */
    while (k > 0 && bf[k] == 0 && os[k] == in[k]) inner *= (long)in[k--];
    /* dims 0..k keep their places at the right end: dim k becomes the row (times `inner` bytes) */
    for (int d = k, e = INTQ_MAXDIM - 1; d >= 0; d--, e--) {
        const long m = d == k ? inner : 1;
        j.in[e] = (long)in[d] * m; j.os[e] = (long)os[d] * m; j.bf[e] = (long)bf[d] * m;
    }
    const long rows = j.os[0] * j.os[1] * j.os[2] * j.os[3] * j.os[4];
    intq_parallel_for(threads_for_elements(rows * j.os[5], nthreads), rows, pad_task, &j);
}

/* QUANTIZE float32 -> uint8/int8 (reference_ops::AffineQuantize as runtime/reference/quantize.py):
 * q = x / scale in float32; round half away from zero as qparams.round_half_away (trunc, then one step away
 * from zero when |q - trunc(q)| >= 0.5, both exact); clip to [-2^31, 2^31 - 128]; + zp; clamp to [lo, hi].
 * NaN gives what the reference gives on x86-64, where NumPy casts NaN to INT64_MIN and adding zp wraps:
 * lo when zp >= 0, hi when zp < 0 (the reference's NaN result is platform-defined). */
static void quantize_f32_scalar(const float *x, uint8_t *out, long begin, long end, float scale, int zp, int lo,
                                int hi) {
    for (long i = begin; i < end; i++) {
        const float q = x[i] / scale;
        float t = truncf(q);
        if (fabsf(q - t) >= 0.5f) t += copysignf(1.0f, q);
        int64_t v;
        if (isnan(t)) v = (int64_t)((uint64_t)INT64_MIN + (uint64_t)(int64_t)zp);
        else if (t <= -2147483648.0f) v = INT32_MIN + (int64_t)zp;
        else if (t >= 2147483520.0f) v = 2147483520LL + zp;
        else v = (int64_t)t + zp;
        out[i] = (uint8_t)(v < lo ? lo : (v > hi ? hi : v));        /* int64: no int32 clamp */
    }
}

#ifdef INTQ_X86
/* AVX2, 8 values per step, the same float32 operations: q = x / scale, t = trunc(q), one step away from zero
 * when |q - t| >= 0.5. t is then held to [-2^30, 2^30] before the int32 conversion: beyond that t + zp lies
 * outside [lo, hi] on the same side either way, so the clamped code is the scalar code's (inf included). A
 * step with a NaN goes to the scalar code. Returns where it stopped. */
__attribute__((target("avx2")))
static long quantize_f32_avx2(const float *x, uint8_t *out, long n, float scale, int zp, int lo, int hi) {
    const __m256 s = _mm256_set1_ps(scale), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 sign = _mm256_set1_ps(-0.0f), big = _mm256_set1_ps(1073741824.0f);
    const __m256 nbig = _mm256_set1_ps(-1073741824.0f);
    const __m256i z = _mm256_set1_epi32(zp), vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 q = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
        __m256 t = _mm256_round_ps(q, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        const __m256 away = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(q, t)), half, _CMP_GE_OQ);
        t = _mm256_add_ps(t, _mm256_and_ps(away, _mm256_or_ps(_mm256_and_ps(q, sign), one)));
        if (_mm256_movemask_ps(_mm256_cmp_ps(t, t, _CMP_UNORD_Q))) {
            quantize_f32_scalar(x, out, i, i + 8, scale, zp, lo, hi);
            continue;
        }
        const __m256i v = _mm256_add_epi32(_mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(t, nbig), big)), z);
        const __m256i c = _mm256_min_epi32(_mm256_max_epi32(v, vlo), vhi);          /* within [lo, hi] */
        const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
        _mm_storel_epi64((__m128i *)(out + i), lo < 0 ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w));
    }
    return i;
}
#endif

/* level: an ISA level up to intq_isa_level (>= 1 takes the AVX2 code); elements split over up to nthreads
 * threads (threads_for_elements) */
typedef struct { const float *x; uint8_t *out; float scale; int zp, lo, hi, level; } quantize_job;

static int quantize_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const quantize_job *j = vp;
    long i = begin;
#ifdef INTQ_X86
    if (j->level >= 1) i += quantize_f32_avx2(j->x + begin, j->out + begin, end - begin, j->scale, j->zp, j->lo, j->hi);
#endif
    quantize_f32_scalar(j->x, j->out, i, end, j->scale, j->zp, j->lo, j->hi);
    return 0;
}

void intq_quantize_f32(const float *x, uint8_t *out, long n, float scale, int zp, int lo, int hi, int level,
                       int nthreads) {
    quantize_job j = {x, out, scale, zp, lo, hi, level};
    intq_parallel_for(threads_for_elements(n, nthreads), n, quantize_task, &j);
}

/* one-input table gather: out[i] = table[x[i]] with 1- or 4-byte table entries (tables built by evaluating
 * the reference kernel on all 256 input codes) */
#ifdef INTQ_X86
/* 32 table look-ups per step with vpshufb, which reads 16-byte rows and gives 0 for an index with bit 7 set.
 * Row h is looked up at x - 16h: 8-bit wrapping subtraction for h <= 8, saturating after (once an index is
 * negative it stays so). An index is in [0, 127], x's low nibble in the low bits, exactly for the rows h in
 * [max(0, r - 7), r], r = x >> 4 (for x >= 128 the wrapped x - 16h is negative until h >= r - 7), and
 * negative for every other row. So with rows stored as D[h] = T[h] ^ T[h-1] for 1 <= h <= 7 (D[0] = T[0])
 * and D[h] = T[h] ^ T[h-1] ^ D[h-8] for h >= 8, the XOR of the 16 look-ups is T[r]'s entry: one index chain,
 * no blend (as XNNPACK's x8-lut kernels do). */
/* nv (<= 6) vectors of 32 bytes at x looked up in the rows D, row by row: each row is loaded once for all nv
 * (the sixteen rows and the vectors do not fit AVX2's 16 registers together). The empty asm keeps the compiler
 * from rewriting the chains (v as x - 16h from x, the XORs as a tree), which needs more registers than there
 * are: four vectors a step without it stored every look-up to the stack. 192 bytes a step took 0.84-0.87x the
 * time of the earlier one-vector loop (LOGISTIC, ab_builds.py --op). */
__attribute__((target("avx2"), always_inline))
static inline void lut_vectors(const uint8_t *x, uint8_t *out, const __m256i *D, const int nv) {
    const __m256i sixteen = _mm256_set1_epi8(16);
    __m256i v[6], y[6];
    for (int u = 0; u < nv; u++) {
        v[u] = _mm256_loadu_si256((const __m256i *)(x + 32 * u));
        y[u] = _mm256_shuffle_epi8(D[0], v[u]);
    }
#pragma GCC unroll 16
    for (int h = 1; h < 16; h++)
#pragma GCC unroll 6
        for (int u = 0; u < nv; u++) {
            v[u] = h <= 8 ? _mm256_sub_epi8(v[u], sixteen) : _mm256_subs_epi8(v[u], sixteen);
            y[u] = _mm256_xor_si256(y[u], _mm256_shuffle_epi8(D[h], v[u]));
            __asm__("" : "+x"(v[u]), "+x"(y[u]));
        }
    for (int u = 0; u < nv; u++) _mm256_storeu_si256((__m256i *)(out + 32 * u), y[u]);
}

__attribute__((target("avx2")))
static long lut_bytes_avx2(const uint8_t *x, uint8_t *out, long n, const uint8_t *table) {
    __m256i D[16];
    for (int h = 0; h < 16; h++) {
        const __m256i row = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(table + 16 * h)));
        D[h] = h == 0 ? row
                      : _mm256_xor_si256(row, _mm256_broadcastsi128_si256(
                                                  _mm_loadu_si128((const __m128i *)(table + 16 * (h - 1)))));
        if (h >= 8) D[h] = _mm256_xor_si256(D[h], D[h - 8]);
    }
    long i = 0;
    for (; i + 192 <= n; i += 192) lut_vectors(x + i, out + i, D, 6);
    for (; i + 32 <= n; i += 32) lut_vectors(x + i, out + i, D, 1);
    return i;
}
#endif

void lut_bytes(const uint8_t *x, uint8_t *out, long n, const uint8_t *table, int level) {
    long i = 0;
#ifdef INTQ_X86
    if (level >= 1) i = lut_bytes_avx2(x, out, n, table);
#endif
    (void)level;
    for (; i < n; i++) out[i] = table[x[i]];
}

/* out[i] = table[x[i]]: 1-byte entries through lut_bytes (level as there), 4-byte entries in a loop; split over
 * up to nthreads threads (threads_for_elements) */
typedef struct { const uint8_t *x; void *out; const void *table; int esize, level; } lut1_job;

static int lut1_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const lut1_job *j = vp;
    if (j->esize == 1) {
        lut_bytes(j->x + begin, (uint8_t *)j->out + begin, end - begin, j->table, j->level);
    } else {
        const uint32_t *t = j->table;
        uint32_t *o = j->out;
        for (long i = begin; i < end; i++) o[i] = t[j->x[i]];
    }
    return 0;
}

void intq_lut1(const uint8_t *x, void *out, long n, const void *table, int esize, int level, int nthreads) {
    lut1_job j = {x, out, table, esize, level};
    intq_parallel_for(threads_for_elements(n, nthreads), n, lut1_task, &j);
}

/* SPLIT into n equal parts: the input seen as [outer][n][part] bytes, part i of every outer row copied to
 * outs[i] (int64 pointers), which is [outer][part]; the outer * n copies split over up to nthreads threads
 * (threads_for_elements of the input's bytes) */
typedef struct { const uint8_t *x; const int64_t *outs; long n, part; } split_job;

static int split_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const split_job *j = vp;
    for (long u = begin; u < end; u++) {           /* copy u: outer row u / n, part u % n */
        const long o = u / j->n, i = u % j->n;
        copy_block((uint8_t *)(intptr_t)j->outs[i] + (size_t)o * j->part, j->x + (size_t)u * j->part, (size_t)j->part);
    }
    return 0;
}

void intq_split(const uint8_t *x, const int64_t *outs, long n, long outer, long part, int nthreads) {
    split_job j = {x, outs, n, part};
    intq_parallel_for(threads_for_elements(outer * n * part, nthreads), outer * n, split_task, &j);
}

/* a plan's input and output copies (intq.runtime.fast.plan): copy_block, which does not slow down at the
 * distances between buffers where memcpy does */
void intq_copy(void *dst, const void *src, long n) { copy_block(dst, src, (size_t)n); }
