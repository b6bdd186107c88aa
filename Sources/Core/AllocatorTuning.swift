import CAllocator

/// The C allocator's settings for a server whose requests carry images. With glibc's defaults a
/// freed buffer of a few hundred kilobytes (a DICOM file, its pixel data, its sealed copy) goes
/// back to the kernel, and the next one is faulted in again page by page: a C-STORE of a
/// 512×512 image spent an eighth of its CPU in page faults once its work was spread over
/// several threads (each with its own allocator arena, each giving its memory back).
public enum AllocatorTuning {
    /// Blocks up to 32 MB come from the heap, and freed memory stays with the process up to
    /// 128 MB per arena. Returns whether the allocator took the settings.
    @discardableResult
    public static func keepLargeBlocks() -> Bool {
        hygie_allocator_keep_large_blocks(32 << 20, 128 << 20) == 1
    }
}
