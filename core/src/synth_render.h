/* synth_render.h (private): the procedural face renderer behind `format: synthetic`.
 *
 * llx_synth_render draws one size x size greyscale face-like image of a canonical
 * expression (llx_class) from (label, seed) alone: no global state, thread-safe,
 * deterministic. Expression is carried by geometry (mouth curvature and opening,
 * brow height and angle, eye opening, nose wrinkles) at a random intensity; identity
 * (face shape, tones, hair) and nuisances of faces in the wild (occluders, illumination
 * ramps, shifts, rotations, scale, blur, noise) vary with the seed. */
#ifndef LLX_SYNTH_RENDER_H
#define LLX_SYNTH_RENDER_H

#include <stdint.h>

#define LLX_SYNTH_MAX_SIZE 1024

/* grey: (size, size) row-major, written in full. label in [0, LLX_NUM_CLASSES),
 * size in [1, LLX_SYNTH_MAX_SIZE]. */
/* difficulty in [0, 1]: 1 is the full generator (expressions from 20% intensity, resting
 * faces as varied as weak expressions, occluders, strong light ramps, blur and noise);
 * lower values scale the identity's resting-face variation and the nuisances down and
 * raise the weakest expression to 60% at 0. */
void llx_synth_render(int label, uint64_t seed, int size, float difficulty, uint8_t *grey);

/* splitmix64 step: the generator of the renderer and of the synthetic source. */
static inline uint64_t llx_synth_mix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif
