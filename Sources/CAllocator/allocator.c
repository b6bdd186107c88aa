#include "CAllocator.h"
#include <stdlib.h>  /* defines __GLIBC__ on glibc */

#if defined(__GLIBC__)
#include <malloc.h>

int hygie_allocator_keep_large_blocks(int mapped_from, int trimmed_from) {
    return mallopt(M_MMAP_THRESHOLD, mapped_from) == 1 && mallopt(M_TRIM_THRESHOLD, trimmed_from) == 1;
}
#else
int hygie_allocator_keep_large_blocks(int mapped_from, int trimmed_from) {
    (void)mapped_from;
    (void)trimmed_from;
    return 1;
}
#endif
