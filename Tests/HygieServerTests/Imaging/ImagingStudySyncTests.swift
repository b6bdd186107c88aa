import Core
import DICOM
import FHIR
import FHIRStore
import Foundation
import HygieServer
import Imaging
import Testing

/// The ImagingStudy follows the DICOM index: rewritten by one writer per study however many
/// batches store into it at once, left behind only when a store defers it, and caught up by
/// the sweep.
@Suite struct ImagingStudySyncTests {
    static func instance(patient: String, study: String, series: String, number: Int) -> [UInt8] {
        var dataSet = DataSet()
        dataSet.set(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.2")
        dataSet.set(.sopInstanceUID, .UI, "\(series).\(number)")
        dataSet.set(.studyInstanceUID, .UI, study)
        dataSet.set(.seriesInstanceUID, .UI, series)
        dataSet.set(.patientID, .LO, patient)
        dataSet.set(.modality, .CS, "CT")
        dataSet.set(.instanceNumber, .IS, String(number))
        return DICOMFile(meta: DICOMFile.makeMeta(for: dataSet, syntax: .explicitVRLittleEndian), dataSet: dataSet, transferSyntax: .explicitVRLittleEndian)
            .serialized()
    }

    static func instances(in study: String, _ platform: Platform, _ tenant: TenantID) async throws -> Int? {
        guard let stored = try? await platform.fhir.read("ImagingStudy", study, as: .system(tenant)), !stored.isDeleted else { return nil }
        return try stored.json()["numberOfInstances"]?.numberValue?.intValue
    }

    @Test func concurrentBatchesIntoOneStudyAllLandAndTheStudyCountsThemAll() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let patient = try #require(try await platform.fhir.create(
                ["resourceType": "Patient", "name": [["family": "Sync"]]], type: "Patient", as: .system(tenant)).resource).id
            let study = "1.2.826.0.1.3680043.10.1452.99.1"
            try await withThrowingTaskGroup { group in
                for batch in 0..<4 {
                    group.addTask {
                        let files = (1...5).map { Self.instance(patient: patient, study: study, series: "\(study).\(batch)", number: $0) }
                        let result = await platform.imaging.store(files, target: StoreTarget(caller: .system(tenant)))
                        #expect(result.failed.isEmpty, "\(result.failed.map(\.message))")
                    }
                }
                try await group.waitForAll()
            }
            // The rewrites the batches scheduled, or the sweep, bring the study up to date.
            _ = try await platform.imaging.syncStaleStudies()
            #expect(try await Self.instances(in: study, platform, tenant) == 20)
            // Let the scheduled rewrites run (they find nothing owed) before the store closes.
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    @Test func aDeferredRewriteIsCaughtUpByTheSweepAndADeleteRemovesTheStudy() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let patient = try #require(try await platform.fhir.create(
                ["resourceType": "Patient", "name": [["family": "Sweep"]]], type: "Patient", as: .system(tenant)).resource).id
            let study = "1.2.826.0.1.3680043.10.1452.99.2"
            let files = (1...3).map { Self.instance(patient: patient, study: study, series: "\(study).1", number: $0) }
            let result = await platform.imaging.store(files, target: StoreTarget(caller: .system(tenant), deferred: true))
            #expect(result.stored.count == 3)
            #expect(try await Self.instances(in: study, platform, tenant) == nil)
            #expect(try await platform.imaging.syncStaleStudies() == 1)
            #expect(try await Self.instances(in: study, platform, tenant) == 3)
            #expect(try await platform.imaging.syncStaleStudies() == 0)
            try await platform.imaging.delete(study: study, caller: .system(tenant))
            #expect(try await Self.instances(in: study, platform, tenant) == nil)
        }
    }
}
