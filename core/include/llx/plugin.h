/* llx/plugin.h: the plugin ABI.
 *
 * A plugin is a shared object exporting exactly one symbol, LLX_PLUGIN_ENTRY_NAME,
 * a function returning a pointer to a static llx_plugin_info:
 *
 *     static llx_status my_register(llx_registry *r, llx_error *err) {
 *         return llx_registry_add_layer(r, &my_layer, "my_plugin", err);
 *     }
 *     LLX_PLUGIN(my_plugin, "1.0.0", my_register)
 *
 * The loader refuses a plugin whose abi_version differs from LLX_ABI_VERSION
 * and says which versions differ. Bump LLX_ABI_VERSION whenever a public
 * struct or function signature in include/llx changes. */
#ifndef LLX_PLUGIN_H
#define LLX_PLUGIN_H

#include "llx/registry.h"

#define LLX_ABI_VERSION 3 /* 2: llx_op_call.din_fresh, llx_op_kernels.fresh_din, llx_backend.tf32 and .fresh_grads;
                             3: llx_backend.conv_precision */
#define LLX_PLUGIN_ENTRY_NAME "llx_plugin_entry"

typedef struct llx_plugin_info {
    int abi_version; /* LLX_ABI_VERSION the plugin was built against */
    const char *name;
    const char *version;
    llx_status (*register_fn)(llx_registry *r, llx_error *err);
} llx_plugin_info;

typedef const llx_plugin_info *(*llx_plugin_entry_fn)(void);

#define LLX_PLUGIN(NAME, VERSION, REGISTER)                                                   \
    const llx_plugin_info *llx_plugin_entry(void);                                           \
    const llx_plugin_info *llx_plugin_entry(void)                                            \
    {                                                                                         \
        static const llx_plugin_info info = {LLX_ABI_VERSION, #NAME, VERSION, REGISTER};      \
        return &info;                                                                         \
    }

/* Loaded plugins. */
typedef struct llx_plugins llx_plugins;

llx_status llx_plugins_create(llx_plugins **out, llx_error *err);
void llx_plugins_free(llx_plugins *p); /* dlcloses; free registries using them first */

/* Loads one shared object by path and registers its layers/ops. */
llx_status llx_plugin_load(llx_plugins *p, llx_registry *r, const char *path, llx_error *err);
/* Loads lib<name>.so / llx_<name>.so found first in: the build's plugin folder,
 * then each folder of $LLX_PLUGIN_PATH (':'-separated), then `extra_dirs`. */
llx_status llx_plugin_load_by_name(llx_plugins *p, llx_registry *r, const char *name,
                                   const char *const *extra_dirs, int n_extra, llx_error *err);
/* Loads every plugin in the search path (the default set for `llx`). */
llx_status llx_plugins_load_all(llx_plugins *p, llx_registry *r, const char *const *extra_dirs,
                                int n_extra, llx_error *err);

size_t llx_plugins_count(const llx_plugins *p);
const llx_plugin_info *llx_plugins_at(const llx_plugins *p, size_t i, const char **path);

#endif
