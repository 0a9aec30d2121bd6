/* cmd_plugins.c: `llx plugins`: what is loaded, from where, with which layers. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_plugins(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "llx plugins: unexpected argument '%s' (usage: llx plugins [EXP.yaml])\n", argv[argc > 2 ? 2 : 1]);
        return 2;
    }
    cli_env env;
    if (cli_env_open(&env, argc > 1 ? argv[1] : NULL, NULL, 0)) return 1;
    printf("plugin ABI %d\n\n", LLX_ABI_VERSION);
    size_t n_layers = llx_registry_layer_count(env.reg);
    for (size_t p = 0; p <= llx_plugins_count(env.plugins); p++) {
        const char *path = "(built into libllx)", *owner_name = "builtin", *version = LLX_VERSION;
        if (p < llx_plugins_count(env.plugins)) {
            const llx_plugin_info *info = llx_plugins_at(env.plugins, p, &path);
            owner_name = info->name;
            version = info->version;
        }
        printf("%s %s  %s\n", owner_name, version, path);
        for (size_t i = 0; i < n_layers; i++) {
            const char *owner;
            const llx_layer_desc *d = llx_registry_layer_at(env.reg, i, &owner);
            if (strcmp(owner, owner_name) == 0) printf("    %-16s %s\n", d->name, d->doc ? d->doc : "");
        }
    }
    cli_env_close(&env);
    return 0;
}
