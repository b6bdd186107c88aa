import Core
import DICOM
import FHIRStore
import Foundation
import HygieServer
import Imaging
import Synchronization
import Testing

/// Frames asked for again (a viewer scrolling or playing a series) come from the cache, not
/// from the file; a change to the study drops them.
@Suite struct FrameCacheTests {
    static func instance(study: String, pixels: [UInt8]) -> [UInt8] {
        dicomInstance(study: study, patientID: "P-FRAMES", sopClass: "1.2.840.10008.5.1.4.1.1.7") { dataSet in
            dataSet.set(.samplesPerPixel, .US, integers: [1])
            dataSet.set(Tag(0x0028, 0x0004), .CS, "MONOCHROME2")
            dataSet.set(Tag(0x0028, 0x0008), .IS, "2")
            dataSet.set(.rows, .US, integers: [2])
            dataSet.set(.columns, .US, integers: [2])
            dataSet.set(.bitsAllocated, .US, integers: [8])
            dataSet.set(.bitsStored, .US, integers: [8])
            dataSet.set(Tag(0x0028, 0x0102), .US, integers: [7])
            dataSet.set(Tag(0x0028, 0x0103), .US, integers: [0])
            dataSet[.pixelData] = DataElement(tag: .pixelData, vr: .OB, value: .bytes(pixels))
        }
    }

    @Test func framesAskedForAgainAreNotReadFromTheFileAgain() async throws {
        try await StoreDurabilityTests.withSlowArchive(delay: .zero) { _, tenant, imaging, blobs in
            let system = Caller.system(tenant)
            let study = "1.2.826.0.1.3680043.10.1452.96.1"
            #expect(await imaging.store([Self.instance(study: study, pixels: Array(0..<8))], target: StoreTarget(caller: system)).failed.isEmpty)
            func frames(_ numbers: [Int]) async throws -> [[UInt8]] {
                let location = try #require(try await imaging.locate(study: study, sop: "\(study).1.1", caller: system).first)
                return try await imaging.frames(location, numbers: numbers, asStored: false, tenant: tenant)
            }
            let readsBefore = blobs.reads.withLock { $0 }
            #expect(try await frames([1, 2]) == [[0, 1, 2, 3], [4, 5, 6, 7]])
            #expect(try await frames([2]) == [[4, 5, 6, 7]])
            #expect(try await frames([2, 1]) == [[4, 5, 6, 7], [0, 1, 2, 3]])
            #expect(blobs.reads.withLock { $0 } == readsBefore + 1)
            // Deleted and stored again with other pixels: the cached frames went with the study.
            try await imaging.delete(study: study, caller: system)
            #expect(await imaging.store([Self.instance(study: study, pixels: Array(10..<18))], target: StoreTarget(caller: system)).failed.isEmpty)
            #expect(try await frames([1]) == [[10, 11, 12, 13]])
            #expect(blobs.reads.withLock { $0 } == readsBefore + 2)
        }
    }
}
