/* Where a 1x1 conv's time goes at the machine's ISA level (run on demand, never in tests):
 *
 *   cc -O3 -std=gnu11 -pthread -ffp-contract=off -Icsrc benchmarks/gemm_probe.c \
 *      $(find csrc -maxdepth 1 -name '*.c' ! -name intq_fast.c) -lm -o /tmp/gemm_probe
 *   /tmp/gemm_probe [H C_in C_out]...      default: MobileNet v1 1.0/224's 1x1 shapes
 *
 * Includes csrc/intq_fast.c to reach its static functions. For each shape, at 1 thread, median us per image
 * of: the whole intq_conv call; building every tile; the GEMM; the requantization epilogue.
 * VNNI level (2): building = im2col and row sums, or the row sums alone where the GEMM reads the input in
 * place; the GEMM gemm_vnni and a 12-row variant of it (probe only: 24 accumulators instead of 12); the
 * epilogue in AVX2 (epilogue_avx2, 8 lanes) and in AVX-512 (epilogue_vnni, 16 lanes). Checks that the
 * variants give the same accumulators and codes. A CPU without vpdpbusd can only check this level, under
 * -DINTQ_EMULATE_VNNI, not time it.
 * AVX2 level (1): building = widening the pixel rows to int16; the GEMM gemm16_tile (vpmaddwd, 3 rows x 32
 * channels); the epilogue epilogue_avx2; with the GEMM's GOPS against benchmarks/peak.c's vpmaddwd peak.
 * The GEMM and epilogue timings run ntiles times on one built tile. */
#include "intq_fast.c"

#include <stdio.h>
#include <time.h>

__attribute__((unused)) static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint32_t rnd_state = 12345;
__attribute__((unused)) static uint32_t rnd(void) { rnd_state = rnd_state * 1664525u + 1013904223u; return rnd_state >> 8; }

#ifdef INTQ_X86
/* 12 rows x 32 channels per call: 24 accumulators (AVX-512 has 32 registers) */
VNNI_TARGET
static void gemm_vnni12(const conv_geom *g, const uint8_t *A, const int8_t *B, int32_t *acc, int rows,
                        int nb0, int nb1) {
    for (int nb = nb0; nb < nb1; nb++) {
        for (int r = 0; r < rows; r += 12) {
            const uint8_t *a0 = A + (size_t)r * g->kp;
            v512 c[12][2];
            for (int i = 0; i < 12; i++) c[i][0] = c[i][1] = v512_zero();
            const int8_t *bp = B + (size_t)nb * g->kp * NR;
            const size_t kp = g->kp;
            for (size_t k = 0; k < kp; k += 4, bp += NR * 4) {
                const v512 b0 = v512_load(bp), b1 = v512_load(bp + 64);
                for (int i = 0; i < 12; i++) {
                    int32_t t;
                    memcpy(&t, a0 + i * kp + k, 4);
                    const v512 a = v512_bcast(t);
                    c[i][0] = v512_dpbusd(c[i][0], a, b0);
                    c[i][1] = v512_dpbusd(c[i][1], a, b1);
                }
            }
            int32_t *o = acc + (size_t)r * g->np + nb * NR;
            for (int i = 0; i < 12; i++) {
                v512_store(o + i * g->np, c[i][0]);
                v512_store(o + i * g->np + 16, c[i][1]);
            }
        }
    }
}
#endif

#define MEDIAN_OF 9
__attribute__((unused)) static int cmp_d(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

/* median over MEDIAN_OF rounds of the seconds per call of body (run `reps` times a round) */
#define TIME_US(result, reps, body)                                                 \
    do {                                                                            \
        double t_[MEDIAN_OF];                                                       \
        for (int round_ = 0; round_ < MEDIAN_OF; round_++) {                        \
            const double t0_ = now_s();                                             \
            for (int rep_ = 0; rep_ < (reps); rep_++) { body; }                     \
            t_[round_] = (now_s() - t0_) / (reps);                                  \
        }                                                                           \
        qsort(t_, MEDIAN_OF, sizeof t_[0], cmp_d);                                  \
        (result) = t_[MEDIAN_OF / 2] * 1e6;                                         \
    } while (0)

#ifdef INTQ_X86
/* one 1x1 conv H=W=h, C_in=cin -> C_out=cout with random codes and constants, its job at `level` and the
 * buffers a built tile and its products take (B16 and A16 only at the AVX2 level) */
typedef struct {
    conv_geom g;
    conv_job c;
    uint8_t *x, *out, *out2, *A;
    int8_t *B;
    int16_t *B16, *A16;
    int32_t *colterm, *m0, *shift, *block, *rs, *acc, *acc2;
    void *work;
    double ops;
    int reps, level;
} probe_case;

static void case_free(probe_case *p) {
    free(p->x); free(p->out); free(p->out2); free(p->A); free(p->B); free(p->B16); free(p->A16);
    free(p->colterm); free(p->m0); free(p->shift); free(p->block); free(p->rs); free(p->acc); free(p->acc2);
    free(p->work);
}

static int case_init(probe_case *p, int h, int cin, int cout, int level) {
    memset(p, 0, sizeof *p);
    conv_geom *g = &p->g;
    g->n = 1; g->h = h; g->w = h; g->c = cin; g->kh = 1; g->kw = 1; g->sh = 1; g->sw = 1; g->dh = 1; g->dw = 1;
    g->oh = h; g->ow = h; g->k = cin; g->kp = (cin + 3) / 4 * 4; g->cout = cout; g->np = (cout + NR - 1) / NR * NR;
    g->za = 128; g->zb = -8; g->zout = 128; g->lo = 0; g->hi = 255;
    p->level = level;
    const size_t xlen = (size_t)h * h * cin, blen = (size_t)g->np * g->kp, olen = (size_t)h * h * cout + 64;
    p->x = malloc(xlen); p->out = malloc(olen); p->out2 = malloc(olen);
    p->B = aligned_alloc(64, align64(blen));
    p->B16 = level == 1 ? aligned_alloc(64, align64(blen * 2)) : NULL;
    p->colterm = aligned_alloc(64, align64(g->np * 4)); p->m0 = aligned_alloc(64, align64(g->np * 4));
    p->shift = malloc(g->np * 4); p->block = aligned_alloc(64, align64(RQ_BLOCK_WORDS(g->np) * 4));
    if (!p->x || !p->out || !p->out2 || !p->B || (level == 1 && !p->B16) || !p->colterm || !p->m0 || !p->shift
        || !p->block)
        return 1;
    for (size_t i = 0; i < xlen; i++) p->x[i] = (uint8_t)rnd();
    for (size_t i = 0; i < blen; i++) p->B[i] = (int8_t)rnd();
    if (p->B16)
        for (size_t i = 0; i < blen; i++) p->B16[i] = (int16_t)((int)(rnd() % 255) - 127);
    for (int j = 0; j < g->np; j++) {
        p->colterm[j] = (int32_t)(rnd() % 20000) - 10000;
        p->m0[j] = (int32_t)((1u << 30) + rnd() % (1u << 22));
        p->shift[j] = -(int)(8 + rnd() % 4);
    }
    rq_pack(p->m0, p->shift, g->np, p->block);
    p->work = aligned_alloc(64, align64((size_t)intq_conv_work_bytes((const int32_t *)g, 1, level) + 1));
    conv_job *c = &p->c;
    conv_setup(c, (const int32_t *)g, 1, level);
    c->x = p->x; c->B = p->B; c->B16 = p->B16; c->colterm = p->colterm; c->m0 = p->m0; c->shift = p->block;
    c->out = p->out; c->colterm16 = p->colterm;
    rq_view(&c->rq, p->block, g->np);
    p->A = aligned_alloc(64, a_bytes(c));
    p->A16 = level == 1 ? aligned_alloc(64, a16_bytes(c)) : NULL;
    p->rs = aligned_alloc(64, rs_bytes(c)); p->acc = aligned_alloc(64, acc_bytes(c));
    p->acc2 = aligned_alloc(64, acc_bytes(c));
    p->ops = 2.0 * h * h * cin * cout;
    p->reps = p->ops > 2e8 ? 3 : p->ops > 5e7 ? 10 : 30;
    return !p->work || !p->A || (level == 1 && !p->A16) || !p->rs || !p->acc || !p->acc2;
}

/* the AVX2 level (1): whole call, widening, gemm16_tile, epilogue_avx2 */
static int probe_avx2(probe_case *p) {
    const conv_geom *g = &p->g;
    conv_job *c = &p->c;
    const int reps = p->reps;
    double t_full, t_build, t_gemm, t_epi;
    TIME_US(t_full, reps, intq_conv((const int32_t *)g, p->x, p->B, p->B16, p->colterm, p->m0, p->block, p->colterm,
                                    p->out, 1, 1, p->work));
    int rows = 0, mode;
    TIME_US(t_build, reps, for (long t = 0; t < c->ntiles; t++) rows = build_tile(c, t, p->A, p->A16, p->rs, &mode));
    rows = build_tile(c, 0, p->A, p->A16, p->rs, &mode);
    TIME_US(t_gemm, reps, for (long t = 0; t < c->ntiles; t++) gemm16_tile(c, &c->gw, p->A16, p->acc, rows, 0, c->nbt));
    TIME_US(t_epi, reps, for (long t = 0; t < c->ntiles; t++)
                             epilogue_avx2(&c->g16, &c->rq, p->acc, p->rs, rows, p->colterm, p->m0, p->out, 0, g->np));
    printf("%3dx%-3d %4d->%-4d tiles %3ld x %2d rows | whole %8.1f us %6.1f GOPS | widen %7.1f | gemm %7.1f "
           "(%6.1f GOPS) | epilogue %7.1f\n", g->h, g->w, g->c, g->cout, c->ntiles, c->tile, t_full,
           p->ops / t_full * 1e-3, t_build, t_gemm, p->ops / t_gemm * 1e-3, t_epi);
    return 0;
}

/* the VNNI level (2): whole call, tile build, gemm_vnni and the 12-row variant, both epilogues */
static int probe_vnni(probe_case *p) {
    const conv_geom *g = &p->g;
    conv_job *c = &p->c;
    const int reps = p->reps;
    double t_full, t_build, t_gemm, t_gemm12, t_epi2, t_epi512;
    TIME_US(t_full, reps, intq_conv((const int32_t *)g, p->x, p->B, NULL, p->colterm, p->m0, p->block, p->colterm,
                                    p->out, 1, p->level, p->work));
    int rows = 0, mode;
    TIME_US(t_build, reps, for (long t = 0; t < c->ntiles; t++) rows = build_tile(c, t, p->A, NULL, p->rs, &mode));
    rows = build_tile(c, 0, p->A, NULL, p->rs, &mode);
    const uint8_t *At = mode == TILE_VNNI_DIRECT ? p->x : p->A;   /* a 1x1 conv's GEMM reads the input in place */
    const int grows = (rows + MR - 1) / MR * MR;
    TIME_US(t_gemm, reps, for (long t = 0; t < c->ntiles; t++) gemm_vnni(g, At, p->B, p->acc, grows, 0, c->nbt));
    /* rows up to the next multiple of 12 are zero in A (im2col fills what the GEMMs read) */
    const int rows12 = (rows + 11) / 12 * 12;
    TIME_US(t_gemm12, reps, for (long t = 0; t < c->ntiles; t++) gemm_vnni12(g, At, p->B, p->acc2, rows12, 0, c->nbt));
    for (int r = 0; r < rows; r++)
        if (memcmp(p->acc + (size_t)r * g->np, p->acc2 + (size_t)r * g->np, (size_t)g->cout * 4)) {
            printf("gemm_vnni12 differs from gemm_vnni at row %d\n", r);
            return 1;
        }
    TIME_US(t_epi2, reps, for (long t = 0; t < c->ntiles; t++)
                              epilogue_avx2(g, &c->rq, p->acc, p->rs, rows, p->colterm, p->m0, p->out, 0, g->np));
    TIME_US(t_epi512, reps, for (long t = 0; t < c->ntiles; t++)
                                epilogue_vnni(g, &c->rq, p->acc, p->rs, rows, p->colterm, p->m0, p->out2, 0, g->np));
    if (memcmp(p->out, p->out2, (size_t)rows * g->cout)) {
        printf("epilogue_vnni differs from epilogue_avx2\n");
        return 1;
    }
    printf("%3dx%-3d %4d->%-4d tiles %3ld x %2d rows | whole %8.1f us %6.1f GOPS | build %7.1f | gemm %7.1f "
           "(%6.1f GOPS) gemm12 %7.1f | epilogue avx2 %7.1f avx512 %7.1f\n",
           g->h, g->w, g->c, g->cout, c->ntiles, c->tile, t_full, p->ops / t_full * 1e-3, t_build, t_gemm,
           p->ops / t_gemm * 1e-3, t_gemm12, t_epi2, t_epi512);
    return 0;
}
#endif

static int probe(int h, int cin, int cout) {
    const int level = intq_isa_level();
#ifdef INTQ_X86
    if (level >= 1) {
        probe_case p;
        int err = case_init(&p, h, cin, cout, level) || (level == 1 ? probe_avx2(&p) : probe_vnni(&p));
        fflush(stdout);
        case_free(&p);
        return err;
    }
#endif
    (void)h; (void)cin; (void)cout;
    printf("ISA level %d: no SIMD level to probe\n", level);
    return 1;
}

int main(int argc, char **argv) {
    static const int shapes[][3] = {{112, 32, 64}, {56, 64, 128}, {56, 128, 128}, {28, 128, 256}, {28, 256, 256},
                                    {14, 256, 512}, {14, 512, 512}, {7, 512, 1024}, {7, 1024, 1024}};
    printf("ISA level %d; us per image, 1 thread, medians of %d rounds\n", intq_isa_level(), MEDIAN_OF);
    if (argc > 1) {
        for (int i = 1; i + 2 < argc; i += 3)
            if (probe(atoi(argv[i]), atoi(argv[i + 1]), atoi(argv[i + 2]))) return 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (probe(shapes[i][0], shapes[i][1], shapes[i][2])) return 1;
    return 0;
}
