/* llx/registry.h: the registry of ops and layers, filled by the built-ins
 * and by plugins. Passed explicitly: no global state, no static constructors. */
#ifndef LLX_REGISTRY_H
#define LLX_REGISTRY_H

#include "llx/layer.h"
#include "llx/op.h"

typedef struct llx_registry llx_registry;

/* A registry holding the built-in ops and layers. */
llx_status llx_registry_create(llx_registry **out, llx_error *err);
void llx_registry_free(llx_registry *r);

/* Adds a layer or op; a duplicate name is an error naming both owners.
 * `owner` is the plugin name ("builtin" for the core). Descriptors must
 * outlive the registry (static data of the plugin). */
llx_status llx_registry_add_layer(llx_registry *r, const llx_layer_desc *l, const char *owner,
                                  llx_error *err);
llx_status llx_registry_add_op(llx_registry *r, const llx_op_desc *op, const char *owner,
                               llx_error *err);

const llx_layer_desc *llx_registry_layer(const llx_registry *r, const char *name);
const llx_op_desc *llx_registry_op(const llx_registry *r, const char *name);
size_t llx_registry_layer_count(const llx_registry *r);
const llx_layer_desc *llx_registry_layer_at(const llx_registry *r, size_t i, const char **owner);

#endif
