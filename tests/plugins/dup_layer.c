/* dup_layer: a plugin named DUP_PLUGIN registering a layer named DUP_LAYER_NAME
 * (set by CMake: dup_block registers "basic_block", dup_conv2d "conv2d"), so
 * that the registry's duplicate check must refuse it naming both owners. */
#include "llx/llx.h"

#if !defined DUP_LAYER_NAME || !defined DUP_PLUGIN
#error "DUP_LAYER_NAME and DUP_PLUGIN must be defined"
#endif

/* LLX_PLUGIN stringifies its first argument: pass the expanded name through. */
#define DUP_STR_(x)                                  #x
#define DUP_STR(x)                                   DUP_STR_(x)
#define DUP_PLUGIN_EXPANDED(NAME, VERSION, REGISTER) LLX_PLUGIN(NAME, VERSION, REGISTER)

static llx_status dup_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                            llx_node_id *out)
{
    *out = in[0];
    return llx_build_status(b);
}

static const llx_key_spec dup_keys[] = {{0}};

static const llx_layer_desc dup_layer = {
    .name = DUP_LAYER_NAME,
    .doc = "test: a layer whose name is already taken",
    .keys = dup_keys,
    .build = dup_build,
};

static llx_status dup_register(llx_registry *r, llx_error *err)
{
    return llx_registry_add_layer(r, &dup_layer, DUP_STR(DUP_PLUGIN), err);
}

DUP_PLUGIN_EXPANDED(DUP_PLUGIN, "1.0.0", dup_register)
