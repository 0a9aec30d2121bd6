/* golden_fill.c: see golden_fill.h. */
#include "golden_fill.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llx/llx.h"

uint32_t golden_hash(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

static double golden_v_seeded(uint32_t seed, uint64_t i)
{
    uint32_t h = (uint32_t)(i * UINT64_C(2654435761));
    h ^= seed;
    h ^= h >> 16;
    h *= 2246822519u;
    h ^= h >> 13;
    h *= 3266489917u;
    h ^= h >> 16;
    return 2.0 * ((double)h / 4294967296.0) - 1.0;
}

double golden_v(const char *name, uint64_t i)
{
    return golden_v_seeded(golden_hash(name), i);
}

static double golden_rule(double v, int64_t fan_in, golden_kind kind)
{
    switch (kind) {
    case GOLDEN_WEIGHT: return v * sqrt(3.0 / (double)fan_in);
    case GOLDEN_BIAS: return 0.1 * v;
    case GOLDEN_BN_WEIGHT: return 1.0 + 0.1 * v;
    case GOLDEN_BN_BIAS: return 0.1 * v;
    case GOLDEN_BN_MEAN: return 0.1 * v;
    case GOLDEN_BN_VAR: return 1.0 + 0.25 * (v + 1.0);
    case GOLDEN_INPUT: return v;
    }
    return v;
}

double golden_value(const char *name, uint64_t i, int64_t fan_in, golden_kind kind)
{
    return golden_rule(golden_v(name, i), fan_in, kind);
}

void golden_fill_f32(float *dst, uint64_t n, const char *name, int64_t fan_in,
                     golden_kind kind)
{
    uint32_t seed = golden_hash(name);
    for (uint64_t i = 0; i < n; i++)
        dst[i] = (float)golden_rule(golden_v_seeded(seed, i), fan_in, kind);
}

int32_t golden_label(int64_t n, int32_t classes)
{
    return (int32_t)((3 * n + 1) % classes);
}

void golden_fill_tensor(llx_tensor *t, const char *name, golden_kind kind)
{
    int64_t n = llx_tensor_numel(t), fan_in = t->shape.ndim ? n / t->shape.dim[0] : 1;
    uint32_t seed = golden_hash(name);
    for (int64_t i = 0; i < n; i++) {
        float v = (float)golden_rule(golden_v_seeded(seed, (uint64_t)i), fan_in, kind);
        if (t->dtype == LLX_F64) ((double *)t->data)[i] = v;
        else ((float *)t->data)[i] = v;
    }
}

static golden_kind kind_of(llx_graph *g, const char *name, const llx_shape *s)
{
    size_t len = strlen(name);
    if (len > 12 && strcmp(name + len - 12, "running_mean") == 0) return GOLDEN_BN_MEAN;
    if (len > 11 && strcmp(name + len - 11, "running_var") == 0) return GOLDEN_BN_VAR;
    if (s->ndim > 1) return GOLDEN_WEIGHT;
    const char *dot = strrchr(name, '.');
    char sibling[512];
    snprintf(sibling, sizeof sibling, "%.*s.running_mean", dot ? (int)(dot - name) : 0, name);
    bool bn = dot && llx_graph_find(g, sibling) != LLX_NO_NODE;
    bool weight = dot && strcmp(dot, ".weight") == 0;
    return bn ? (weight ? GOLDEN_BN_WEIGHT : GOLDEN_BN_BIAS) : GOLDEN_BIAS;
}

void golden_fill_graph(llx_graph *g)
{
    for (size_t i = 0; i < llx_graph_node_count(g); i++) {
        llx_node_id n = (llx_node_id)i;
        llx_node_kind k = llx_graph_node_kind(g, n);
        if (k != LLX_NODE_PARAM && k != LLX_NODE_BUFFER) continue;
        llx_tensor *t = llx_graph_value(g, n);
        golden_fill_tensor(t, llx_graph_node_name(g, n), kind_of(g, llx_graph_node_name(g, n), &t->shape));
    }
}
