/* Peak integer multiply-accumulate throughput of one core, for benchmarks/bench_runtime.py (built there with
 * the system C compiler at run time; never part of the package).
 *
 *   peak avx2   vpmaddwd + vpaddd on 16-bit pairs: the exact int8 product of the AVX2 kernels (vpmaddubsw
 *               would saturate), 16 MACs per instruction pair
 *   peak vnni   AVX512-VNNI vpdpbusd: u8 x s8 sums of 4 into int32, 64 MACs per instruction
 *   peak fma    AVX2 vfmadd231ps on 8 float32 lanes (what float32 inference runs on), for comparison
 *
 * Twelve independent accumulators (enough to hide the latency), operands in registers, best of 5 runs of
 * 0.1-0.3 s; prints GOPS (2 operations per multiply-accumulate). */
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define MADD(acc, tmp) "vpmaddwd %%ymm15, %%ymm14, %%ymm" #tmp "\n\tvpaddd %%ymm" #tmp ", %%ymm" #acc ", %%ymm" #acc "\n\t"
static double avx2(long n) {
    double t = now();
    for (long i = 0; i < n; i++)
        __asm__ volatile(MADD(0, 12) MADD(1, 13) MADD(2, 12) MADD(3, 13) MADD(4, 12) MADD(5, 13)
                         MADD(6, 12) MADD(7, 13) MADD(8, 12) MADD(9, 13) MADD(10, 12) MADD(11, 13)
                         ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                           "xmm10", "xmm11", "xmm12", "xmm13");
    return 2.0 * n * 12 * 16 / (now() - t) / 1e9;
}

#define DP(acc) "vpdpbusd %%zmm13, %%zmm12, %%zmm" #acc "\n\t"
static double vnni(long n) {
    double t = now();
    for (long i = 0; i < n; i++)
        __asm__ volatile(DP(0) DP(1) DP(2) DP(3) DP(4) DP(5) DP(6) DP(7) DP(8) DP(9) DP(10) DP(11)
                         ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                           "xmm10", "xmm11");
    return 2.0 * n * 12 * 64 / (now() - t) / 1e9;
}

#define FMA(acc) "vfmadd231ps %%ymm13, %%ymm12, %%ymm" #acc "\n\t"
static double fma_ps(long n) {
    double t = now();
    for (long i = 0; i < n; i++)
        __asm__ volatile(FMA(0) FMA(1) FMA(2) FMA(3) FMA(4) FMA(5) FMA(6) FMA(7) FMA(8) FMA(9) FMA(10) FMA(11)
                         ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                           "xmm10", "xmm11");
    return 2.0 * n * 12 * 8 / (now() - t) / 1e9;
}

int main(int argc, char **argv) {
    const char *k = argc == 2 ? argv[1] : "";
    if (strcmp(k, "avx2") && strcmp(k, "vnni") && strcmp(k, "fma")) {
        fprintf(stderr, "usage: peak avx2|vnni|fma\n");
        return 2;
    }
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double g = !strcmp(k, "vnni") ? vnni(10000000) : !strcmp(k, "fma") ? fma_ps(20000000) : avx2(20000000);
        if (g > best) best = g;
    }
    printf("%.1f\n", best);
    return 0;
}
