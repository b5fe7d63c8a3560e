/* intq_parallel_for: run f(ctx, begin, end, thread) over chunks of [0, n) on nt threads, the caller being
 * one of them.
 *
 * The chunks go to persistent worker threads, started on first use and kept for the life of the process
 * (creating and joining pthreads for every layer cost more than the work they shared on a VM). Each thread
 * owns a contiguous run of CHUNKS_PER_THREAD chunks (so consecutive layers mostly find their inputs in the
 * same core's cache), shrinking from front to back (weights CHUNKS_PER_THREAD, ..., 1), takes its own from
 * the front, and when it runs out takes other threads' chunks from the back (the smallest first): a thread
 * that is descheduled or slow (a busy core, a noisy VM) delays nobody, because the caller
 * never waits for a chunk that no thread has started. Between calls a worker polls for the next call for up
 * to SPIN_NS (the next layer of an inference comes within microseconds, and waking a thread blocked in the
 * kernel costs tens of them on a VM), yielding its core to any other runnable thread while it polls, then
 * sleeps on a condition variable, so an idle pool costs nothing; a sleeping worker is woken off its
 * caller's CPU (see keep_off_caller_cpu).
 *
 * Claims are exact: a thread's run is one 64-bit word, (call generation << 32) | chunks left, taken by
 * compare-and-swap, so a worker that wakes late can never take a chunk of a call other than the one whose
 * function it runs. One parallel_for uses the pool at a time; a concurrent caller (another Python thread:
 * ctypes releases the GIL) and a forked child (whose copy of the pool has no threads) start their own
 * threads for that call. Every output of the kernels depends only on its own inputs, not on which thread
 * computed it or how [0, n) was cut, so the results are the same bytes whichever path ran. */
#define _GNU_SOURCE 1            /* sched_getcpu, sched_setaffinity, gettid (Linux) */
#include "intq_common.h"

#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX 63
#define SPIN_NS 200000L          /* how long a worker (or the caller) polls before it sleeps */
#define CHUNKS_PER_THREAD 8

static inline void cpu_relax(void) {
#ifdef INTQ_X86
    _mm_pause();
#endif
}

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* poll until *w differs from `old` (returns the new value) or SPIN_NS passed (returns `old`); after the
 * first 64 polls each poll also yields the core, so a poller never starves a runnable thread beside it */
static unsigned long spin_wait(_Atomic unsigned long *w, unsigned long old) {
    long t0 = 0;
    for (unsigned i = 1;; i++) {
        unsigned long v = atomic_load_explicit(w, memory_order_acquire);
        if (v != old) return v;
        cpu_relax();
        if (i >= 64) {
            sched_yield();
            long t = now_ns();
            if (t0 == 0) t0 = t;
            else if (t - t0 > SPIN_NS) return old;
        }
    }
}

typedef struct { task_fn f; void *ctx; long b, e; int err, thread; } job;

static void run_job(job *j) { j->err = j->f(j->ctx, j->b, j->e, j->thread); }

static void *thread_main(void *p) {
    run_job(p);
    return NULL;
}

/* the old way, kept for concurrent callers and when the pool cannot start: threads created per call */
static int parallel_for_fresh_threads(int nt, job *jobs) {
    pthread_t tid[POOL_MAX + 1];
    int started[POOL_MAX + 1] = {0}, err = 0;
    for (int t = 1; t < nt; t++) started[t] = pthread_create(&tid[t], NULL, thread_main, &jobs[t]) == 0;
    run_job(&jobs[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else run_job(&jobs[t]);                      /* could not start a thread: do its share here */
        err |= jobs[t].err;
    }
    return err | jobs[0].err;
}

static pthread_mutex_t pool_user = PTHREAD_MUTEX_INITIALIZER;  /* held by the one call using the pool */
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;    /* guards sleeping and starting */
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER, pool_done = PTHREAD_COND_INITIALIZER;
static int pool_workers;            /* workers started; worker i is thread i of a call (the caller is 0) */
static int pool_asleep[POOL_MAX + 1];   /* worker i waits on pool_wake (under pool_mu) */
static volatile pid_t pool_pid;     /* the process the workers belong to (set once, at first use) */

/* the current call, written by its caller before it publishes pool_gen */
static task_fn call_f;
static void *call_ctx;
static long call_n, call_nchunks;
static _Atomic int call_nt;
static _Atomic unsigned long pool_gen;          /* bumped once per call; workers wait for a new value */
static _Atomic uint64_t run_word[POOL_MAX + 1];  /* thread t's run: (gen << 32) | chunks left */
static long run_first[POOL_MAX + 1];            /* its first chunk */
static long run_front[POOL_MAX + 1];            /* chunks the owner took from the front (owner only) */
static _Atomic long run_back[POOL_MAX + 1];     /* chunks others took from the back */
static _Atomic long call_done;                  /* chunks finished */
static _Atomic int call_err;

/* INTQ_POOL_TRACE (a compile-time define, for benchmarks/pool_trace.py; no build the package ships sets it):
 * timestamps of every call from the caller that holds the pool, and of its 1-thread calls, read back with
 * intq_pool_trace(). Per call: entry, published (the workers may start), the caller's own chunks done, the
 * return, the first chunk a worker started and the last one a worker finished (0: no worker ran one), the
 * task count, the chunk count, the chunks workers ran, the threads. */
#ifdef INTQ_POOL_TRACE
#define TRACE_WORDS 10
#define TRACE_MAX 8192
static long trace_buf[TRACE_MAX][TRACE_WORDS];
static _Atomic long trace_n, trace_wfirst, trace_wlast, trace_wchunks;
#define TRACE(stmt) stmt

static void trace_call(long t0, long published, long own, long n, long nchunks, int nt) {
    const long i = atomic_fetch_add(&trace_n, 1);
    if (i >= TRACE_MAX) return;
    long *r = trace_buf[i];
    r[0] = t0; r[1] = published; r[2] = own; r[3] = now_ns();
    r[4] = atomic_load(&trace_wfirst); r[5] = atomic_load(&trace_wlast);
    r[6] = n; r[7] = nchunks; r[8] = atomic_load(&trace_wchunks); r[9] = nt;
}

/* copies up to max calls' words (TRACE_WORDS each) to out, forgets them, returns how many */
long intq_pool_trace(long *out, long max) {
    long n = atomic_load(&trace_n);
    if (n > TRACE_MAX) n = TRACE_MAX;
    if (n > max) n = max;
    memcpy(out, trace_buf, (size_t)n * sizeof trace_buf[0]);
    atomic_store(&trace_n, 0);
    return n;
}
#else
#define TRACE(stmt)
#endif

/* chunks in thread u's run */
static long run_len(int u) {
    return call_nchunks * (u + 1) / atomic_load_explicit(&call_nt, memory_order_relaxed) - run_first[u];
}

/* take one chunk of thread u's run for call `gen` (u's own from the front, else from the back); -1 if none */
static long claim(int u, unsigned long gen, int own) {
    uint64_t w = atomic_load_explicit(&run_word[u], memory_order_acquire);
    for (;;) {
        if ((w >> 32) != (gen & 0xFFFFFFFFu) || (w & 0xFFFFFFFFu) == 0) return -1;
        if (atomic_compare_exchange_weak_explicit(&run_word[u], &w, w - 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            break;
    }
    if (own) return run_first[u] + run_front[u]++;
    return run_first[u] + run_len(u) - 1 - atomic_fetch_add_explicit(&run_back[u], 1, memory_order_relaxed);
}

/* run claimed chunk c on thread t (the call's fields are stable until its completion is counted, and not
 * after) */
static void run_chunk(long c, int u, int t) {
    const long nchunks = call_nchunks;
    /* chunk c of thread u's run: a run's chunks shrink from front to back (weights nrun, nrun - 1, ..., 1):
     * its owner ends on a small chunk, and a thread that runs out of work takes the smallest ones first, so
     * the call's last chunk in flight, which the others wait for, is small */
    const long first = run_first[u], nrun = run_len(u), i = c - first;
    const long s0 = call_n * first / nchunks, len = call_n * (first + nrun) / nchunks - s0;
    const long tot = nrun * (nrun + 1) / 2, cum0 = i * nrun - i * (i - 1) / 2, cum1 = cum0 + nrun - i;
    const long b = s0 + len * cum0 / tot, e = s0 + len * cum1 / tot;
    TRACE(if (t != 0) { long z = 0; atomic_compare_exchange_strong(&trace_wfirst, &z, now_ns()); })
    if (e > b && call_f(call_ctx, b, e, t)) atomic_fetch_or_explicit(&call_err, 1, memory_order_relaxed);
    TRACE(if (t != 0) { atomic_store(&trace_wlast, now_ns()); atomic_fetch_add(&trace_wchunks, 1); })
    if (atomic_fetch_add_explicit(&call_done, 1, memory_order_acq_rel) + 1 == nchunks) {
        pthread_mutex_lock(&pool_mu);          /* the last chunk: wake the caller if it sleeps */
        pthread_cond_signal(&pool_done);
        pthread_mutex_unlock(&pool_mu);
    }
}

/* thread t's part of call `gen`: its own chunks, then the others' */
static void work(int t, unsigned long gen) {
    long c;
    int nt = atomic_load_explicit(&call_nt, memory_order_relaxed);
    if (t >= nt) return;                   /* not one of this call's threads */
    while ((c = claim(t, gen, 1)) >= 0) run_chunk(c, t, t);
    for (int k = 1; k < nt; k++) {
        int u = (t + k) % nt;
        while ((c = claim(u, gen, 0)) >= 0) run_chunk(c, u, t);
    }
}

/* Waking a sleeping worker: the scheduler often puts a woken thread on its waker's CPU, and on a VM an idle
 * virtual CPU is often passed over, so the worker and the caller would share one core (the worker starved,
 * the caller doing every chunk) until the load balancer separates them, milliseconds later. The caller
 * therefore keeps a sleeping worker off its own CPU while waking it; the worker lifts the restriction as
 * soon as it runs (its affinity back as it was, so a mask the user set is kept). Linux only; elsewhere, or
 * when the worker may run on the caller's CPU only, the worker is simply woken. */
#ifdef __linux__
#include <sys/syscall.h>
static pid_t pool_tid[POOL_MAX + 1];       /* worker i's kernel thread id */
static int pool_kept_off[POOL_MAX + 1];    /* worker i's affinity excludes its waker's CPU (under pool_mu) */
static cpu_set_t pool_saved[POOL_MAX + 1]; /* worker i's affinity before that, to restore (under pool_mu) */

/* before waking sleeping worker t (under pool_mu): its own allowed CPUs but the caller's, when that leaves any */
static void keep_off_caller_cpu(int t) {
    const int cpu = sched_getcpu();
    cpu_set_t mine, others;
    if (cpu < 0 || cpu >= CPU_SETSIZE || pool_tid[t] <= 0) return;
    if (sched_getaffinity(pool_tid[t], sizeof mine, &mine) != 0 || !CPU_ISSET(cpu, &mine)) return;
    others = mine;
    CPU_CLR(cpu, &others);
    if (CPU_COUNT(&others) > 0 && sched_setaffinity(pool_tid[t], sizeof others, &others) == 0) {
        pool_saved[t] = mine;
        pool_kept_off[t] = 1;
    }
}

/* worker me, running (under pool_mu): its affinity as it was */
static void restore_affinity(int me) {
    if (pool_kept_off[me]) {
        sched_setaffinity(0, sizeof pool_saved[me], &pool_saved[me]);
        pool_kept_off[me] = 0;
    }
}
#else
static void keep_off_caller_cpu(int t) { (void)t; }
static void restore_affinity(int me) { (void)me; }
#endif

static void *pool_main(void *arg) {
    int me = (int)(intptr_t)arg;
    unsigned long seen = 0;                /* 0 is never a call's generation */
#ifdef __linux__
    pthread_mutex_lock(&pool_mu);
    pool_tid[me] = (pid_t)syscall(SYS_gettid);
    pthread_mutex_unlock(&pool_mu);
#endif
    for (;;) {
        unsigned long gen = spin_wait(&pool_gen, seen);
        if (gen == seen) {                 /* nothing came while polling: sleep until a call wakes us */
            pthread_mutex_lock(&pool_mu);
            pool_asleep[me] = 1;
            while ((gen = atomic_load_explicit(&pool_gen, memory_order_acquire)) == seen)
                pthread_cond_wait(&pool_wake, &pool_mu);
            pool_asleep[me] = 0;
            restore_affinity(me);
            pthread_mutex_unlock(&pool_mu);
        }
        seen = gen;
        /* call_nt may already belong to a later call: claim() checks the generation, and call_nt only
         * decides which runs this thread looks at */
        work(me, gen);
    }
    return NULL;
}

/* start workers up to nt - 1 (under pool_mu); returns how many there are */
static int pool_grow(int nt) {
    while (pool_workers < nt - 1) {
        pthread_t tid;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int ok = pthread_create(&tid, &at, pool_main, (void *)(intptr_t)(pool_workers + 1)) == 0;
        pthread_attr_destroy(&at);
        if (!ok) break;
        pool_workers++;
    }
    return pool_workers;
}

INTQ_HIDDEN int intq_parallel_for(int nt, long n, task_fn f, void *ctx) {
    if (nt > n) nt = (int)n;
    if (nt > POOL_MAX + 1) nt = POOL_MAX + 1;
    if (nt <= 1) {
        TRACE(const long t1 = now_ns(); atomic_store(&trace_wfirst, 0); atomic_store(&trace_wlast, 0);
              atomic_store(&trace_wchunks, 0);)
        const int err = n > 0 ? f(ctx, 0, n, 0) : 0;
        TRACE(trace_call(t1, t1, now_ns(), n, 1, 1);)
        return err;
    }
    job jobs[POOL_MAX + 1];
    for (int t = 0; t < nt; t++) jobs[t] = (job){f, ctx, n * t / nt, n * (t + 1) / nt, 0, t};
    /* a forked child's copy of the pool has no threads, and its locks may be copies of held ones: keep off */
    if (pool_pid != 0 && pool_pid != getpid()) return parallel_for_fresh_threads(nt, jobs);
    if (pthread_mutex_trylock(&pool_user) != 0) return parallel_for_fresh_threads(nt, jobs);
    pthread_mutex_lock(&pool_mu);
    if (pool_pid == 0) pool_pid = getpid();
    int grown = pool_grow(nt);
    pthread_mutex_unlock(&pool_mu);
    if (grown < nt - 1) {
        pthread_mutex_unlock(&pool_user);
        return parallel_for_fresh_threads(nt, jobs);
    }
    long nchunks = (long)nt * CHUNKS_PER_THREAD < n ? (long)nt * CHUNKS_PER_THREAD : n;
    TRACE(const long t0 = now_ns(); atomic_store(&trace_wfirst, 0); atomic_store(&trace_wlast, 0);
          atomic_store(&trace_wchunks, 0);)
    unsigned long gen = atomic_load_explicit(&pool_gen, memory_order_relaxed) + 1;
    if ((gen & 0xFFFFFFFFu) == 0) gen++;                /* keep a run word's generation non-zero */
    call_f = f; call_ctx = ctx; call_n = n; call_nchunks = nchunks;
    atomic_store_explicit(&call_nt, nt, memory_order_relaxed);
    atomic_store_explicit(&call_done, 0, memory_order_relaxed);
    atomic_store_explicit(&call_err, 0, memory_order_relaxed);
    for (int t = 0; t < nt; t++) {
        run_first[t] = nchunks * t / nt;
        run_front[t] = 0;
        atomic_store_explicit(&run_back[t], 0, memory_order_relaxed);
        uint64_t left = (uint64_t)(nchunks * (t + 1) / nt - run_first[t]);
        atomic_store_explicit(&run_word[t], (uint64_t)(gen & 0xFFFFFFFFu) << 32 | left, memory_order_release);
    }
    TRACE(const long published = now_ns();)                      /* before: no worker starts earlier */
    atomic_store_explicit(&pool_gen, gen, memory_order_release);   /* publishes the call */
    pthread_mutex_lock(&pool_mu);          /* wake the workers that went to sleep (none if all are polling) */
    int asleep = 0;
    for (int t = 1; t < nt; t++)
        if (pool_asleep[t]) { keep_off_caller_cpu(t); asleep = 1; }
    if (asleep) pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_mu);
    work(0, gen);
    TRACE(const long own = now_ns();)
    /* every chunk is taken; wait for the ones other threads are still running */
    if (atomic_load_explicit(&call_done, memory_order_acquire) != nchunks) {
        long t0 = now_ns();
        for (unsigned i = 1; atomic_load_explicit(&call_done, memory_order_acquire) != nchunks; i++) {
            cpu_relax();
            if (i >= 64 && (sched_yield(), now_ns() - t0 > SPIN_NS)) break;
        }
        pthread_mutex_lock(&pool_mu);
        while (atomic_load_explicit(&call_done, memory_order_acquire) != nchunks)
            pthread_cond_wait(&pool_done, &pool_mu);
        pthread_mutex_unlock(&pool_mu);
    }
    int err = atomic_load_explicit(&call_err, memory_order_relaxed);
    TRACE(trace_call(t0, published, own, n, nchunks, nt);)
    pthread_mutex_unlock(&pool_user);
    return err;
}
