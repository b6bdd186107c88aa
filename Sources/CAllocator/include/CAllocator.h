#ifndef HYGIE_CALLOCATOR_H
#define HYGIE_CALLOCATOR_H

/// glibc's allocator settings (`mallopt`, which Swift's Glibc module does not export).

/// Large blocks from the heap, not mapped one by one, up to `mapped_from` bytes; freed memory
/// kept by the process up to `trimmed_from` bytes per arena. Returns 1 when both were taken,
/// 0 otherwise (and 1, doing nothing, off glibc).
int hygie_allocator_keep_large_blocks(int mapped_from, int trimmed_from);

#endif
