/* cli.h: shared pieces of the `llx` command line (the only place that exits). */
#ifndef LLX_CLI_H
#define LLX_CLI_H

#include "llx/llx.h"

typedef struct cli_command {
    const char *name;
    const char *summary; /* one line for `llx --help` */
    const char *usage;   /* full text for `llx CMD --help` */
    int (*run)(int argc, char **argv);
} cli_command;

/* A registry with the built-ins and every plugin on the search path plus
 * the experiment's `plugin_paths:` (doc may be NULL). */
typedef struct cli_env {
    llx_registry *reg;
    llx_plugins *plugins;
    llx_doc *doc;
} cli_env;

/* Loads EXP.yaml with the --set options found in argv (argv[0] is the command). */
int cli_env_open(cli_env *env, const char *exp_path, const char *const *sets, int n_sets);
/* The same for a document already parsed (a checkpoint's or a run's experiment; env owns
 * doc from here on); exp_path (may be NULL) is where its relative plugin_paths: start. */
int cli_env_open_doc(cli_env *env, llx_doc *doc, const char *exp_path);
void cli_env_close(cli_env *env);

/* Prints "llx: <msg>" to stderr and returns 1. */
int cli_fail(const llx_error *err);
/* 11180103 -> "11,180,103". */
const char *cli_thousands(int64_t v, char *buf, size_t cap);
/* True if argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);

int cmd_run(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_plugins(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_plot(int argc, char **argv);

#endif
