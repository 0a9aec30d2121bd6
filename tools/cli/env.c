/* env.c: the registry, plugins and experiment document that commands share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(const llx_error *err)
{
    fprintf(stderr, "llx: %s\n", err->msg);
    return 1;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}

const char *cli_thousands(int64_t v, char *buf, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    size_t o = 0;
    if (v < 0 && o + 1 < cap) buf[o++] = '-';
    for (int i = 0; i < n && o + 2 < cap; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* `plugin_paths:` of the experiment: folders searched after the defaults; relative
 * ones are taken from the experiment file's folder. Fills dirs with malloc'd paths. */
static int experiment_plugin_dirs(const llx_doc *doc, const char *exp_path, char **dirs, int cap)
{
    const llx_cfg *list = doc ? llx_cfg_get(llx_doc_root(doc), "plugin_paths") : NULL;
    const char *slash = exp_path ? strrchr(exp_path, '/') : NULL;
    int base_len = slash ? (int)(slash - exp_path) : 1, n = 0;
    const char *base = slash ? exp_path : ".";
    for (size_t i = 0; list && i < llx_cfg_len(list) && n < cap; i++) {
        const char *d = llx_cfg_str(llx_cfg_at(list, i));
        if (!d) continue;
        size_t len = strlen(d) + (size_t)base_len + 2;
        dirs[n] = malloc(len);
        if (!dirs[n]) break; /* out of memory: the folders so far */
        if (d[0] == '/') snprintf(dirs[n], len, "%s", d);
        else snprintf(dirs[n], len, "%.*s/%s", base_len, base, d);
        n++;
    }
    return n;
}

int cli_env_open_doc(cli_env *env, llx_doc *doc, const char *exp_path)
{
    memset(env, 0, sizeof *env);
    env->doc = doc;
    llx_error err = {0};
    char *dirs[32];
    int n_dirs = experiment_plugin_dirs(env->doc, exp_path, dirs, 32);
    llx_status st = llx_registry_create(&env->reg, &err);
    if (st == LLX_OK) st = llx_plugins_create(&env->plugins, &err);
    if (st == LLX_OK) st = llx_plugins_load_all(env->plugins, env->reg, (const char *const *)dirs, n_dirs, &err);
    for (int i = 0; i < n_dirs; i++) free(dirs[i]);
    if (st != LLX_OK) {
        cli_env_close(env);
        return cli_fail(&err);
    }
    return 0;
}

int cli_env_open(cli_env *env, const char *exp_path, const char *const *sets, int n_sets)
{
    llx_doc *doc = NULL;
    llx_error err = {0};
    if (exp_path && llx_doc_load(exp_path, sets, n_sets, &doc, &err) != LLX_OK) {
        memset(env, 0, sizeof *env);
        return cli_fail(&err);
    }
    return cli_env_open_doc(env, doc, exp_path);
}

void cli_env_close(cli_env *env)
{
    llx_registry_free(env->reg);
    llx_plugins_free(env->plugins);
    llx_doc_free(env->doc);
    memset(env, 0, sizeof *env);
}
