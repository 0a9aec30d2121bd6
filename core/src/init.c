/* init.c: initial parameter values, reproducible per parameter.
 *
 * Each parameter draws from its own stream seeded by (seed, hash of its
 * dotted name), so adding a layer does not change the others' values. */
#include <math.h>
#include <string.h>

#include "graph_impl.h"

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return ((double)(splitmix64(s) >> 11) + 0.5) / 9007199254740992.0; }

static double normal(uint64_t *s)
{
    double u = uniform01(s), v = uniform01(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static uint64_t name_hash(const char *name)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h;
}

void llx_init_param(const node *n, uint64_t seed, void *host)
{
    int64_t numel = llx_shape_numel(&n->shape);
    if (numel == 0) return; /* and the fans below would divide by a zero dim */
    int64_t out_dim = n->shape.ndim ? n->shape.dim[0] : 1;
    int64_t per_out = numel / out_dim; /* C*KH*KW for a conv weight */
    int64_t receptive = n->shape.ndim > 2 ? per_out / n->shape.dim[1] : 1;
    double fan_in = (double)per_out, fan_out = (double)(out_dim * receptive);
    uint64_t s = seed ^ name_hash(n->name);
    for (int64_t i = 0; i < numel; i++) {
        double v = 0;
        if (n->init_values) {
            v = n->init_values[i];
        } else {
            switch (n->init.kind) {
            case LLX_INIT_ZEROS: v = 0; break;
            case LLX_INIT_ONES: v = 1; break;
            case LLX_INIT_CONSTANT: v = n->init.value; break;
            case LLX_INIT_KAIMING_NORMAL_FAN_OUT: v = normal(&s) * sqrt(2.0 / fan_out); break;
            case LLX_INIT_UNIFORM_FAN_IN: {
                double f = n->init.value > 0 ? n->init.value : fan_in;
                v = (2 * uniform01(&s) - 1) / sqrt(f);
                break;
            }
            case LLX_INIT_NORMAL: v = normal(&s) * n->init.value; break;
            default: LLX_ASSERT(!"unknown init kind");
            }
        }
        if (n->dtype == LLX_F64) ((double *)host)[i] = v;
        else ((float *)host)[i] = (float)v;
    }
}
