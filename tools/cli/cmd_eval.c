/* cmd_eval.c: `llx eval CKPT` (scores on a split) and `llx predict CKPT IMAGE...`
 * (class probabilities). Both rebuild the network from the experiment stored in
 * the checkpoint, with --set overrides (another dataset path, say). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "llx/checkpoint.h"
#include "llx/train.h"
#include "llx/transform.h"

typedef struct eval_args {
    const char *ckpt, *split, *device;
    const char *sets[64], *images[256];
    int n_sets, n_images;
} eval_args;

static int parse(int argc, char **argv, eval_args *a, bool predict)
{
    memset(a, 0, sizeof *a);
    a->split = "test";
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--set") == 0 && v && a->n_sets < 64) a->sets[a->n_sets++] = argv[++i];
        else if (!predict && strcmp(argv[i], "--split") == 0 && v) a->split = argv[++i];
        else if (strcmp(argv[i], "--device") == 0 && v) a->device = argv[++i];
        else if (argv[i][0] != '-' && !a->ckpt) a->ckpt = argv[i];
        else if (argv[i][0] != '-' && predict && a->n_images < 256) a->images[a->n_images++] = argv[i];
        else if (argv[i][0] != '-' && predict) {
            fprintf(stderr, "llx predict: at most 256 images per call ('%s' is the 257th)\n", argv[i]);
            return 2;
        } else {
            fprintf(stderr, "llx %s: unexpected argument '%s' (see --help)\n", predict ? "predict" : "eval", argv[i]);
            return 2;
        }
    }
    if (!a->ckpt || (predict && a->n_images == 0)) {
        fprintf(stderr, "usage: llx %s\n", predict ? "predict CKPT IMAGE..." : "eval CKPT [--split val|test]");
        return 2;
    }
    return 0;
}

/* The registry, plugins, the checkpoint's experiment and a trainer with its weights. */
static int open_checkpoint(const eval_args *a, bool with_data, cli_env *env, llx_trainer **t)
{
    llx_error err = {0};
    char *yaml;
    int epoch;
    *t = NULL;
    if (llx_checkpoint_read_experiment(a->ckpt, &yaml, &epoch, &err) != LLX_OK) return cli_fail(&err);
    llx_doc *doc = NULL;
    llx_status st = llx_doc_parse(a->ckpt, yaml, a->sets, a->n_sets, &doc, &err);
    free(yaml);
    if (st != LLX_OK) return cli_fail(&err);
    if (cli_env_open_doc(env, doc, NULL)) return 1; /* its plugin_paths: too */
    llx_train_options o = {.device = a->device, .log = stderr, .eval_only = true, .no_data = !with_data};
    if (st == LLX_OK) st = llx_trainer_create(env->reg, env->doc, &o, t, &err);
    if (st == LLX_OK) st = llx_checkpoint_load(llx_trainer_graph(*t), a->ckpt, NULL, NULL, &err);
    if (st != LLX_OK) {
        llx_trainer_free(*t);
        cli_env_close(env);
        return cli_fail(&err);
    }
    fprintf(stderr, "checkpoint %s (epoch %d)\n", a->ckpt, epoch);
    return 0;
}

int cmd_eval(int argc, char **argv)
{
    eval_args a;
    int rc = parse(argc, argv, &a, false);
    if (rc) return rc;
    cli_env env;
    llx_trainer *t;
    if (open_checkpoint(&a, true, &env, &t)) return 1;
    llx_metrics m;
    llx_confusion c;
    double loss;
    llx_error err = {0};
    if (llx_trainer_evaluate(t, a.split, &m, &c, &loss, &err) != LLX_OK) {
        rc = cli_fail(&err);
    } else {
        printf("%s: %lld samples  loss %.4f  accuracy %.4f  macro-F1 %.4f  ABAW %.4f\n\n", a.split, (long long)m.total,
               loss, m.accuracy, m.macro_f1, m.abaw);
        printf("%-10s %9s %9s %9s %9s   confusion (rows: truth, columns: predicted)\n", "class", "accuracy",
               "precision", "recall", "F1");
        for (int k = 0; k < LLX_NUM_CLASSES; k++) {
            printf("%-10s %9.4f %9.4f %9.4f %9.4f  ", llx_class_name(k), m.class_accuracy[k], m.precision[k],
                   m.recall[k], m.f1[k]);
            for (int p = 0; p < LLX_NUM_CLASSES; p++) printf(" %6lld", (long long)c.m[k][p]);
            printf("\n");
        }
    }
    llx_trainer_free(t);
    cli_env_close(&env);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    eval_args a;
    int rc = parse(argc, argv, &a, true);
    if (rc) return rc;
    cli_env env;
    llx_trainer *t;
    if (open_checkpoint(&a, false, &env, &t)) return 1;
    const llx_augment *aug = llx_trainer_eval_augment(t);
    size_t floats = (size_t)(aug->crops == LLX_CROPS_TEN ? 10 : 1) * (size_t)aug->channels * (size_t)aug->size *
                    (size_t)aug->size;
    float *x = malloc(floats * sizeof *x);
    if (!x) {
        fprintf(stderr, "llx predict: out of memory\n");
        llx_trainer_free(t);
        cli_env_close(&env);
        return 1;
    }
    printf("%-40s %-10s", "image", "predicted");
    for (int k = 0; k < LLX_NUM_CLASSES; k++) printf(" %10s", llx_class_name(k));
    printf("\n");
    for (int i = 0; i < a.n_images; i++) {
        llx_error err = {0};
        llx_image im = {0};
        double p[LLX_NUM_CLASSES];
        if (llx_image_load(a.images[i], &im, &err) != LLX_OK || llx_augment_eval(aug, &im, x, &err) != LLX_OK ||
            llx_trainer_predict(t, x, 1, p, &err) != LLX_OK) {
            if (im.data) llx_image_free(&im);
            rc = cli_fail(&err);
            continue;
        }
        llx_image_free(&im);
        int best = 0;
        for (int k = 1; k < LLX_NUM_CLASSES; k++) best = p[k] > p[best] ? k : best;
        printf("%-40s %-10s", a.images[i], llx_class_name(best));
        for (int k = 0; k < LLX_NUM_CLASSES; k++) printf(" %10.4f", p[k]);
        printf("\n");
    }
    free(x);
    llx_trainer_free(t);
    cli_env_close(&env);
    return rc;
}
