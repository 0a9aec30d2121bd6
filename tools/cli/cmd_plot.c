/* cmd_plot.c: `llx plot RUN_DIR...`: curves.png and confusion.png of each run. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "llx/plot.h"
#include "llx/runread.h"

/* fontconfig (under cairo's text) leaks the 288 bytes of its configuration parse once
 * per process, out of our reach; LeakSanitizer builds (tools/setup.sh --sanitize) read
 * this hook and leave that one alone. Unused in other builds. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

int cmd_plot(int argc, char **argv)
{
    const char *out = NULL;
    int n_runs = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr, "llx plot: unexpected argument '%s' (see llx plot --help)\n", argv[i]);
            return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0) {
            i++;
            continue;
        }
        n_runs++;
        llx_run run;
        llx_error err = {0};
        if (llx_run_read(argv[i], &run, &err) == LLX_OK) { /* failed runs too: their record is read */
            const char *dir = out ? out : run.dir;
            if (llx_plot_run(&run, dir, &err) == LLX_OK)
                printf("%s/curves.png\n%s/confusion.png\n", dir, dir);
            else if (err.status == LLX_ERR_NOT_FOUND && run.n_epochs)
                printf("%s/curves.png\n", dir), fprintf(stderr, "llx plot: %s\n", err.msg), failed++;
            else
                cli_fail(&err), failed++;
        } else {
            cli_fail(&err);
            failed++;
        }
        llx_run_free(&run);
    }
    if (!n_runs) {
        fprintf(stderr, "llx plot: which run? usage: llx plot RUN_DIR [--out DIR]\n");
        return 2;
    }
    return failed ? 1 : 0;
}
