/* classes.c: names of the 7 canonical expression classes and the datasets' spellings. */
#include <stddef.h>
#include <strings.h>

#include "llx/data.h"

static const char *const class_names[] = {
    [LLX_NEUTRAL] = "neutral",   [LLX_ANGER] = "anger",         [LLX_DISGUST] = "disgust",
    [LLX_FEAR] = "fear",         [LLX_HAPPINESS] = "happiness", [LLX_SADNESS] = "sadness",
    [LLX_SURPRISE] = "surprise",
};
_Static_assert(sizeof class_names / sizeof class_names[0] == LLX_NUM_CLASSES,
               "class_names must name every canonical class");

/* Spellings found in dataset folders, CSV headers and papers (compared ignoring case). */
static const struct {
    const char *name;
    int cls;
} aliases[] = {
    {"neutral", LLX_NEUTRAL},     {"neutrality", LLX_NEUTRAL}, {"anger", LLX_ANGER},
    {"angry", LLX_ANGER},         {"disgust", LLX_DISGUST},    {"disgusted", LLX_DISGUST},
    {"fear", LLX_FEAR},           {"fearful", LLX_FEAR},       {"afraid", LLX_FEAR},
    {"happiness", LLX_HAPPINESS}, {"happy", LLX_HAPPINESS},    {"joy", LLX_HAPPINESS},
    {"sadness", LLX_SADNESS},     {"sad", LLX_SADNESS},        {"surprise", LLX_SURPRISE},
    {"surprised", LLX_SURPRISE},
    /* contempt, other, unknown, NF: not one of the 7 classes -> -1 */
};

const char *llx_class_name(int cls)
{
    return (cls >= 0 && cls < LLX_NUM_CLASSES) ? class_names[cls] : "unknown";
}

int llx_class_from_name(const char *name)
{
    if (!name) return -1;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(name, aliases[i].name) == 0) return aliases[i].cls;
    return -1;
}
