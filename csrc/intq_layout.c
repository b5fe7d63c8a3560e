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

/* TRANSPOSE as a strided copy: meta = [esize, out_shape[6], in_strides_of_out_dims[6] (elements)];
 * out is written in order, out[i0..i5] = x[sum i_k * stride_k] */
void intq_transpose(const uint8_t *x, uint8_t *out, const int64_t *meta) {
    const long es = (long)meta[0];
    const int64_t *sh = meta + 1, *st = meta + 1 + INTQ_MAXDIM;
    const long n5 = (long)sh[5], s5 = (long)st[5];
    for (long a = 0; a < sh[0]; a++)
    for (long b = 0; b < sh[1]; b++)
    for (long c = 0; c < sh[2]; c++)
    for (long d = 0; d < sh[3]; d++)
    for (long e = 0; e < sh[4]; e++) {
        const long base = a * st[0] + b * st[1] + c * st[2] + d * st[3] + e * st[4];
        if (es == 1) {
            const uint8_t *p = x + base;
            if (s5 == 1) copy_block(out, p, (size_t)n5);
            else for (long f = 0; f < n5; f++) out[f] = p[f * s5];
            out += n5;
        } else {
            const uint32_t *p = (const uint32_t *)x + base;
            uint32_t *o = (uint32_t *)out;
            if (s5 == 1) copy_block(o, p, (size_t)n5 * 4);
            else for (long f = 0; f < n5; f++) o[f] = p[f * s5];
            out += n5 * 4;
        }
    }
}

/* PAD with a constant: meta = [esize, value, in_shape[6], out_shape[6], before[6]]; the output is filled
 * with value (its low esize bytes), then each input row (last dim) is copied to its place */
void intq_pad(const uint8_t *x, uint8_t *out, const int64_t *meta) {
    const long es = (long)meta[0];
    const int64_t *in = meta + 2, *os = meta + 2 + INTQ_MAXDIM, *bf = meta + 2 + 2 * INTQ_MAXDIM;
    long total = 1, ostr[INTQ_MAXDIM];
    for (int k = INTQ_MAXDIM - 1; k >= 0; k--) { ostr[k] = total; total *= (long)os[k]; }
    if (es == 1) memset(out, (int)(uint8_t)meta[1], (size_t)total);
    else {
        uint32_t v = (uint32_t)meta[1], *o = (uint32_t *)out;
        for (long i = 0; i < total; i++) o[i] = v;
    }
    const size_t row = (size_t)in[5] * (size_t)es;
    for (long a = 0; a < in[0]; a++)
    for (long b = 0; b < in[1]; b++)
    for (long c = 0; c < in[2]; c++)
    for (long d = 0; d < in[3]; d++)
    for (long e = 0; e < in[4]; e++) {
        const long off = (a + bf[0]) * ostr[0] + (b + bf[1]) * ostr[1] + (c + bf[2]) * ostr[2]
                       + (d + bf[3]) * ostr[3] + (e + bf[4]) * ostr[4] + bf[5];
        copy_block(out + (size_t)off * es, x, row);
        x += row;
    }
}

/* QUANTIZE float32 -> uint8/int8 (reference_ops::AffineQuantize as runtime/reference/quantize.py):
 * q = x / scale in float32; round half away from zero as qparams.round_half_away (trunc, then one step away
 * from zero when |q - trunc(q)| >= 0.5, both exact); clip to [-2^31, 2^31 - 128]; + zp; clamp to [lo, hi].
 * NaN gives what the reference gives on x86-64, where NumPy casts NaN to INT64_MIN and adding zp wraps:
 * lo when zp >= 0, hi when zp < 0 (the reference's NaN result is platform-defined). */
void intq_quantize_f32(const float *x, uint8_t *out, long n, float scale, int zp, int lo, int hi) {
    for (long i = 0; i < n; i++) {
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

/* one-input table gather: out[i] = table[x[i]] with 1- or 4-byte table entries (tables built by evaluating
 * the reference kernel on all 256 input codes) */
void intq_lut1(const uint8_t *x, void *out, long n, const void *table, int esize) {
    if (esize == 1) {
        const uint8_t *t = table;
        uint8_t *o = out;
        for (long i = 0; i < n; i++) o[i] = t[x[i]];
    } else {
        const uint32_t *t = table;
        uint32_t *o = out;
        for (long i = 0; i < n; i++) o[i] = t[x[i]];
    }
}

/* SPLIT into n equal parts: the input seen as [outer][n][part] bytes, part i of every outer row copied to
 * outs[i] (int64 pointers), which is [outer][part] */
void intq_split(const uint8_t *x, const int64_t *outs, long n, long outer, long part) {
    for (long o = 0; o < outer; o++)
        for (long i = 0; i < n; i++, x += part)
            copy_block((uint8_t *)(intptr_t)outs[i] + (size_t)o * part, x, (size_t)part);
}

/* a plan's input and output copies (intq.runtime.fast.plan): copy_block, which does not slow down at the
 * distances between buffers where memcpy does */
void intq_copy(void *dst, const void *src, long n) { copy_block(dst, src, (size_t)n); }
