/* Peak integer multiply-accumulate throughput of one core, for benchmarks/bench_runtime.py (built there with
 * the system C compiler at run time; never part of the package).
 *
 *   peak avx2   vpmaddwd + vpaddd on 16-bit pairs: the exact int8 product of the AVX2 kernels (vpmaddubsw
 *               would saturate), 16 MACs per instruction pair
 *   peak vnni   AVX512-VNNI vpdpbusd: u8 x s8 sums of 4 into int32, 64 MACs per instruction
 *   peak fma    AVX2 vfmadd231ps on 8 float32 lanes (what float32 inference runs on), for comparison
 *   peak madd | add | shuffle   vpmaddwd alone, vpaddd alone, vpshufb alone (ymm): issue rates in G
 *               instructions/s, to see which pipes bound the AVX2 pair and the byte-table kernel's vpshufb
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

/* 12 independent accumulators x0..x11 (x12-x15: operands and temporaries), clobbering all 16 registers */
#define TWELVE(OP) OP(0, 12) OP(1, 13) OP(2, 12) OP(3, 13) OP(4, 12) OP(5, 13) \
                   OP(6, 12) OP(7, 13) OP(8, 12) OP(9, 13) OP(10, 12) OP(11, 13)
#define CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
                 "xmm11", "xmm12", "xmm13"
#define Z(r) "vpxor %%xmm" #r ", %%xmm" #r ", %%xmm" #r "\n\t"
#define ZERO_ALL Z(0) Z(1) Z(2) Z(3) Z(4) Z(5) Z(6) Z(7) Z(8) Z(9) Z(10) Z(11) Z(12) Z(13) Z(14) Z(15)
/* GOPS of n iterations of TWELVE(OP), each instruction (pair) doing `macs` multiply-accumulates */
#define PEAK_LOOP(name, OP, macs)                                   \
    static double name(long n) {                                    \
        double t = now();                                           \
        __asm__ volatile(ZERO_ALL ::: CLOBBERS, "xmm14", "xmm15"); /* no denormals, NaNs */ \
        for (long i = 0; i < n; i++) __asm__ volatile(TWELVE(OP) ::: CLOBBERS); \
        return 2.0 * n * 12 * (macs) / (now() - t) / 1e9;           \
    }

/* x += madd(x14, x15) through a temporary (x12 / x13 alternating) */
#define MADD(acc, tmp) "vpmaddwd %%ymm15, %%ymm14, %%ymm" #tmp "\n\tvpaddd %%ymm" #tmp ", %%ymm" #acc ", %%ymm" #acc "\n\t"
#define DP(acc, unused) "vpdpbusd %%zmm15, %%zmm14, %%zmm" #acc "\n\t"
#define FMA(acc, unused) "vfmadd231ps %%ymm15, %%ymm14, %%ymm" #acc "\n\t"
PEAK_LOOP(avx2, MADD, 16)
PEAK_LOOP(vnni, DP, 64)
PEAK_LOOP(fma_ps, FMA, 8)
/* one instruction per accumulator, results independent of each other: its issue rate (macs 0.5 makes the
 * loop's 2 * 12 * macs per iteration 12, one per instruction) */
#define MADD1(acc, unused) "vpmaddwd %%ymm15, %%ymm14, %%ymm" #acc "\n\t"
#define ADD1(acc, unused) "vpaddd %%ymm15, %%ymm" #acc ", %%ymm" #acc "\n\t"
#define SHUF1(acc, unused) "vpshufb %%ymm15, %%ymm14, %%ymm" #acc "\n\t"
PEAK_LOOP(madd_rate, MADD1, 0.5)
PEAK_LOOP(add_rate, ADD1, 0.5)
PEAK_LOOP(shuffle_rate, SHUF1, 0.5)

int main(int argc, char **argv) {
    static const char *const kinds[] = {"avx2", "vnni", "fma", "madd", "add", "shuffle"};
    static double (*const loops[])(long) = {avx2, vnni, fma_ps, madd_rate, add_rate, shuffle_rate};
    static const long iterations[] = {20000000, 10000000, 20000000, 20000000, 20000000, 20000000};
    const char *k = argc == 2 ? argv[1] : "";
    int m = 0;
    while (m < 6 && strcmp(k, kinds[m])) m++;
    if (m == 6) {
        fprintf(stderr, "usage: peak avx2|vnni|fma|madd|add|shuffle\n");
        return 2;
    }
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double g = loops[m](iterations[m]);
        if (g > best) best = g;
    }
    printf("%.1f\n", best);
    return 0;
}
