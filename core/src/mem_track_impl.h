/* mem_track_impl.h: the memory a backend holds, now and at most so far (llx_backend.memory).
 * Each backend records its allocations here (the CPU: every alloc; CUDA: every alloc and its
 * grow-only scratch), so that `llx bench` can print the peak next to PyTorch's
 * torch.cuda.max_memory_allocated. A handful of rows (arenas, workspace, optimiser state,
 * scratch): found by a linear search. */
#ifndef LLX_MEM_TRACK_IMPL_H
#define LLX_MEM_TRACK_IMPL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct llx_mem_row {
    const void *ptr;
    size_t bytes;
} llx_mem_row;

typedef struct llx_mem_track {
    llx_mem_row *rows;
    size_t n, cap;
    size_t in_use, peak; /* bytes */
} llx_mem_track;

/* Records `bytes` at ptr; false when the row cannot be stored (out of host memory). */
bool llx_mem_track_add(llx_mem_track *t, const void *ptr, size_t bytes);
/* Forgets ptr (nothing when it was not recorded). */
void llx_mem_track_remove(llx_mem_track *t, const void *ptr);
void llx_mem_track_free(llx_mem_track *t);

#endif
