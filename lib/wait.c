/* Waiting for a pass: the coordinator spins briefly, then sleeps on the
 * eventfd and the workers' pidfds, seeing deaths at once, running the
 * watchdog and the journal's flushes, and noticing a cancel. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "job_int.h"


static int all_done(sharc_pool *pool, const job_state *js) {
  for (unsigned w = 0; w < pool->nworkers; w++) {
    if (pool->w[w].pid > 0 &&
        atomic_load_explicit(&pool->cb->slots[w].done_seq,
                             memory_order_acquire) != js->seq)
      return 0;
  }
  return 1;
}

/* While waiting, the words that decide completion must stay plausible, or
 * a scribbling worker could keep the coordinator waiting forever. */
static int check_progress(sharc_pool *pool, const job_state *js) {
  const sharc__cb *cb = pool->cb;
  uint32_t seq = atomic_load(&cb->seq);
  if (seq != js->seq)
    return sharc__fail(pool, SHARC_ECORRUPT,
                       "control block: header field job sequence is %u, "
                       "expected %u; workers restarted", seq, js->seq);
  for (unsigned w = 0; w < pool->nworkers; w++) {
    uint32_t done = atomic_load(&cb->slots[w].done_seq);
    if (pool->w[w].pid > 0 && done != js->seq && done != js->seq - 1)
      return sharc__fail(pool, SHARC_ECORRUPT,
                         "control block: worker %u wrote an impossible "
                         "done_seq (%u, job %u); workers restarted", w, done,
                         js->seq);
  }
  return 0;
}

/* Spins a little while the workers finish: a short job then costs no
 * sleep and wake-up. With a PU free for the coordinator it spins for up to
 * SHARC__COORD_SPIN_NS; with a worker on every PU it yields instead, a
 * bounded number of times, so the worker sharing its PU runs at once
 * (measured in docs/performance.md: both beat sleeping straight away).
 * It reads only the done_seq words, which have cache lines of their own. */
static void spin_a_little(sharc_pool *pool, const job_state *js) {
  int share_pu = sharc__pool_shares_pu(pool);
  uint64_t until = sharc__now_ns() + SHARC__COORD_SPIN_NS;
  for (unsigned i = 0;; i++) {
    if (all_done(pool, js))
      return;
    if (share_pu) {
      if (i == SHARC__YIELDS_MAX)
        return;
      sched_yield();
      continue;
    }
    sharc__cpu_relax();
    if ((i & 15) == 15 && sharc__now_ns() >= until)
      return;
  }
}

/* Sleeps in poll() on the eventfd and the workers' pidfds until every live
 * worker finished the job, so a worker that dies is seen at once and never
 * waited for. */
static int sleep_until_done(job_state *js) {
  sharc_pool *pool = js->pool;
  struct pollfd pfd[SHARC__MAX_WORKERS + 1];
  for (;;) {
    if (all_done(pool, js))
      return 0;
    int rc = check_progress(pool, js);
    if (rc != 0)
      return rc;
    unsigned n = 0;
    pfd[n++] = (struct pollfd){pool->evfd, POLLIN, 0};
    for (unsigned w = 0; w < pool->nworkers; w++)
      pfd[n++] = (struct pollfd){pool->w[w].pidfd, POLLIN, 0};
    int timeout = js->poll_ms ? js->poll_ms : SHARC__POLL_MS;
    if (js->journal != NULL) {
      if (sharc__now_ns() - js->journal->last_flush_ns >=
          SHARC__JOURNAL_EVERY_NS) {
        int jrc = sharc__journal_flush(pool, js->o, js->journal);
        if (jrc != 0)
          return jrc;
      }
      int jms = (int)(SHARC__JOURNAL_EVERY_NS / 1000000u);
      timeout = jms < timeout ? jms : timeout;
    }
    if (atomic_load(&pool->cb->cancel) && !js->canceled) {
      js->canceled = 1;
      js->cancel_at = sharc__now_ns() + sharc__cancel_grace_ns(pool);
    }
    if (js->canceled) {
      uint64_t now = sharc__now_ns();
      if (now >= js->cancel_at) {
        /* Chunks still running after the grace: their workers go. */
        for (unsigned w = 0; w < pool->nworkers; w++) {
          if (pool->w[w].pid > 0 &&
              atomic_load(&pool->cb->slots[w].done_seq) != js->seq)
            sharc__signal_worker(pool, w, SIGKILL);
        }
        timeout = SHARC__POLL_MS;
      } else {
        int ms = (int)((js->cancel_at - now) / 1000000u) + 1;
        timeout = ms < timeout ? ms : timeout;
      }
    }
    /* A job that reports progress asks to hear of blocks finished from
     * now on, then looks at those finished so far: at most once per
     * SHARC__PROGRESS_NS, so that fine chunks cost no stream of wake-ups. */
    if (js->hooks != NULL && js->hooks->progress != NULL) {
      uint64_t now = sharc__now_ns();
      int map = js->hooks->done_map && js->journal != NULL;
      if (now >= js->progress_ns) {
        if (map)
          atomic_store(&pool->cb->progress_wanted, 1);
        js->hooks->progress(js, js->hooks->arg);
        js->progress_ns = now + SHARC__PROGRESS_NS;
      } else if (map) { /* a done map: look again soon */
        int ms = (int)((js->progress_ns - now + 999999) / 1000000u);
        timeout = ms < timeout ? ms : timeout;
      }
    }
    int ready = poll(pfd, n, timeout);
    if (ready < 0 && errno != EINTR)
      return sharc__fail(pool, -errno, "poll: %s", strerror(errno));
    /* Nothing for a while: in case a scribbled sleepers count made the post
     * skip the wake-up, wake everyone (harmless to workers that are busy). */
    if (ready == 0)
      sharc__futex_wake_all(&pool->cb->seq);
    uint64_t drain;
    if (pfd[0].revents & POLLIN) {
      if (read(pool->evfd, &drain, sizeof drain) < 0) { /* raced: empty */
      }
    }
    for (unsigned w = 0; w < pool->nworkers; w++) {
      if (pfd[w + 1].fd >= 0 && (pfd[w + 1].revents & (POLLIN | POLLHUP)))
        sharc__record_death(js, w);
    }
    if (js->watch != NULL)
      sharc__watchdog(js);
  }
}

int sharc__wait_pass(job_state *js) {
  sharc_pool *pool = js->pool;
  /* A stream's ranges are wanted as they come: no spinning first (with a
   * worker on every PU, each yield may give away a whole time slice). */
  if (js->hooks == NULL || !js->hooks->done_map)
    spin_a_little(pool, js);
  atomic_store(&pool->cb->coord_waiting, 1);
  int rc = sleep_until_done(js);
  atomic_store(&pool->cb->coord_waiting, 0);
  return rc;
}


/* Whether the pass just run was cut short by a cancel. The flag may come
 * after the coordinator's last look while waiting: then the workers may
 * have stopped early, or finished everything anyway (the cancel is then
 * moot and dropped). */
/* Indices the live workers report done in the pass (each count bounded by
 * n: the slots are untrusted). */
static uint64_t live_indices(const sharc_pool *pool, const job_state *js) {
  uint64_t done = 0;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    if (pool->w[w].pid > 0 && pool->cb->slots[w].indices <= js->n)
      done += pool->cb->slots[w].indices;
  }
  return done;
}

int sharc__cancel_seen(const job_state *js) {
  sharc_pool *pool = js->pool;
  if (js->canceled)
    return 1;
  if (!atomic_load(&pool->cb->cancel))
    return 0;
  uint64_t done = live_indices(pool, js);
  uint64_t want = js->items_id ? UINT64_MAX : js->n;
  if (done == want && js->ndead == 0) {
    atomic_store(&pool->cb->cancel, 0);
    return 0;
  }
  return 1;
}

/* A cancelled job: the flag is consumed, the error says how far it got. */
int sharc__cancelled(job_state *js) {
  sharc_pool *pool = js->pool;
  atomic_store(&pool->cb->cancel, 0);
  uint64_t done = live_indices(pool, js);
  return sharc__fail(pool, SHARC_ECANCELED,
                     "'%s' cancelled: %llu of %llu indices done%s",
                     js->kernel, (unsigned long long)(done < js->n ? done : js->n),
                     (unsigned long long)js->n,
                     js->ndead ? "; workers still running a chunk after "
                                 "100 ms were killed (the next job replaces "
                                 "them)"
                               : "");
}

