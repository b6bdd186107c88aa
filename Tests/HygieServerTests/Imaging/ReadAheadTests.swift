import Core
import FHIRStore
import Foundation
import HygieServer
import Imaging
import Storage
import Synchronization
import Testing

/// A series retrieve or a C-MOVE reads the next file while the current one is sent.
@Suite struct ReadAheadTests {
    @Test func theNextFileIsReadWhileTheCurrentIsSentAndAMissingOneFailsAlone() async throws {
        try await StoreDurabilityTests.withSlowArchive(delay: .zero) { _, tenant, imaging, blobs in
            let system = Caller.system(tenant)
            let study = "1.2.826.0.1.3680043.10.1452.95.1"
            let series = "\(study).1"
            let files = (1...4).map { ImagingStudySyncTests.instance(patient: "P-AHEAD", study: study, series: series, number: $0) }
            #expect(await imaging.store(files, target: StoreTarget(caller: system)).failed.isEmpty)
            let located = try await imaging.locate(study: study, series: series, caller: system)
            #expect(located.count == 4)
            let missing = try #require(located.first { $0.sop == "\(series).3" })
            _ = blobs.objects.withLock { $0.removeValue(forKey: missing.blobKey) }
            let readsBefore = blobs.reads.withLock { $0 }
            var readAhead: [Bool] = []
            var outcomes: [String: Bool] = [:]
            try await imaging.eachFile(located) { location, file in
                // While this one is handed over, the next one's read starts (given 5 s at most).
                let position = readAhead.count
                let wanted = readsBefore + min(position + 2, located.count)
                var ahead = false
                for _ in 0..<500 where !ahead {
                    ahead = blobs.reads.withLock { $0 } >= wanted
                    if !ahead { try await Task.sleep(for: .milliseconds(10)) }
                }
                readAhead.append(ahead)
                outcomes[location.sop] = (try? file.get()) != nil
            }
            #expect(readAhead == [true, true, true, true])
            #expect(outcomes == ["\(series).1": true, "\(series).2": true, "\(series).3": false, "\(series).4": true])
            #expect(blobs.reads.withLock { $0 } == readsBefore + 4, "each file read once")
        }
    }
}
