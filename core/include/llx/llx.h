/* llx/llx.h: everything public. Plugins include this and nothing private. */
#ifndef LLX_LLX_H
#define LLX_LLX_H

#define LLX_VERSION "0.1.0"

#include "llx/backend.h"
#include "llx/config.h"
#include "llx/graph.h"
#include "llx/layer.h"
#include "llx/op.h"
#include "llx/ops.h"
#include "llx/plugin.h"
#include "llx/registry.h"
#include "llx/status.h"
#include "llx/tensor.h"

#endif
