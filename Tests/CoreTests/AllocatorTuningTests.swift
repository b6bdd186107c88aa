import Core
import Dispatch
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc

@Suite struct AllocatorTuningTests {
    /// Buffers the size of images, made and dropped on several threads as a store does, are
    /// reused instead of being faulted in again (glibc's defaults: some 400 000 page faults for
    /// this loop; kept: a few thousand). Faults are counted per thread: other tests run
    /// alongside in this process.
    @Test func largeBuffersFreedAreReusedWithoutPageFaults() {
        #expect(AllocatorTuning.keepLargeBlocks())
        /// Page faults of the calling thread while it makes and drops the buffers.
        @Sendable func churn() -> Int {
            func faults() -> Int {
                var usage = rusage()
                getrusage(1, &usage)  // RUSAGE_THREAD (Linux), which Glibc does not export
                return usage.ru_minflt
            }
            let before = faults()
            for _ in 0..<200 {
                var kept: [[UInt8]] = []
                for size in [65_536, 131_072, 262_144, 524_288, 1_048_576, 540_000, 530_000] {
                    kept.append([UInt8](repeating: 1, count: size))
                }
                #expect(kept.count == 7)
            }
            return faults() - before
        }
        _ = churn()
        let made = Mutex(churn())
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            let faults = churn()
            made.withLock { $0 += faults }
        }
        let total = made.withLock { $0 }
        #expect(total < 40_000, "\(total) page faults")
    }
}
#endif
