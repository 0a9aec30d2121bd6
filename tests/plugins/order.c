/* order: the same plugin name built twice with different versions (ORDER_VERSION
 * "path" into test_plugins/path_dir, "extra" into test_plugins/extra_dir), so a
 * test can tell which folder of the search path won. Registers no layers. */
#include "llx/plugin.h"

static llx_status order_register(llx_registry *r, llx_error *err)
{
    return LLX_OK;
}

LLX_PLUGIN(order, ORDER_VERSION, order_register)
