/* Speed of the uint8 im2col that the VNNI level (and AVX2's 1-2 row products) builds its tiles with, on the
 * 3x3x3 stride-2 first layer of the MobileNets (run on demand, never in tests; the VNNI level's tiles cannot
 * be timed on a CPU without vpdpbusd any other way):
 *
 *   cc -O3 -std=gnu11 -pthread -ffp-contract=off -Icsrc benchmarks/im2col_probe.c \
 *      $(ls csrc/*.c | grep -v intq_fast.c) -lm -o /tmp/im2col_probe
 *   /tmp/im2col_probe [H=128] [zb=0]     H x H x 3 input, SAME padding; zb != 0 adds the row sums
 *
 * Includes csrc/intq_fast.c to reach its static functions; times the short-window builder
 * (im2col_short_avx2, what im2col_avx2 picks for this layer) and the general one (im2col_general_avx2) on
 * every 48-pixel tile of the image, alternating, 5 rounds of 200 images; ns per output pixel. */
#include "intq_fast.c"

#include <stdio.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef int (*builder)(const conv_geom *, const uint8_t *, long, long, int, uint8_t *, int32_t *);

static double per_pixel_ns(builder f, const conv_geom *g, const uint8_t *x, uint8_t *A, int32_t *rs) {
    const long ptotal = (long)g->oh * g->ow;
    volatile unsigned sink = 0;
    const double t0 = now_s();
    for (int it = 0; it < 200; it++)
        for (long p0 = 0; p0 < ptotal; p0 += 48) sink += (unsigned)f(g, x, p0, ptotal, 48, A, rs) + A[5];
    return (now_s() - t0) / 200 * 1e9 / ptotal;
}

int main(int argc, char **argv) {
    const int h = argc > 1 ? atoi(argv[1]) : 128, zb = argc > 2 ? atoi(argv[2]) : 0;
    if (h < 4 || h % 2) { fprintf(stderr, "H: an even size >= 4\n"); return 1; }
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) { fprintf(stderr, "needs AVX2\n"); return 1; }
    conv_geom g;
    memset(&g, 0, sizeof g);
    g.n = 1; g.h = h; g.w = h; g.c = 3; g.kh = 3; g.kw = 3; g.sh = 2; g.sw = 2; g.dh = 1; g.dw = 1;
    g.oh = h / 2; g.ow = h / 2; g.k = 27; g.kp = 28; g.cout = 32; g.np = 32; g.za = 128; g.zb = zb;
    const size_t xlen = (size_t)h * h * 3;          /* SAME at stride 2 on an even size pads after only */
    uint8_t *x = malloc(xlen), *A = aligned_alloc(64, 48 * 28 + 128);
    int32_t rs[48];
    if (!x || !A) return 1;
    for (size_t i = 0; i < xlen; i++) x[i] = (uint8_t)(i * 7);
    for (int round = 0; round < 5; round++) {
        const double s = per_pixel_ns(im2col_short_avx2, &g, x, A, rs);
        const double gen = per_pixel_ns(im2col_general_avx2, &g, x, A, rs);
        printf("H=%d zb=%d: short %.2f ns/pixel, general %.2f ns/pixel (%.2fx)\n", h, zb, s, gen, s / gen);
    }
    free(x);
    free(A);
    return 0;
}
