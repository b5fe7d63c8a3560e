/* Three probes of the thread pool's environment (run on demand, never in tests):
 *
 *   cc -O2 -std=gnu11 -pthread -Icsrc benchmarks/pool_probe.c csrc/intq_threads.c -o /tmp/pool_probe
 *   /tmp/pool_probe wake          where the scheduler puts a thread woken after 2 ms asleep
 *   /tmp/pool_probe forkjoin      intq_parallel_for's cost per call, 1 and 2 threads
 *   /tmp/pool_probe pingpong      a cache line's round trip between CPUs 0 and 1 (Linux)
 *
 * wake: a plain condition variable, no intq code. 300 times: the main thread sleeps 2 ms, signals the
 * worker, and spins until the worker records that it runs; prints the wake-up latency (p10/p50/p90/max)
 * and how often the worker ran on the main thread's CPU (Linux sched_getcpu).
 * forkjoin: 20000 calls of 8 chunks, back to back, with empty tasks (the pool's hand-off alone) and with
 * ~4 us tasks, at 1 and 2 threads (three repeats each); us per call.
 * pingpong: two threads pinned to CPUs 0 and 1 take turns writing one atomic word, 10^6 round trips, three
 * repeats: what a line one core wrote costs the other to read (a layer's input written by the other thread). */
#define _GNU_SOURCE 1
#include "intq_common.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* ---- wake ---- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int generation;
static _Atomic long woke_at;
static _Atomic int woke_cpu;

static void *sleeper(void *arg) {
    (void)arg;
    for (int seen = 0;;) {
        pthread_mutex_lock(&mu);
        while (generation == seen) pthread_cond_wait(&cv, &mu);
        seen = generation;
        pthread_mutex_unlock(&mu);
        woke_cpu = sched_getcpu();
        woke_at = now_ns();
    }
    return NULL;
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static void wake(void) {
    enum { N = 300 };
    long lat[N];
    int same = 0;
    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    for (int i = 0; i < N; i++) {
        usleep(2000);
        woke_at = 0;
        long t0 = now_ns();
        pthread_mutex_lock(&mu);
        generation++;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&mu);
        while (!woke_at) {}                       /* busy, as a caller running its own share would be */
        lat[i] = woke_at - t0;
        same += woke_cpu == sched_getcpu();
    }
    qsort(lat, N, sizeof lat[0], cmp_long);
    printf("wake-up latency us: p10 %.1f p50 %.1f p90 %.1f max %.1f; on the waker's CPU %d of %d\n",
           lat[N / 10] / 1e3, lat[N / 2] / 1e3, lat[N * 9 / 10] / 1e3, lat[N - 1] / 1e3, same, N);
}

/* ---- forkjoin ---- */
static int task(void *ctx, long b, long e, int thread) {
    (void)thread;
    volatile double s = 0;
    for (long i = b * *(long *)ctx; i < e * *(long *)ctx; i++) s += (double)i;
    return 0;
}

static void forkjoin(void) {
    long work[2] = {0, 1000};                     /* loop iterations per chunk: none, then ~4 us */
    for (int w = 0; w < 2; w++)
        for (int nt = 1; nt <= 2; nt++)
            for (int r = 0; r < 3; r++) {
                long t0 = now_ns();
                for (int i = 0; i < 20000; i++) intq_parallel_for(nt, 8, task, &work[w]);
                printf("%d thread(s), %s tasks: %.2f us per call\n", nt, work[w] ? "~4 us" : "empty",
                       (now_ns() - t0) / 20000.0 / 1e3);
            }
}

/* ---- pingpong ---- */
static _Atomic long ball __attribute__((aligned(64)));
#define ROUND_TRIPS 1000000L

static int pin(int cpu) {
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
#else
    (void)cpu;
    return -1;
#endif
}

static void *pong(void *arg) {
    (void)arg;
    pin(1);
    for (long i = 0; i < ROUND_TRIPS; i++) {
        while (atomic_load(&ball) != 2 * i + 1) {}
        atomic_store(&ball, 2 * i + 2);
    }
    return NULL;
}

static void pingpong(void) {
    if (pin(0) != 0) {
        printf("pingpong: cannot pin to CPU 0\n");
        return;
    }
    for (int r = 0; r < 3; r++) {
        pthread_t t;
        atomic_store(&ball, 0);
        pthread_create(&t, NULL, pong, NULL);
        const long t0 = now_ns();
        for (long i = 0; i < ROUND_TRIPS; i++) {
            atomic_store(&ball, 2 * i + 1);
            while (atomic_load(&ball) != 2 * i + 2) {}
        }
        const double ns = (double)(now_ns() - t0) / ROUND_TRIPS;
        pthread_join(t, NULL);
        printf("round trip of a cache line between CPUs 0 and 1: %.0f ns\n", ns);
    }
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "wake")) wake();
    else if (argc == 2 && !strcmp(argv[1], "forkjoin")) forkjoin();
    else if (argc == 2 && !strcmp(argv[1], "pingpong")) pingpong();
    else {
        fprintf(stderr, "usage: %s wake|forkjoin|pingpong\n", argv[0]);
        return 2;
    }
    return 0;
}
