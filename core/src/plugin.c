/* plugin.c: loading layer plugins with dlopen.
 *
 * A plugin file is llx_<name>.so exporting llx_plugin_entry (llx/plugin.h).
 * Search order: the build's plugin folder, each folder of $LLX_PLUGIN_PATH,
 * then folders the experiment lists. Every failure names the path and the
 * reason (dlerror() text, the missing symbol, the ABI versions). */
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llx/plugin.h"

#ifndef LLX_BUILD_PLUGIN_DIR
#define LLX_BUILD_PLUGIN_DIR ""
#endif

typedef struct loaded {
    void *handle;
    char *path;
    const llx_plugin_info *info;
} loaded;

struct llx_plugins {
    loaded *items;
    size_t n, cap;
    /* Plugins refused after their register function ran: the registry may
     * point into them, so they stay mapped until llx_plugins_free. */
    void **kept;
    size_t n_kept, cap_kept;
};

llx_status llx_plugins_create(llx_plugins **out, llx_error *err)
{
    *out = calloc(1, sizeof **out);
    return *out ? LLX_OK : llx_errorf(err, LLX_ERR_NOMEM, "plugins: out of memory");
}

void llx_plugins_free(llx_plugins *p)
{
    if (!p) return;
    for (size_t i = p->n_kept; i-- > 0;) dlclose(p->kept[i]);
    for (size_t i = p->n; i-- > 0;) { /* the reverse of the load order */
        dlclose(p->items[i].handle);
        free(p->items[i].path);
    }
    free(p->kept);
    free(p->items);
    free(p);
}

size_t llx_plugins_count(const llx_plugins *p) { return p->n; }

const llx_plugin_info *llx_plugins_at(const llx_plugins *p, size_t i, const char **path)
{
    if (i >= p->n) return NULL;
    if (path) *path = p->items[i].path;
    return p->items[i].info;
}

static const loaded *find_loaded(const llx_plugins *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->items[i].info->name, name) == 0) return &p->items[i];
    return NULL;
}

/* Keeps a refused plugin's handle for llx_plugins_free (on no memory: leaves it mapped). */
static void keep_mapped(llx_plugins *p, void *h)
{
    if (p->n_kept == p->cap_kept) {
        size_t cap = p->cap_kept ? 2 * p->cap_kept : 4;
        void **kept = realloc(p->kept, cap * sizeof *kept);
        if (!kept) return;
        p->kept = kept;
        p->cap_kept = cap;
    }
    p->kept[p->n_kept++] = h;
}

/* A file named llx_x.so may hold a plugin named otherwise: also compare paths. */
static bool loaded_from(const llx_plugins *p, const char *path)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->items[i].path, path) == 0) return true;
    return false;
}

llx_status llx_plugin_load(llx_plugins *p, llx_registry *r, const char *path, llx_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return llx_errorf(err, LLX_ERR_PLUGIN, "plugin %s: no such file", path);
    /* dlopen searches the library path for a name without '/': make it a file name. */
    char local[4096];
    const char *file = path;
    if (!strchr(path, '/')) {
        snprintf(local, sizeof local, "./%s", path);
        file = local;
    }
    dlerror(); /* clear a stale message */
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h) return llx_errorf(err, LLX_ERR_PLUGIN, "plugin %s: cannot load: %s", path, dlerror());
    llx_plugin_entry_fn entry;
    *(void **)&entry = dlsym(h, LLX_PLUGIN_ENTRY_NAME);
    if (!entry) {
        dlclose(h);
        return llx_errorf(err, LLX_ERR_PLUGIN,
                          "plugin %s: no symbol '%s' (a plugin must end with LLX_PLUGIN(name, version, register))",
                          path, LLX_PLUGIN_ENTRY_NAME);
    }
    const llx_plugin_info *info = entry();
    const loaded *first = NULL;
    llx_status st = LLX_OK;
    bool registered = false; /* register_fn ran: the registry may point into the plugin */
    /* abi_version first: it is the one field every ABI puts first. */
    if (!info)
        st = llx_errorf(err, LLX_ERR_PLUGIN, "plugin %s: %s returned NULL", path, LLX_PLUGIN_ENTRY_NAME);
    else if (info->abi_version != LLX_ABI_VERSION)
        st = llx_errorf(err, LLX_ERR_PLUGIN,
                        "plugin %s ('%s' %s): built for llx plugin ABI %d, this llx has ABI %d: rebuild the plugin against this llx's headers",
                        path, info->name ? info->name : "?", info->version ? info->version : "?",
                        info->abi_version, LLX_ABI_VERSION);
    else if (!info->name || !info->version || !info->register_fn)
        st = llx_errorf(err, LLX_ERR_PLUGIN,
                        "plugin %s: %s returned no valid plugin info (name, version and register function are "
                        "required)",
                        path, LLX_PLUGIN_ENTRY_NAME);
    else if ((first = find_loaded(p, info->name)))
        st = llx_errorf(err, LLX_ERR_PLUGIN, "plugin %s: a plugin named '%s' is already loaded from %s", path,
                        info->name, first->path);
    else {
        registered = true;
        st = info->register_fn(r, err);
        if (st != LLX_OK) llx_error_prefix(err, "plugin %s ('%s')", path, info->name);
    }
    char *copy = NULL;
    if (st == LLX_OK && !(copy = strdup(path))) st = llx_errorf(err, LLX_ERR_NOMEM, "plugins: out of memory");
    if (st == LLX_OK && p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        loaded *items = realloc(p->items, cap * sizeof *items);
        if (!items) st = llx_errorf(err, LLX_ERR_NOMEM, "plugins: out of memory");
        else {
            p->items = items;
            p->cap = cap;
        }
    }
    if (st != LLX_OK) {
        free(copy);
        if (registered) keep_mapped(p, h);
        else dlclose(h); /* also drops the reference a second dlopen of a loaded file took */
        return st;
    }
    p->items[p->n++] = (loaded){h, copy, info};
    return LLX_OK;
}

/* Appends a copy of dir (skipped when out of memory). */
static void add_dir(char **dirs, int *n, int cap, const char *dir)
{
    if (*n < cap && (dirs[*n] = strdup(dir))) ++*n;
}

/* The search path: build folder, $LLX_PLUGIN_PATH, extra folders. Returns a count;
 * dirs[i] are malloc'd. */
static int search_dirs(const char *const *extra, int n_extra, char **dirs, int cap)
{
    int n = 0;
    if (LLX_BUILD_PLUGIN_DIR[0]) add_dir(dirs, &n, cap, LLX_BUILD_PLUGIN_DIR);
    const char *env = getenv("LLX_PLUGIN_PATH");
    char *copy = env && *env ? strdup(env) : NULL, *save = NULL;
    for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save))
        if (*d) add_dir(dirs, &n, cap, d);
    free(copy);
    for (int i = 0; i < n_extra; i++) add_dir(dirs, &n, cap, extra[i]);
    return n;
}

static void free_dirs(char **dirs, int n)
{
    for (int i = 0; i < n; i++) free(dirs[i]);
}

llx_status llx_plugin_load_by_name(llx_plugins *p, llx_registry *r, const char *name,
                                   const char *const *extra_dirs, int n_extra, llx_error *err)
{
    if (find_loaded(p, name)) return LLX_OK;
    char *dirs[64];
    int n = search_dirs(extra_dirs, n_extra, dirs, 64);
    char path[4096], searched[2048] = "";
    llx_status st = LLX_ERR_PLUGIN;
    bool found = false;
    for (int i = 0; i < n && !found; i++) {
        snprintf(path, sizeof path, "%s/llx_%s.so", dirs[i], name);
        struct stat sb;
        if (stat(path, &sb) == 0) {
            found = true;
            st = llx_plugin_load(p, r, path, err);
        }
        snprintf(searched + strlen(searched), sizeof searched - strlen(searched), "%s%s", i ? ":" : "", dirs[i]);
    }
    if (!found)
        llx_errorf(err, LLX_ERR_PLUGIN, "plugin '%s': no llx_%s.so in the search path (%s); set LLX_PLUGIN_PATH or list its folder under plugin_paths:",
                   name, name, n ? searched : "empty");
    free_dirs(dirs, n);
    return st;
}

static int is_plugin_file(const char *f)
{
    size_t len = strlen(f);
    return strncmp(f, "llx_", 4) == 0 && len > 7 && strcmp(f + len - 3, ".so") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

llx_status llx_plugins_load_all(llx_plugins *p, llx_registry *r, const char *const *extra_dirs,
                                int n_extra, llx_error *err)
{
    char *dirs[64];
    int n = search_dirs(extra_dirs, n_extra, dirs, 64);
    llx_status st = LLX_OK;
    for (int i = 0; i < n && st == LLX_OK; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d) continue;
        char *files[256];
        int n_files = 0;
        for (struct dirent *e; (e = readdir(d)) && n_files < 256;)
            if (is_plugin_file(e->d_name) && (files[n_files] = strdup(e->d_name))) n_files++;
        closedir(d);
        qsort(files, (size_t)n_files, sizeof files[0], cmp_str); /* a stable order */
        for (int f = 0; f < n_files; f++) {
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(strlen(files[f]) - 7), files[f] + 4);
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dirs[i], files[f]);
            if (st == LLX_OK && !find_loaded(p, name) && !loaded_from(p, path))
                st = llx_plugin_load(p, r, path, err);
            free(files[f]);
        }
    }
    free_dirs(dirs, n);
    return st;
}
