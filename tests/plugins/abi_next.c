/* abi_next: a plugin built for the next plugin ABI (LLX_ABI_VERSION + 1). The
 * entry is written by hand (not LLX_PLUGIN) so that it can lie about its ABI;
 * the loader must refuse it before calling register. */
#include "llx/plugin.h"

static llx_status abi_next_register(llx_registry *r, llx_error *err)
{
    return llx_errorf(err, LLX_ERR_INVALID, "abi_next: register must not be called");
}

const llx_plugin_info *llx_plugin_entry(void);
const llx_plugin_info *llx_plugin_entry(void)
{
    static const llx_plugin_info info = {
        .abi_version = LLX_ABI_VERSION + 1,
        .name = "abi_next",
        .version = "9.9.9",
        .register_fn = abi_next_register,
    };
    return &info;
}
