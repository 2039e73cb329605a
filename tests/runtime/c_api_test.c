/* Compiled as C11 with -Wall -Wextra -Werror -pedantic: the public header is plain C, and a C
 * program generates the same greedy text as llama2.c's golden output (and the CLI).
 * Usage: c_api_test DATA_DIR */
#include <floe/floe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct text_buffer {
  char data[8192];
  size_t len;
};

static int collect(floe_token token, const char* text, size_t len, void* user) {
  struct text_buffer* b = (struct text_buffer*)user;
  (void)token;
  if (b->len + len >= sizeof(b->data)) return 0;
  memcpy(b->data + b->len, text, len);
  b->len += len;
  return 1;
}

static char* read_file(const char* path, size_t* n) {
  FILE* f = fopen(path, "rb");
  char* buf;
  long size;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = (char*)malloc((size_t)size + 1);
  *n = fread(buf, 1, (size_t)size, f);
  buf[*n] = '\0';
  fclose(f);
  return buf;
}

#define CHECK(cond, what)                                \
  do {                                                   \
    if (!(cond)) {                                       \
      fprintf(stderr, "FAILED: %s (%s)\n", what, #cond); \
      return 1;                                          \
    }                                                    \
  } while (0)

int main(int argc, char** argv) {
  char model_path[1024], tok_path[1024], golden_path[1024];
  floe_model_params mp = floe_model_default_params();
  floe_session_params sp = floe_session_default_params();
  floe_sampler_params smp = floe_sampler_default_params();
  floe_model* model = NULL;
  floe_session* session = NULL;
  floe_sampler* sampler = NULL;
  struct text_buffer out;
  size_t golden_len = 0, n_generated = 0, n_tokens = 0;
  char* golden;
  floe_token tokens[64];
  floe_status st;

  CHECK(argc == 2, "usage: c_api_test DATA_DIR");
  snprintf(model_path, sizeof model_path, "%s/models/llama2c/stories260K.bin", argv[1]);
  snprintf(tok_path, sizeof tok_path, "%s/models/llama2c/tok512.bin", argv[1]);
  snprintf(golden_path, sizeof golden_path, "%s/golden/stories260K_greedy_n200.txt", argv[1]);
  golden = read_file(golden_path, &golden_len);
  CHECK(golden != NULL, "golden file readable");
  CHECK(floe_api_version() == FLOE_API_VERSION, "API version");

  /* Misuse returns codes, never crashes. */
  CHECK(floe_model_load(NULL, NULL, &model) == FLOE_ERR_INVALID_ARGUMENT, "null path");
  CHECK(floe_model_load("/nonexistent.bin", NULL, &model) == FLOE_ERR_NOT_FOUND, "missing file");
  CHECK(strstr(floe_last_error(), "/nonexistent.bin") != NULL, "error names the file");
  CHECK(floe_session_create(NULL, NULL, &session) == FLOE_ERR_INVALID_ARGUMENT, "null model");
  CHECK(floe_session_eval(NULL, tokens, 1) == FLOE_ERR_INVALID_ARGUMENT, "null session");
  mp.struct_size = 3;
  CHECK(floe_model_load(model_path, &mp, &model) == FLOE_ERR_INVALID_ARGUMENT, "bad struct_size");
  mp = floe_model_default_params();

  mp.tokenizer_path = tok_path;
  st = floe_model_load(model_path, &mp, &model);
  if (st != FLOE_OK) fprintf(stderr, "%s\n", floe_last_error());
  CHECK(st == FLOE_OK, "load model");
  CHECK(floe_model_vocab_size(model) == 512, "vocab size");
  CHECK(floe_model_bos(model) == 1, "bos");

  CHECK(floe_tokenize(model, "Once upon a time", 16, 1, tokens, 1, &n_tokens) ==
            FLOE_ERR_OUT_OF_RANGE,
        "tokenize into a too-small buffer");
  CHECK(floe_tokenize(model, "Once upon a time", 16, 1, tokens, 64, &n_tokens) == FLOE_OK,
        "tokenize");
  CHECK(n_tokens > 1 && tokens[0] == 1, "BOS first");

  CHECK(floe_session_create(model, &sp, &session) == FLOE_OK, "create session");
  smp.temperature = 0.0f;
  CHECK(floe_sampler_create(&smp, &sampler) == FLOE_OK, "create sampler");

  out.len = 0;
  st = floe_generate(session, "", 1, 200, sampler, collect, &out, &n_generated);
  if (st != FLOE_OK) fprintf(stderr, "%s\n", floe_session_last_error(session));
  CHECK(st == FLOE_OK, "generate");
  out.data[out.len] = '\0';
  if (out.len != golden_len || memcmp(out.data, golden, golden_len) != 0) {
    fprintf(stderr, "expected:\n%s\n---\ngot:\n%s\n", golden, out.data);
    return 1;
  }
  printf("C API generated %zu tokens, identical to llama2.c's golden output\n", n_generated);

  floe_sampler_free(sampler);
  floe_session_free(session);
  floe_model_free(model);
  free(golden);
  return 0;
}
