/* run_fixture.h: run folders (run.h5, format version 1) written with the HDF5 C API for
 * the tests of `llx compare` and `llx plot`, independent of the writer in llx run.
 *
 *     run_fixture f = run_fixture_default();
 *     f.vars_yaml = "attention: se\nseed: 2\n";
 *     f.test.accuracy = 0.7; ...
 *     run_fixture_write("/tmp/x/quick-se-2", &f);      // creates the folder and run.h5
 *
 * run_fixture_suite writes the set the compare tests read (see its comment). */
#ifndef LLX_TESTS_RUN_FIXTURE_H
#define LLX_TESTS_RUN_FIXTURE_H

#include <stdint.h>

typedef struct run_fixture_scores {
    int present;
    int64_t epoch;
    double accuracy, macro_f1, abaw;
    double class_accuracy[7];
} run_fixture_scores;

typedef struct run_fixture {
    const char *state, *error; /* error: only for state "failed" */
    const char *experiment_path, *vars_yaml, *sweep_vars;
    const char *git_commit;
    int git_dirty;
    int64_t seed, params, macs, epochs_total, epochs_done, best_epoch;
    run_fixture_scores test, val_best; /* confusion: 100 samples per class, diagonal = class accuracy */
} run_fixture;

run_fixture run_fixture_default(void);
/* Writes dir/run.h5 (mkdir -p dir); 0 or -1 with a message on stderr. */
int run_fixture_write(const char *dir, const run_fixture *f);

/* Writes under root:
 *   q-none-s1, q-none-s2, q-llam-s1, q-llam-s2  finished, vars attention + seed, with /test
 *       test accuracy   none 0.60 0.64   llam 0.70 0.66
 *       test macro_f1   none 0.50 0.54   llam 0.61 0.63   (abaw = 0.67 f1 + 0.33 acc)
 *       params none 11176512, llam 11180103; macs 1820000000 / 1822000000
 *   q-se-s1       running, epoch 3 of 10, /val_best only
 *   q-cbam-s1     failed with error "out of memory in stage3.block0.attn"
 *   q-truncated   a finished record cut to half its size
 *   q-foreign     a valid HDF5 file (an llx checkpoint-like file: format "llx-checkpoint")
 *   q-text        run.h5 holding text
 * Returns 0 or -1. */
int run_fixture_suite(const char *root);

#endif
