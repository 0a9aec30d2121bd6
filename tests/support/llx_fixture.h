/* llx_fixture.h: the registry, models and model errors the C tests share.
 *
 *     static llx_registry *reg;
 *     int main(void) {
 *         if (!(reg = fixture_registry_open(NULL))) return 1;
 *         RUN(...);
 *         fixture_registry_close(reg);
 *         return check_report();
 *     }
 *     CHECK(fixture_params(reg, "resnet18.yaml", "attention=se", NULL) == 11269183);
 *     CHECK(fixture_build_fails(reg, text, (const char *[]){"exp.yaml:4:", "'out'", NULL}));
 *
 * Support code does not count checks (tests/check.h is per test file): these
 * functions return what the test CHECKs, and print the details of a failure on stderr. */
#ifndef LLX_TESTS_LLX_FIXTURE_H
#define LLX_TESTS_LLX_FIXTURE_H

#include <stdint.h>

#include "block_check.h"
#include "llx/llx.h"

/* The registry of the built-in layers and of every plugin in the build's plugin
 * folder (and $LLX_PLUGIN_PATH, which ctest empties). NULL on failure, with err
 * filled when given and "setup: <message>" on stderr. */
llx_registry *fixture_registry_open(llx_error *err);
/* Frees the registry, then unloads its plugins. NULL is a no-op. */
void fixture_registry_close(llx_registry *reg);

/* The model of experiments/<experiment> with n_sets --set overrides, at batch size
 * `batch` in F32, into *g (its output in *out when out != NULL; *g NULL on failure). */
llx_status fixture_build_experiment(const llx_registry *reg, const char *experiment, const char *const *sets,
                                    int n_sets, int batch, llx_graph **g, llx_node_id *out, llx_error *err);

/* The model of YAML text, named "exp.yaml" in messages, into *g (NULL on failure). */
llx_status fixture_build_text(const llx_registry *reg, const char *text, int batch, llx_dtype dtype,
                              llx_graph **g, llx_node_id *out, llx_error *err);

/* Trainable parameters of experiments/<experiment> with the --set override `set`
 * (NULL for none), batch 1, and its multiply-accumulates in *macs when macs != NULL.
 * -1, with the message on stderr, when it does not load or build. */
int64_t fixture_params(const llx_registry *reg, const char *experiment, const char *set, int64_t *macs);

/* Parameter totals of experiments/resnet18.yaml (7x7 stem) and
 * experiments/resnet18_small_stem.yaml (3x3 stem) with the --set override `set`. */
typedef struct fixture_totals {
    const char *set;
    int64_t stem7, stem3;
} fixture_totals;

/* How many of the n rows' totals differ from fixture_params; each difference on stderr. */
int fixture_totals_wrong(const llx_registry *reg, const fixture_totals *rows, size_t n);

/* 1 when the model of YAML text (batch 1, F32) fails to build with a message that
 * holds every needle of the NULL-terminated list; otherwise 0, after printing the
 * text and what went wrong on stderr. */
int fixture_build_fails(const llx_registry *reg, const char *text, const char *const *needles);

/* fixture_build_fails on a one-block model, input [3, 8, 8], whose layer 4 is
 * "    - {type: basic_block, name: layer1.0, out: 32, attention: <attn>}"
 * (attn starts at column 63 of line 4 of exp.yaml). */
int fixture_attention_fails(const llx_registry *reg, const char *attn, const char *const *needles);

/* Trainable parameters of the attention layer cfg (YAML flow text) alone on
 * (2, c, 6, 6) maps, as block_check builds it; -1, with the message on stderr,
 * when it does not build. */
int64_t fixture_block_params(const llx_registry *reg, const char *cfg, int c);

/* How many of the n cases fail block_gradcheck, or block_golden when golden != 0;
 * each failing case on stderr. */
int fixture_blocks_wrong(const llx_registry *reg, const block_case *cases, size_t n, int golden);

#endif
