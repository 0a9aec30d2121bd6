/* main.c: `llx CMD ...`: dispatches to the commands. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"run", "train an experiment (every member of its sweep:), one run folder each",
     "usage: llx run EXP.yaml [--set NAME=VALUE]... [--out DIR] [--device auto|cpu|cuda] [--threads N]\n"
     "       llx run --resume RUN_DIR [--threads N] [--device D]\n"
     "  Trains the model: of EXP.yaml on its data: with its train: recipe, evaluates on the validation\n"
     "  split every epoch, keeps the best epoch by eval.select, and reports the test split at that epoch.\n"
     "  Each run (each combination of a sweep: section) gets its own folder under DIR (default results/)\n"
     "  with run.h5 (results/README.md), checkpoint_last.h5, checkpoint_best.h5, experiment.yaml and\n"
     "  history.csv, all written atomically after every epoch.\n"
     "  --resume RUN_DIR  continue a stopped or killed run from its last finished epoch; with the same\n"
     "                    thread count it ends with the weights of an uninterrupted run, bit for bit\n"
     "  --set NAME=VALUE  override a variable (attention=se) or a path (train.epochs=2)\n"
     "  --log-every N     plain progress lines every N batches when not on a terminal (default 50)\n",
     cmd_run},
    {"eval", "scores of a checkpoint on a split: accuracy, macro-F1, ABAW, per class, confusion",
     "usage: llx eval CKPT.h5 [--split val|test] [--set NAME=VALUE]... [--device D]\n"
     "  Rebuilds the network from the experiment stored in the checkpoint, loads its weights and\n"
     "  evaluates the split with the experiment's evaluation crops. --set changes the experiment\n"
     "  first (another dataset: --set data.test.root=/path).\n",
     cmd_eval},
    {"predict", "class probabilities of image files under a checkpoint",
     "usage: llx predict CKPT.h5 IMAGE... [--set NAME=VALUE]... [--device D]\n"
     "  Prints the predicted expression and the probability of each class for every JPEG or PNG,\n"
     "  prepared as the experiment prepares its validation images.\n",
     cmd_predict},
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
    {"bench", "training and inference images/s, peak memory and time per op of a network",
     "usage: llx bench EXP.yaml [--set NAME=VALUE]... [--batch N] [--steps N] [--warmup N] [--threads N]\n"
     "                 [--device auto|cpu|cuda] [--no-tf32] [--csv]\n"
     "  Builds the model: of EXP.yaml with the training batch (train.batch, or --batch) on random\n"
     "  data and reports the median over --steps (default 10, after --warmup 2) of a training step\n"
     "  (forward, backward, SGD with momentum) and of an inference pass, as images/s; the peak\n"
     "  memory (the process's RSS, and what llx allocated on the device, cuDNN scratch included);\n"
     "  and the time of a training step per op type.\n"
     "  --no-tf32  GPU: full fp32 math in convolutions and linear layers (default: TF32)\n"
     "  Mixed precision as in training: --set train.precision=bf16 (or fp16, with train.loss_scale)\n"
     "  --csv  one line instead: llx,<exp>,<batch>,<train img/s>,<infer img/s>,<peak MiB>, the peak\n"
     "         being llx's device memory on a GPU (as torch.cuda.max_memory_allocated), RSS on the CPU\n",
     cmd_bench},
    {"compare", "the ablation table of run folders: mean ± std over seeds, deltas, best marked",
     "usage: llx compare RUN... [--format table|markdown|csv|latex] [--baseline NAME=VALUE[,NAME=VALUE]]\n"
     "                   [--sort COLUMN] [--group | --runs] [--split auto|test|val] [--plot FILE.png]\n"
     "  RUN is a run folder (holds run.h5), a run.h5 file, or a folder of run folders (results/);\n"
     "  other files a shell glob brings in (README.md) are skipped. One row per configuration\n"
     "  (runs that differ only by seed: mean ± sample std over the seeds) when some runs share one,\n"
     "  else one row per run; --group / --runs force either. Columns: the varied variables\n"
     "  (attention first), n seeds, params (M), MACs (G), best epoch, accuracy, macro-F1 and ABAW\n"
     "  (0.67 F1 + 0.33 acc), per-class accuracy (neu ang dis fea hap sad sur), commit (8 hex, '*'\n"
     "  when the checkout was dirty). Scores are percentages from /test when every run has it,\n"
     "  else from /val_best (the title line says which; --split chooses).\n"
     "  Best value per score column: '*' after it (table), bold (markdown, latex), or listed in\n"
     "  the `best` column (csv, whose cells stay plain numbers; params and MACs are raw counts).\n"
     "  --baseline attention=none  adds Δ columns (points) against the row with that value that\n"
     "                             agrees on every other variable column\n"
     "  --sort COLUMN  accuracy, macro_f1, abaw, neu..sur (descending); params, macs, epoch, n,\n"
     "                 commit or a variable (ascending)\n"
     "  --plot FILE.png  also draws a bar chart of accuracy, macro-F1 and ABAW (std whiskers)\n"
     "  Rows keep the order of the run folders (the baseline's first); --sort reorders them.\n"
     "  Runs not in the table (running, failed, unreadable run.h5, no scores) are listed after it\n"
     "  with their state and the reason (csv: rows with state and note); exit status 1 only when\n"
     "  no run has scores.\n",
     cmd_compare},
    {"plot", "curves.png and confusion.png of a run folder",
     "usage: llx plot RUN_DIR... [--out DIR]\n"
     "  Draws the training curves (loss, accuracy and macro-F1, learning rate per epoch, best\n"
     "  epoch marked) and the confusion matrix of /test (else of the best validation epoch) into\n"
     "  the run folder (or DIR), and prints the paths.\n",
     cmd_plot},
};

static void print_help(void)
{
    printf("llx %s: attention ablations for facial expression recognition\n\n"
           "usage: llx COMMAND [ARGS]   (llx COMMAND --help for details)\n\ncommands:\n",
           LLX_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %-10s %s\n", commands[i].name, commands[i].summary);
}

/* OpenMP threads that spin while they wait take the cores from the loader threads
 * and from anything else running: on a busy 2-core machine llx bench measured 1.3
 * images/s with spinning and 51 with passive waiting (narrow ResNet, batch 16).
 * libgomp reads OMP_WAIT_POLICY once, before main, so when the
 * user has not chosen a policy llx sets PASSIVE and starts itself again. */
static void prefer_passive_openmp(char **argv)
{
    if (getenv("OMP_WAIT_POLICY")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv); /* returns only on failure: carry on as we are */
}

int main(int argc, char **argv)
{
    prefer_passive_openmp(argv);
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
