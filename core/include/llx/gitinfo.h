/* llx/gitinfo.h: the git state of the code a run was made with (libgit2).
 *
 * llx_gitinfo_read discovers the repository that holds a path (walking up its
 * folders, as `git` does) and records the HEAD commit, the branch, whether any
 * tracked file differs from HEAD (untracked files are ignored) and, when one
 * does, the full `git diff HEAD` of the tracked files as a patch. Outside a
 * git checkout every field is empty and `note` says so: that is not an error,
 * runs made from an unpacked tarball are recorded as such. */
#ifndef LLX_GITINFO_H
#define LLX_GITINFO_H

#include <stdbool.h>

#include "llx/status.h"

typedef struct llx_gitinfo {
    bool in_repo;     /* false outside a git checkout (every field below empty) */
    char commit[41];  /* 40 hex digits of HEAD; "" for a repository without commits */
    char branch[256]; /* short branch name; "" when HEAD is detached */
    bool dirty;       /* a tracked file differs from HEAD (index or work tree) */
    char *diff;       /* malloc'd `git diff HEAD` patch of the tracked files when dirty, else "" */
    char repo[4096];  /* the work tree's path (with a trailing '/') */
    char note[512];   /* "not a git checkout", or why git could not be read; "" otherwise */
} llx_gitinfo;

/* Fills g for the repository holding path (NULL: the current folder). Fails
 * only when memory runs out; anything git cannot tell lands in g->note. */
llx_status llx_gitinfo_read(const char *path, llx_gitinfo *g, llx_error *err);
void llx_gitinfo_free(llx_gitinfo *g);

#endif
