/* A C application embedding floe: greedy generation streamed from a worker thread; the main
 * thread cancels it after CANCEL_AFTER tokens (0 = never).
 * usage: embed_c MODEL TOKENIZER PROMPT N [CANCEL_AFTER] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <floe/floe.h>

typedef struct job {
  floe_session* session;
  floe_sampler* sampler;
  const char* prompt;
  size_t n;
  atomic_size_t tokens_seen;
  floe_status status;
  size_t generated;
} job;

static int on_token(floe_token token, const char* text, size_t len, void* user) {
  job* j = (job*)user;
  (void)token;
  fwrite(text, 1, len, stdout);
  fflush(stdout);
  atomic_fetch_add(&j->tokens_seen, 1);
  return 1;
}

static void* worker(void* arg) {
  job* j = (job*)arg;
  j->status = floe_generate(j->session, j->prompt, 1, j->n, j->sampler, on_token, j, &j->generated);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s MODEL TOKENIZER PROMPT N [CANCEL_AFTER]\n", argv[0]);
    return 2;
  }
  const size_t cancel_after = argc > 5 ? (size_t)strtoul(argv[5], NULL, 10) : 0;
  floe_model_params mp = floe_model_default_params();
  mp.tokenizer_path = argv[2];
  floe_model* model = NULL;
  if (floe_model_load(argv[1], &mp, &model) != FLOE_OK) {
    fprintf(stderr, "load failed: %s\n", floe_last_error());
    return 1;
  }
  floe_session* session = NULL;
  floe_sampler* sampler = NULL;
  floe_sampler_params sp = floe_sampler_default_params();
  sp.temperature = 0;
  if (floe_session_create(model, NULL, &session) != FLOE_OK ||
      floe_sampler_create(&sp, &sampler) != FLOE_OK) {
    fprintf(stderr, "setup failed: %s\n", floe_last_error());
    return 1;
  }
  job j = {session, sampler, argv[3], (size_t)strtoul(argv[4], NULL, 10), 0, FLOE_OK, 0};
  pthread_t t;
  if (pthread_create(&t, NULL, worker, &j) != 0) return 1;
  if (cancel_after > 0) {
    while (atomic_load(&j.tokens_seen) < cancel_after) sched_yield();
    floe_session_cancel(session);
  }
  pthread_join(t, NULL);
  printf("\n[%s, %zu tokens]\n", floe_status_string(j.status), j.generated);
  floe_sampler_free(sampler);
  floe_session_free(session);
  floe_model_free(model);
  return j.status == FLOE_OK || j.status == FLOE_ERR_CANCELLED ? 0 : 1;
}
