/* main.c: `llx CMD ...`: dispatches to the commands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"summary", "layer table: output shapes, parameters and MACs of an experiment's network",
     "usage: llx summary EXP.yaml [--set NAME=VALUE]... [--depth N]\n"
     "  Builds the model: section of EXP.yaml and prints every layer with its output shape\n"
     "  (one sample), parameter count and multiply-accumulates, then the totals.\n"
     "  --set NAME=VALUE  override a variable (attention=se) or a path (model.input=[3,48,48])\n"
     "  --depth N         show nested layers up to depth N (default 1: blocks and their parts)\n",
     cmd_summary},
    {"plugins", "list loaded plugins, their layers and versions",
     "usage: llx plugins [EXP.yaml]\n"
     "  Loads every plugin in the search path (the build's plugin folder, then each folder of\n"
     "  $LLX_PLUGIN_PATH, then the experiment's plugin_paths:) and lists them with their layers.\n",
     cmd_plugins},
};

static void print_help(void)
{
    printf("llx %s: attention ablations for facial expression recognition\n\n"
           "usage: llx COMMAND [ARGS]   (llx COMMAND --help for details)\n\ncommands:\n",
           LLX_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_help();
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("llx %s (plugin ABI %d)\n", LLX_VERSION, LLX_ABI_VERSION);
        return 0;
    }
    const char *names[sizeof commands / sizeof commands[0] + 1] = {0};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        names[i] = commands[i].name;
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        if (cli_wants_help(argc - 1, argv + 1)) {
            fputs(commands[i].usage, stdout);
            return 0;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    const char *near = llx_suggest(argv[1], names);
    fprintf(stderr, "llx: unknown command '%s'%s%s%s; see llx --help\n", argv[1],
            near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    return 2;
}
