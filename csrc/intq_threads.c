/* intq_parallel_for: run f(ctx, begin, end) over nt static chunks of [0, n), the caller taking the first.
 *
 * Chunks go to persistent worker threads, started on first use and kept for the life of the process
 * (creating and joining pthreads for every layer cost more than the work they shared on a VM). Workers
 * sleep on a condition variable between calls, so an idle pool costs nothing. One parallel_for uses the
 * pool at a time; a concurrent caller (another Python thread: ctypes releases the GIL) and a forked child
 * (whose copy of the pool has no threads) start their own threads for that call, as before. The chunks
 * are the same either way, so the results never depend on which path ran. */
#include "intq_common.h"

#include <unistd.h>

#define POOL_MAX 63

typedef struct { task_fn f; void *ctx; long b, e; int err; } job;

static void run_job(job *j) { j->err = j->f(j->ctx, j->b, j->e); }

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
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;    /* guards the fields below */
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER, pool_done = PTHREAD_COND_INITIALIZER;
static int pool_workers;            /* workers started (worker i runs jobs[i], i = 1..pool_workers) */
static unsigned long pool_gen;      /* bumped once per call; workers wait for a new value */
static job *pool_jobs;
static int pool_njobs, pool_left;
static volatile pid_t pool_pid;     /* the process the workers belong to (set once, at first use) */
static unsigned long pool_born[POOL_MAX + 1];   /* pool_gen when worker i was started */

static void *pool_main(void *arg) {
    int me = (int)(intptr_t)arg;
    pthread_mutex_lock(&pool_mu);
    unsigned long seen = pool_born[me];    /* the call that started it bumps pool_gen after: that is its first */
    for (;;) {
        while (pool_gen == seen) pthread_cond_wait(&pool_wake, &pool_mu);
        seen = pool_gen;
        if (me < pool_njobs) {
            job *j = &pool_jobs[me];
            pthread_mutex_unlock(&pool_mu);
            run_job(j);
            pthread_mutex_lock(&pool_mu);
            if (--pool_left == 0) pthread_cond_signal(&pool_done);
        }
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
        pool_born[pool_workers + 1] = pool_gen;
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
    if (nt <= 1) return n > 0 ? f(ctx, 0, n) : 0;
    job jobs[POOL_MAX + 1];
    for (int t = 0; t < nt; t++) jobs[t] = (job){f, ctx, n * t / nt, n * (t + 1) / nt, 0};
    /* a forked child's copy of the pool has no threads, and its locks may be copies of held ones: keep off */
    if (pool_pid != 0 && pool_pid != getpid()) return parallel_for_fresh_threads(nt, jobs);
    if (pthread_mutex_trylock(&pool_user) != 0) return parallel_for_fresh_threads(nt, jobs);
    pthread_mutex_lock(&pool_mu);
    if (pool_pid == 0) pool_pid = getpid();
    if (pool_grow(nt) < nt - 1) {
        pthread_mutex_unlock(&pool_mu);
        pthread_mutex_unlock(&pool_user);
        return parallel_for_fresh_threads(nt, jobs);
    }
    pool_jobs = jobs;
    pool_njobs = nt;
    pool_left = nt - 1;
    pool_gen++;
    pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_mu);
    run_job(&jobs[0]);
    pthread_mutex_lock(&pool_mu);
    while (pool_left > 0) pthread_cond_wait(&pool_done, &pool_mu);
    pool_jobs = NULL;
    pool_njobs = 0;
    pthread_mutex_unlock(&pool_mu);
    pthread_mutex_unlock(&pool_user);
    int err = 0;
    for (int t = 0; t < nt; t++) err |= jobs[t].err;
    return err;
}
