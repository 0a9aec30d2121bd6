/* gitinfo.c: see llx/gitinfo.h. Every libgit2 call goes through GIT_CHECK,
 * which keeps the failing statement's text and libgit2's message in g->note. */
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llx/gitinfo.h"

#define GIT_CHECK(g, stmt)                                                                                   \
    do {                                                                                                     \
        if ((stmt) < 0) {                                                                                    \
            const git_error *e_ = git_error_last();                                                          \
            snprintf((g)->note, sizeof(g)->note, "git: %s: %s", #stmt, e_ ? e_->message : "failed");         \
            goto done;                                                                                       \
        }                                                                                                    \
    } while (0)

/* The HEAD commit, the branch and the diff of the tracked files. */
static void read_head(git_repository *repo, llx_gitinfo *g)
{
    git_reference *head = NULL;
    git_object *tree = NULL;
    git_diff *diff = NULL;
    git_buf patch = {0};
    int rc = git_repository_head(&head, repo);
    if (rc == GIT_EUNBORNBRANCH || rc == GIT_ENOTFOUND) {
        snprintf(g->note, sizeof g->note, "repository without commits");
        const char *unborn = NULL;
        git_reference *sym = NULL;
        if (git_reference_lookup(&sym, repo, "HEAD") == 0 && (unborn = git_reference_symbolic_target(sym)) &&
            strncmp(unborn, "refs/heads/", 11) == 0)
            snprintf(g->branch, sizeof g->branch, "%s", unborn + 11);
        git_reference_free(sym);
        goto done;
    }
    GIT_CHECK(g, rc);
    if (git_reference_is_branch(head))
        snprintf(g->branch, sizeof g->branch, "%s", git_reference_shorthand(head));
    const git_oid *id = git_reference_target(head);
    if (!id) goto done;
    git_oid_tostr(g->commit, sizeof g->commit, id);
    GIT_CHECK(g, git_revparse_single(&tree, repo, "HEAD^{tree}"));
    git_diff_options opt; /* untracked files are left out by default */
    GIT_CHECK(g, git_diff_options_init(&opt, GIT_DIFF_OPTIONS_VERSION));
    GIT_CHECK(g, git_diff_tree_to_workdir_with_index(&diff, repo, (git_tree *)tree, &opt));
    if (git_diff_num_deltas(diff) == 0) goto done;
    g->dirty = true;
    GIT_CHECK(g, git_diff_to_buf(&patch, diff, GIT_DIFF_FORMAT_PATCH));
    char *text = malloc(patch.size + 1);
    if (text) {
        memcpy(text, patch.ptr, patch.size);
        text[patch.size] = '\0';
        free(g->diff);
        g->diff = text;
    }
done:
    git_buf_dispose(&patch);
    git_diff_free(diff);
    git_object_free(tree);
    git_reference_free(head);
}

llx_status llx_gitinfo_read(const char *path, llx_gitinfo *g, llx_error *err)
{
    memset(g, 0, sizeof *g);
    g->diff = calloc(1, 1);
    if (!g->diff) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    git_libgit2_init();
    git_repository *repo = NULL;
    /* as git does, the search upwards stops at $GIT_CEILING_DIRECTORIES */
    int rc = git_repository_open_ext(&repo, path ? path : ".", 0, getenv("GIT_CEILING_DIRECTORIES"));
    if (rc == GIT_ENOTFOUND) {
        snprintf(g->note, sizeof g->note, "not a git checkout");
    } else if (rc < 0) {
        const git_error *e = git_error_last();
        snprintf(g->note, sizeof g->note, "git: cannot open the repository of %s: %s", path ? path : ".",
                 e ? e->message : "failed");
    } else if (git_repository_is_bare(repo)) {
        snprintf(g->note, sizeof g->note, "a bare repository (no work tree)");
    } else {
        g->in_repo = true;
        snprintf(g->repo, sizeof g->repo, "%s", git_repository_workdir(repo));
        read_head(repo, g);
    }
    git_repository_free(repo);
    git_libgit2_shutdown();
    return LLX_OK;
}

void llx_gitinfo_free(llx_gitinfo *g)
{
    if (!g) return;
    free(g->diff);
    g->diff = NULL;
}
