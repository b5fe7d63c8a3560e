/* Replays conv and depthwise cases written by tests/runtime/test_cross_arch.py through the kernel library at
 * the portable level (0), so that the library built for another architecture (e.g. AArch64, run under
 * qemu-user) is checked against the reference bytes computed on this one. Links against the library's
 * objects; no Python. File format (little-endian int32 words and raw bytes), per case until the end:
 *   op (1 conv, 2 depthwise), threads, geom words n, geom[n], then 8 byte arrays, each as its length
 *   and its bytes: x, the six constant arrays in the order intq_conv / intq_depthwise take them, and the
 *   expected output.
 * Prints one line per case and exits non-zero on the first mismatch or on a malformed file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int intq_conv(const int32_t *geom, const uint8_t *x, const int8_t *B, const int16_t *B16,
              const int32_t *colterm, const int32_t *m0, const int32_t *shift, const int32_t *colterm16,
              uint8_t *out, int nthreads, int level, void *work);
int intq_depthwise(const int32_t *gm, const uint8_t *x, const int32_t *w32, const int32_t *bias,
                   const int32_t *m0, const int32_t *shift, const int16_t *w2, const int32_t *bint, uint8_t *out,
                   int nthreads, int level, void *work);

static int word(FILE *f, int32_t *v) { return fread(v, 4, 1, f) == 1; }

/* a length-prefixed byte array, 64-byte aligned (the kernels' vector loads are unaligned, but constants are
 * aligned in production too) */
static uint8_t *blob(FILE *f, int32_t *len) {
    if (!word(f, len) || *len < 0) return NULL;
    uint8_t *p = aligned_alloc(64, ((size_t)*len + 64) / 64 * 64 + 64);
    if (p && *len && fread(p, 1, (size_t)*len, f) != (size_t)*len) { free(p); return NULL; }
    return p;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: replay_cases FILE\n"); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    int32_t op, threads, ng;
    int ncase = 0;
    while (word(f, &op)) {
        int32_t geom[64], len[8];
        uint8_t *a[8];
        if (!word(f, &threads) || !word(f, &ng) || ng <= 0 || ng > 64 || fread(geom, 4, (size_t)ng, f) != (size_t)ng) {
            fprintf(stderr, "case %d: malformed header\n", ncase);
            return 2;
        }
        for (int i = 0; i < 8; i++)
            if (!(a[i] = blob(f, &len[i]))) { fprintf(stderr, "case %d: malformed array %d\n", ncase, i); return 2; }
        uint8_t *out = malloc((size_t)len[7] + 1);
        int err = op == 1 ? intq_conv(geom, a[0], (const int8_t *)a[1], (const int16_t *)a[2], (const int32_t *)a[3],
                                      (const int32_t *)a[4], (const int32_t *)a[5], (const int32_t *)a[6], out,
                                      threads, 0, NULL)
                          : intq_depthwise(geom, a[0], (const int32_t *)a[1], (const int32_t *)a[2],
                                           (const int32_t *)a[3], (const int32_t *)a[4], (const int16_t *)a[5],
                                           (const int32_t *)a[6], out, threads, 0, NULL);
        long diff = 0;
        for (int32_t i = 0; i < len[7]; i++) diff += out[i] != a[7][i];
        printf("case %d: op %d, %d bytes, %d thread(s): %s (%ld differ)\n", ncase, op, len[7], threads,
               err || diff ? "MISMATCH" : "equal", diff);
        if (err || diff) return 1;
        for (int i = 0; i < 8; i++) free(a[i]);
        free(out);
        ncase++;
    }
    printf("%d cases equal\n", ncase);
    return ncase ? 0 : 2;
}
