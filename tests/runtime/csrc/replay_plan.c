/* Runs a plan written by tests/runtime/plan_dump.py through intq_run_plan and compares its outputs with the
 * reference bytes stored with it: the kernel library built for another architecture (AArch64 under qemu-user,
 * tests/runtime/test_cross_arch.py) on a whole model. Every array is placed at its original start's remainder
 * modulo 64, so buffers keep the alignment the plan gave them; record words that pointed into an array are
 * relocated, and so are the addresses stored inside arrays (the dump lists them). Exits 0 when every output is equal, 1 on a difference or a kernel error, 2 on a bad file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_WORDS 16

int intq_run_plan(const int64_t *plan, long nrec);

static int64_t q(FILE *f, int *ok) {
    int64_t v = 0;
    if (fread(&v, 8, 1, f) != 1) *ok = 0;
    return v;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: replay_plan FILE\n"); return 2; }
    FILE *f = fopen(argv[1], "rb");
    char magic[4];
    int ok = 1;
    if (!f || fread(magic, 1, 4, f) != 4 || memcmp(magic, "IQPD", 4)) { fprintf(stderr, "not a plan dump\n"); return 2; }
    const int64_t narr = q(f, &ok), nrec = q(f, &ok), ninner = q(f, &ok), nin = q(f, &ok), nout = q(f, &ok);
    if (!ok || narr < 0 || nrec <= 0 || ninner < 0 || nin < 0 || nout <= 0) { fprintf(stderr, "bad counts\n"); return 2; }
    uint8_t **at = calloc((size_t)narr, sizeof *at);
    int64_t *size = calloc((size_t)narr, sizeof *size);
    for (int64_t i = 0; i < narr && ok; i++) {
        size[i] = q(f, &ok);
        const int64_t mod = q(f, &ok);
        if (!ok || size[i] < 0 || mod < 0 || mod >= 64) { fprintf(stderr, "array %lld: bad header\n", (long long)i); return 2; }
        uint8_t *base = aligned_alloc(64, ((size_t)size[i] + 128) / 64 * 64);
        if (!base) { fprintf(stderr, "out of memory\n"); return 2; }
        at[i] = base + mod;
        if (size[i] && fread(at[i], 1, (size_t)size[i], f) != (size_t)size[i]) { fprintf(stderr, "array %lld: short\n", (long long)i); return 2; }
    }
    int64_t *rec = calloc((size_t)nrec * PLAN_WORDS, sizeof *rec);
    for (int64_t w = 0; w < nrec * PLAN_WORDS && ok; w++) {
        const int64_t tag = q(f, &ok), a = q(f, &ok), b = q(f, &ok);
        if (tag == 0) rec[w] = a;
        else if (tag == 1 && a >= 0 && a < narr && b >= 0 && b <= size[a]) rec[w] = (int64_t)(intptr_t)(at[a] + b);
        else { fprintf(stderr, "record word %lld: bad relocation\n", (long long)w); return 2; }
    }
    for (int64_t k = 0; k < ninner && ok; k++) {        /* addresses stored inside arrays */
        const int64_t a = q(f, &ok), off = q(f, &ok), t = q(f, &ok), toff2 = q(f, &ok);
        if (!ok || a < 0 || a >= narr || off < 0 || off + 8 > size[a] || t < 0 || t >= narr || toff2 < 0 || toff2 > size[t]) {
            fprintf(stderr, "inner address %lld: bad\n", (long long)k);
            return 2;
        }
        const int64_t v = (int64_t)(intptr_t)(at[t] + toff2);
        memcpy(at[a] + off, &v, 8);
    }
    int64_t *ta = calloc((size_t)(nin + nout), sizeof *ta), *toff = calloc((size_t)(nin + nout), sizeof *toff),
            *tn = calloc((size_t)(nin + nout), sizeof *tn);
    uint8_t **tdata = calloc((size_t)(nin + nout), sizeof *tdata);
    for (int64_t k = 0; k < nin + nout && ok; k++) {
        ta[k] = q(f, &ok); toff[k] = q(f, &ok); tn[k] = q(f, &ok);
        if (!ok || ta[k] < 0 || ta[k] >= narr || toff[k] < 0 || tn[k] < 0 || toff[k] + tn[k] > size[ta[k]]) {
            fprintf(stderr, "tensor %lld: bad\n", (long long)k);
            return 2;
        }
        tdata[k] = malloc((size_t)tn[k] + 1);
        if (fread(tdata[k], 1, (size_t)tn[k], f) != (size_t)tn[k]) { fprintf(stderr, "tensor %lld: short\n", (long long)k); return 2; }
    }
    /* the inputs in; the outputs poisoned, so that only the kernels' writes can make them equal */
    for (int64_t k = 0; k < nin + nout; k++)
        if (k < nin) memcpy(at[ta[k]] + toff[k], tdata[k], (size_t)tn[k]);
        else memset(at[ta[k]] + toff[k], 0xA5, (size_t)tn[k]);
    const int err = intq_run_plan(rec, (long)nrec);
    if (err) { printf("intq_run_plan: error %d\n", err); return 1; }
    for (int64_t k = nin; k < nin + nout; k++) {
        long diff = 0;
        for (int64_t i = 0; i < tn[k]; i++) diff += at[ta[k]][toff[k] + i] != tdata[k][i];
        printf("output %lld: %lld bytes, %ld differ\n", (long long)(k - nin), (long long)tn[k], diff);
        if (diff) return 1;
    }
    if (!ok) { fprintf(stderr, "short file\n"); return 2; }
    printf("%lld records, every output equal\n", (long long)nrec);
    return 0;
}
