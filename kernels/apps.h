/* Built-in applications: a kernel plus what it takes to run it from the
 * tool — the arrays and argument bytes it needs, and how to report and
 * check its result. Written against the public API only, as any user would. */
#ifndef SHARC_KERNELS_APPS_H
#define SHARC_KERNELS_APPS_H

#include <stdio.h>

#include <sharc.h>

typedef struct sharc_app {
  const char *name;    /* as given to `sharc run NAME` */
  const char *kernel;  /* the registered kernel it runs */
  const char *summary; /* one line for --help */
  const char *params;  /* help text for its -p key=value parameters */
  uint64_t default_n;  /* index count when --n is not given */

  /* Creates the app's arrays in pool, fills *o (arrays, argument bytes;
   * the schedule is left as the caller set it) and returns its state in
   * *state. params: "key=value,key=value" or NULL. Returns 0, or a negative
   * code with a one-line message in msg. */
  int (*setup)(sharc_pool *pool, uint64_t n, const char *params,
               sharc_job_opts *o, void **state, char *msg, size_t msglen);

  /* After a successful job: writes the result. rep is the job's report
   * (for rates such as GB/s or samples per second). json == 0: one or more
   * lines for people; json == 1: a JSON object (no trailing newline).
   * Returns 0. */
  int (*result)(void *state, const sharc_report *rep, FILE *out, int json);

  /* Recomputes the result sequentially in this process and compares it to
   * what the job produced. Returns 0 when identical, SHARC_ECORRUPT (with a
   * message naming the first differing index) otherwise. */
  int (*verify)(void *state, char *msg, size_t msglen);

  /* Destroys the arrays and frees state. NULL state is a no-op. */
  void (*teardown)(void *state);
} sharc_app;

/* The built-in apps, NULL-terminated. */
extern const sharc_app *const sharc_apps[];

/* The app named name, or NULL. */
const sharc_app *sharc_app_find(const char *name);

/* Each built-in app, for callers that want one without a lookup. Their
 * setup() validates the parameters before it creates anything, and replaces
 * any arrays already in *o (the kernel finds its arrays by position). The
 * state it returns owns arrays of the pool it was given: call teardown()
 * before sharc_pool_destroy(). */
extern const sharc_app sharc_app_pi;
extern const sharc_app sharc_app_triad;
extern const sharc_app sharc_app_mandelbrot;
extern const sharc_app sharc_app_synthetic;
extern const sharc_app sharc_app_empty;

/* pi's estimate and its standard error, from a state made by pi's setup()
 * after a successful job. Both are pure functions of (seed, n): identical
 * for every worker count and schedule. Returns 0, or SHARC_EINVAL. */
int sharc_app_pi_estimate(const void *state, double *estimate,
                          double *stderr_out);

/* --- What the apps share (kernels/apps.c, kernels/params.c) ------------- */

/* Writes a one-line message to msg (if not NULL and msglen > 0). */
void sharc_app_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Where an app's output (its job array 0) goes: NULL for anonymous shared
 * memory, else a raw binary file (C order, native byte order) created
 * exclusively, or opened as it is when resume is set (sharc run --out,
 * --resume). */
typedef struct sharc_app_output {
  const char *path;
  int resume;
} sharc_app_output;
extern sharc_app_output sharc_app_out;

/* Creates an anonymous array in pool and appends it to the job, expecting it
 * to become the job's array number `slot` (the index the kernel uses). The
 * job's list of arrays is kept here, one app's job at a time (not
 * thread-safe): o must hold no arrays of its own. Slot
 * 0 goes to sharc_app_out.path when that is set. what names it in messages
 * ("pi: cannot create hits: ..."). On failure the array is destroyed, *out
 * is NULL and msg explains. */
int sharc_app_add_array(sharc_pool *pool, const char *app, const char *what,
                        sharc_dtype dt, int ndim, const uint64_t *shape,
                        sharc_job_opts *o, unsigned slot, sharc_array **out,
                        char *msg, size_t msglen);

/* Copies the job's argument bytes into out, which holds exactly len bytes,
 * checking that the job carries arguments of exactly that size. Returns 0,
 * or SHARC_EINVAL when they are missing or of another size. Hot path: no
 * system call. */
int sharc_app_task_args(const sharc_task *t, void *out, size_t len);

/* count / wall_s, or 0 when the job took no measurable time. */
double sharc_app_rate(double count, const sharc_report *rep);

typedef enum {
  SHARC_APP_PARAM_U64,   /* out: uint64_t *, decimal, within [min, max] */
  SHARC_APP_PARAM_F64,   /* out: double *, finite, within [min, max] */
  SHARC_APP_PARAM_CHOICE /* out: unsigned *, index into choices */
} sharc_app_param_type;

/* One accepted key of an app's "key=value,..." parameters. */
typedef struct sharc_app_param {
  const char *key;
  sharc_app_param_type type;
  void *out;
  double min, max;            /* numbers: inclusive bounds */
  const char *const *choices; /* CHOICE: NULL-terminated names */
  const char *none;           /* U64: a word meaning UINT64_MAX, or NULL */
} sharc_app_param;

/* Parses text ("key=value,key=value"; NULL or "" keeps every default) into
 * the outputs of spec[0..nspec). Outputs of keys not given are untouched.
 * An unknown key, a key given twice, a pair without '=' or a bad value gives
 * SHARC_EINVAL with a message naming the app and the key. */
int sharc_app_params_parse(const char *app, const char *text,
                           const sharc_app_param *spec, size_t nspec, char *msg,
                           size_t msglen);

/* SHARC_EINVAL with a message naming the key when text gives some key twice
 * ("seed=1,seed=2"), else 0: for a tool to tell a usage error apart before
 * it starts anything. */
int sharc_app_params_repeated(const char *app, const char *text, char *msg,
                              size_t msglen);

#endif
