/* registry_impl.h: registry internals shared inside the core. */
#ifndef LLX_REGISTRY_IMPL_H
#define LLX_REGISTRY_IMPL_H

#include "llx/registry.h"

/* Adds the built-in layers (conv2d, batchnorm2d, relu, ...) of builtin_layers.c. */
llx_status llx_register_builtin_layers(llx_registry *r, llx_error *err);
/* NULL-terminated array of every layer name (free() it), for suggestions. */
const char **llx_registry_layer_names(const llx_registry *r);

#endif
