/* Stress of intq_parallel_for (csrc/intq_threads.c), built by tests/runtime/test_pool_stress.py, with
 * ThreadSanitizer when the compiler has it: every index of [0, n) must be run exactly once, by chunks whose
 * thread index is in [0, 6) and not used by another chunk running at the same time, for calls of
 * 1-6 threads from one caller, back to back and after pauses long enough for the workers to go to sleep
 * (the wake-up path, with its CPU affinity changes on Linux), then from three concurrent callers (one uses
 * the pool, the others start their own threads). Prints "ok" or the first failure. Built with
 * -DINTQ_POOL_TRACE, it also checks the pool's trace of the first part's calls, and of calls whose first
 * chunk waits for a worker's, so that workers' chunks are in the trace however the threads are scheduled. */
#include "intq_common.h"
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#define MAXN 1000
static _Atomic int hits[4][MAXN];
static _Atomic int busy[4][64];          /* per caller: chunks running now with each thread index */
static _Atomic int bad_thread;

static int task(void *ctx, long b, long e, int thread) {
    _Atomic int *h = ctx;
    const int k = (int)(((_Atomic int (*)[MAXN])ctx) - hits);      /* which caller's call */
    if (thread < 0 || thread >= 6 || atomic_fetch_add(&busy[k][thread], 1) != 0) atomic_store(&bad_thread, 1);
    for (long i = b; i < e; i++) atomic_fetch_add(&h[i], 1);
    if (thread >= 0 && thread < 6) atomic_fetch_sub(&busy[k][thread], 1);
    return 0;
}

static int check(_Atomic int *h, int nt, long n) {
    for (long i = 0; i < n; i++) atomic_store(&h[i], 0);
    if (intq_parallel_for(nt, n, task, h)) return 1;
    if (atomic_load(&bad_thread)) {
        printf("FAIL: %d threads, n %ld: a chunk ran with a thread index out of [0, nt) or in use\n", nt, n);
        return 1;
    }
    for (long i = 0; i < n; i++)
        if (atomic_load(&h[i]) != 1) {
            printf("FAIL: %d threads, n %ld: index %ld ran %d times\n", nt, n, i, atomic_load(&h[i]));
            return 1;
        }
    return 0;
}

static void *caller(void *arg) {
    long k = (long)arg;
    for (int it = 0; it < 1500; it++)
        if (check(hits[k + 1], 1 + (int)((k * 7 + it) % 6), 1 + (k * 131 + it * 17) % MAXN)) return (void *)1;
    return NULL;
}

#ifdef INTQ_POOL_TRACE
long intq_pool_trace(long *out, long max);

static _Atomic int worker_ran;

/* the caller's chunk (thread 0) waits, up to 10 s, until a worker has run one: with as many chunks as
 * threads, no chunk is left for the caller to take from the others, so a worker must run one */
static int wait_for_worker(void *ctx, long b, long e, int thread) {
    (void)ctx; (void)b; (void)e;
    if (thread != 0) { atomic_store(&worker_ran, 1); return 0; }
    for (int i = 0; i < 100000 && !atomic_load(&worker_ran); i++) {
        struct timespec pause = {0, 100000L};
        nanosleep(&pause, NULL);
    }
    return atomic_load(&worker_ran) ? 0 : 1;
}

/* the trace of the calls so far: every call's times in order, chunk counts in range, workers seen */
static int check_trace(void) {
    static long t[8192][10];
    const long n = intq_pool_trace(&t[0][0], 8192);
    long with_workers = 0;
    for (long i = 0; i < n; i++) {
        const long *r = t[i];
        if (!(r[0] <= r[1] && r[1] <= r[2] && r[2] <= r[3]) || r[7] < 1 || r[8] < 0 || r[8] > r[7]
            || r[9] < 1 || (r[9] == 1 && r[8] != 0) || (r[8] > 0 && !(r[4] >= r[1] && r[4] <= r[5] && r[5] <= r[3]))) {
            printf("FAIL: trace call %ld out of order or out of range\n", i);
            return 1;
        }
        with_workers += r[8] > 0;
    }
    if (n == 0 || with_workers == 0) {
        printf("FAIL: trace of %ld calls, %ld with a worker's chunk\n", n, with_workers);
        return 1;
    }
    return 0;
}
#endif

int main(void) {
    for (int it = 0; it < 3000; it++)
        if (check(hits[0], 1 + it % 6, 1 + (it * 37) % MAXN)) return 1;
#ifdef INTQ_POOL_TRACE
    for (int nt = 2; nt <= 6; nt++) {
        atomic_store(&worker_ran, 0);
        if (intq_parallel_for(nt, nt, wait_for_worker, NULL)) {
            printf("FAIL: %d threads: no worker ran a chunk within 10 s\n", nt);
            return 1;
        }
    }
    if (check_trace()) return 1;
#endif
    for (int it = 0; it < 200; it++) {                /* workers poll for 0.2 ms, then sleep */
        struct timespec pause = {0, 300000L + (it % 4) * 200000L};
        nanosleep(&pause, NULL);
        if (check(hits[0], 2 + it % 5, 1 + (it * 53) % MAXN)) return 1;
    }
    pthread_t t[3];
    for (long k = 0; k < 3; k++) pthread_create(&t[k], NULL, caller, (void *)k);
    int bad = 0;
    for (int k = 0; k < 3; k++) {
        void *r;
        pthread_join(t[k], &r);
        bad |= r != NULL;
    }
    if (bad) return 1;
    printf("ok\n");
    return 0;
}
