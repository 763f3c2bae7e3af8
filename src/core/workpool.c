/* workpool.c - mutex + condition variable queue; a ring buffer of jobs. */
#include "core/workpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct job {
    sh_work_fn fn;
    void *arg;
};

struct sh_workpool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *ring;
    size_t cap, head, count, running;
    int stopping;
    pthread_t *threads;
    size_t nthreads;
    int nice;
};

static void *worker(void *arg)
{
    sh_workpool *wp = arg;
    struct job j;

    if (wp->nice != 0) /* this thread only: a Linux thread id is a process id here */
        (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), wp->nice);
    pthread_mutex_lock(&wp->lock);
    for (;;) {
        while (wp->count == 0 && !wp->stopping)
            pthread_cond_wait(&wp->cond, &wp->lock);
        if (wp->count == 0 && wp->stopping)
            break;
        j = wp->ring[wp->head];
        wp->head = (wp->head + 1) % wp->cap;
        wp->count--;
        wp->running++;
        pthread_mutex_unlock(&wp->lock);
        j.fn(j.arg);
        pthread_mutex_lock(&wp->lock);
        wp->running--;
    }
    pthread_mutex_unlock(&wp->lock);
    return NULL;
}

sh_status sh_workpool_new(size_t threads, size_t queue_max, sh_workpool **out)
{
    return sh_workpool_new_nice(threads, queue_max, 0, out);
}

sh_status sh_workpool_new_nice(size_t threads, size_t queue_max, int nice, sh_workpool **out)
{
    sh_workpool *wp = calloc(1, sizeof(*wp));

    if (wp == NULL)
        return SH_ERR_NOMEM;
    wp->nice = nice;
    wp->ring = calloc(queue_max, sizeof(struct job));
    wp->threads = calloc(threads, sizeof(pthread_t));
    if (wp->ring == NULL || wp->threads == NULL) {
        free(wp->ring);
        free(wp->threads);
        free(wp);
        return SH_ERR_NOMEM;
    }
    wp->cap = queue_max;
    pthread_mutex_init(&wp->lock, NULL);
    pthread_cond_init(&wp->cond, NULL);
    for (; wp->nthreads < threads; wp->nthreads++) {
        if (pthread_create(&wp->threads[wp->nthreads], NULL, worker, wp) != 0)
            break;
    }
    if (wp->nthreads == 0) {
        sh_workpool_free(wp);
        return SH_ERR_INTERNAL;
    }
    *out = wp;
    return SH_OK;
}

sh_status sh_workpool_submit(sh_workpool *wp, sh_work_fn fn, void *arg)
{
    sh_status rc = SH_ERR_BUSY;

    pthread_mutex_lock(&wp->lock);
    if (wp->stopping) {
        rc = SH_ERR_UNAVAILABLE;
    } else if (wp->count < wp->cap) {
        wp->ring[(wp->head + wp->count) % wp->cap] = (struct job){fn, arg};
        wp->count++;
        pthread_cond_signal(&wp->cond);
        rc = SH_OK;
    }
    pthread_mutex_unlock(&wp->lock);
    return rc;
}

size_t sh_workpool_load(sh_workpool *wp)
{
    size_t n;

    pthread_mutex_lock(&wp->lock);
    n = wp->count + wp->running;
    pthread_mutex_unlock(&wp->lock);
    return n;
}

void sh_workpool_stop(sh_workpool *wp)
{
    if (wp == NULL)
        return;
    pthread_mutex_lock(&wp->lock);
    wp->stopping = 1;
    pthread_cond_broadcast(&wp->cond);
    pthread_mutex_unlock(&wp->lock);
    for (size_t i = 0; i < wp->nthreads; i++)
        pthread_join(wp->threads[i], NULL);
    wp->nthreads = 0;
}

void sh_workpool_free(sh_workpool *wp)
{
    if (wp == NULL)
        return;
    sh_workpool_stop(wp);
    pthread_mutex_destroy(&wp->lock);
    pthread_cond_destroy(&wp->cond);
    free(wp->ring);
    free(wp->threads);
    free(wp);
}
