/* intq plan executor: runs a prepared list of fast kernel calls in one ctypes call. Plain C ABI.
 *
 * intq.runtime.fast.plan builds, at Interpreter construction, one record of PLAN_WORDS int64 per node for a
 * graph whose every node has a compiled kernel: the op kind, then the same arguments the per-node ctypes call
 * would pass (pointers to the prepared constants and to buffers allocated once for the planned batch).
 * Running the plan is calling those kernels in order; the results are the per-node results by construction.
 * Also the global AVERAGE_POOL_2D (window = whole image) and CONCATENATION used by the plans; TRANSPOSE, PAD,
 * QUANTIZE, DEQUANTIZE and SPLIT are in intq_layout.c, MAX_POOL_2D, the windowed AVERAGE_POOL_2D, the
 * tabled MEAN and ARG_MAX in intq_pool.c. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "intq_common.h"
#include "intq_kernels.h"

#define PLAN_WORDS 16
enum { OP_CONV = 1, OP_DEPTHWISE = 2, OP_LUT2 = 3, OP_SOFTMAX = 4, OP_GLOBAL_AVG = 5, OP_CONCAT = 6,
       OP_RESIZE_BILINEAR = 7, OP_TRANSPOSE = 8, OP_PAD = 9, OP_QUANTIZE_F32 = 10, OP_LUT1 = 11, OP_MAX_POOL = 12,
       OP_MEAN_TABLE = 13, OP_ADD = 14, OP_SPLIT = 15, OP_ARG_MAX = 16,
       OP_AVG_POOL = 17, OP_COPY = 18, OP_MUL = 19 };

/* AVERAGE_POOL_2D over the whole H x W image (no padding): TFLite reference_ops::AveragePool with
 * count = hw: acc > 0 ? (acc + count/2) / count : (acc - count/2) / count (C division), then clamp. Tasks are
 * (image, block of GAP_BLOCK channels), split over up to nthreads threads (threads_for_elements of the
 * input's size). */
#define GAP_BLOCK 128
typedef struct { const uint8_t *x; uint8_t *out; long hw, c, nblk; int in_int8, lo, hi; } gap_job;

static int gap_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const gap_job *g = vp;
    const int32_t half = (int32_t)(g->hw / 2), cnt = (int32_t)g->hw;
    int32_t acc[GAP_BLOCK];
    for (long u = begin; u < end; u++) {
        const long b = u / g->nblk, j0 = u % g->nblk * GAP_BLOCK, m = g->c - j0 < GAP_BLOCK ? g->c - j0 : GAP_BLOCK;
        const uint8_t *p = g->x + (size_t)b * g->hw * g->c + j0;
        memset(acc, 0, sizeof acc);
        for (long i = 0; i < g->hw; i++, p += g->c)    /* vectorised by the compiler */
            if (g->in_int8) for (long j = 0; j < m; j++) acc[j] += (int8_t)p[j];
            else for (long j = 0; j < m; j++) acc[j] += p[j];
        for (long j = 0; j < m; j++) {
            int32_t q = acc[j] > 0 ? (acc[j] + half) / cnt : (acc[j] - half) / cnt;
            g->out[(size_t)b * g->c + j0 + j] = (uint8_t)clamp_i32(q, g->lo, g->hi);
        }
    }
    return 0;
}

void intq_global_avg_pool(const uint8_t *x, uint8_t *out, long n, long hw, long c, int in_int8, int lo, int hi,
                          int nthreads) {
    gap_job g = {x, out, hw, c, (c + GAP_BLOCK - 1) / GAP_BLOCK, in_int8, lo, hi};
    intq_parallel_for(threads_for_elements(n * hw * c, nthreads), n * g.nblk, gap_task, &g);
}

/* CONCATENATION as bytes: for each of `outer` slices, input i contributes meta[3i+1] bytes read from
 * meta[3i] (advancing by that much per slice), copied or mapped through the 256-entry table meta[3i+2]
 * (0 = copy; the Python prepare folds requantization and the activation clamp into the tables); level as
 * lut_bytes'; slices split over up to nthreads threads (threads_for_elements of the output's bytes) */
typedef struct { const int64_t *meta; long nin; size_t slice; uint8_t *out; int level; } concat_job;

static int concat_task(void *vp, long begin, long end, int thread) {
    (void)thread;
    const concat_job *j = vp;
    uint8_t *out = j->out + (size_t)begin * j->slice;
    for (long o = begin; o < end; o++)
        for (long i = 0; i < j->nin; i++) {
            const int64_t *m = j->meta + 3 * i;
            size_t len = (size_t)m[1];
            const uint8_t *src = (const uint8_t *)(intptr_t)m[0] + (size_t)o * len;
            const uint8_t *table = (const uint8_t *)(intptr_t)m[2];
            if (table) lut_bytes(src, out, (long)len, table, j->level);
            else copy_block(out, src, len);
            out += len;
        }
    return 0;
}

void intq_concat(const int64_t *meta, long nin, long outer, uint8_t *out, int level, int nthreads) {
    concat_job j = {meta, nin, 0, out, level};
    for (long i = 0; i < nin; i++) j.slice += (size_t)meta[3 * i + 1];
    intq_parallel_for(threads_for_elements(outer * (long)j.slice, nthreads), outer, concat_task, &j);
}

#define P(i) ((void *)(intptr_t)r[i])
/* returns 0, or 1 + the index of the record whose kernel failed (scratch allocation) or is unknown */
int intq_run_plan(const int64_t *plan, long nrec) {
    for (long i = 0; i < nrec; i++) {
        const int64_t *r = plan + i * PLAN_WORDS;
        int err = 0;
        switch (r[0]) {
        case OP_CONV:
            err = intq_conv(P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9), (int)r[10], (int)r[11], P(12));
            break;
        case OP_DEPTHWISE:
            err = intq_depthwise(P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9), (int)r[10], (int)r[11],
                                 P(12));
            break;
        case OP_LUT2: intq_lut2(P(1), P(2), P(3), P(4), (long)r[5], (int)r[6]); break;
        case OP_ADD: intq_add(P(1), P(2), P(3), P(4), (long)r[5], (int)r[6], (int)r[7]); break;
        case OP_MUL: intq_mul(P(1), P(2), P(3), P(4), (long)r[5], (int)r[6], (int)r[7]); break;
        case OP_SOFTMAX:
            intq_softmax(P(1), P(2), (long)r[3], (long)r[4], (int)r[5], P(6), P(7), P(8), (int)r[9], (int)r[10]);
            break;
        case OP_GLOBAL_AVG:
            intq_global_avg_pool(P(1), P(2), (long)r[3], (long)r[4], (long)r[5], (int)r[6], (int)r[7], (int)r[8],
                                 (int)r[9]);
            break;
        case OP_CONCAT: intq_concat(P(1), (long)r[2], (long)r[3], P(4), (int)r[5], (int)r[6]); break;
        case OP_RESIZE_BILINEAR: {            /* r[3..8] = n h w c oh ow; r[9] -> int64[6] of axis arrays */
            const int64_t *a = P(9);
            intq_resize_bilinear(P(1), P(2), (long)r[3], (long)r[4], (long)r[5], (long)r[6], (long)r[7],
                                 (long)r[8], (const int64_t *)(intptr_t)a[0], (const int64_t *)(intptr_t)a[1],
                                 (const int64_t *)(intptr_t)a[2], (const int64_t *)(intptr_t)a[3],
                                 (const void *)(intptr_t)a[4], (const void *)(intptr_t)a[5], (int)r[10], (int)r[11],
                                 (int)r[12], (int)r[13]);
            break;
        }
        case OP_TRANSPOSE: intq_transpose(P(1), P(2), P(3), (int)r[4]); break;
        case OP_PAD: intq_pad(P(1), P(2), P(3), (int)r[4]); break;
        case OP_QUANTIZE_F32: {               /* r[4] = the float32 scale's bit pattern */
            uint32_t bits = (uint32_t)r[4];
            float scale;
            memcpy(&scale, &bits, sizeof scale);
            intq_quantize_f32(P(1), P(2), (long)r[3], scale, (int)r[5], (int)r[6], (int)r[7], (int)r[8], (int)r[9]);
            break;
        }
        case OP_LUT1: intq_lut1(P(1), P(2), (long)r[3], P(4), (int)r[5], (int)r[6], (int)r[7]); break;
        case OP_MAX_POOL: intq_max_pool(P(1), P(2), P(3)); break;
        case OP_AVG_POOL: intq_avg_pool(P(1), P(2), P(3)); break;
        case OP_COPY: intq_copy(P(1), P(2), (long)r[3]); break;
        case OP_MEAN_TABLE: intq_mean_table(P(1), P(2), P(3), P(4), P(5), (int)r[6], (int)r[7]); break;
        case OP_SPLIT: intq_split(P(1), P(2), (long)r[3], (long)r[4], (long)r[5], (int)r[6]); break;
        case OP_ARG_MAX:
            intq_arg_max(P(1), P(2), (long)r[3], (long)r[4], (long)r[5], (int)r[6], (int)r[7], (int)r[8]);
            break;
        default: err = 1;
        }
        if (err) return (int)(1 + i);
    }
    return 0;
}
