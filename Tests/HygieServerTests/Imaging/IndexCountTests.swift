import Core
import DICOM
import FHIRStore
import Foundation
import HygieServer
import Imaging
import Logging
import SQLKit
import Storage
import Testing

/// The index keeps each series' and study's instance count, which QIDO returns
/// (NumberOfSeriesRelatedInstances, NumberOfStudyRelatedInstances, ModalitiesInStudy): a store
/// adds what it brings instead of recounting the study, so each path that changes the live
/// instances must leave the counts equal to the rows (issue 5, archive).
@Suite struct IndexCountTests {
    static let study = "1.2.826.0.1.3680043.10.1452.98.1"
    static let other = "1.2.826.0.1.3680043.10.1452.98.2"

    static func instance(_ sop: String, study: String = study, series: String, modality: String = "CT", note: String = "") -> [UInt8] {
        var dataSet = DataSet()
        dataSet.set(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.2")
        dataSet.set(.sopInstanceUID, .UI, sop)
        dataSet.set(.studyInstanceUID, .UI, study)
        dataSet.set(.seriesInstanceUID, .UI, series)
        dataSet.set(.patientID, .LO, "P-COUNT")
        dataSet.set(.modality, .CS, modality)
        dataSet.set(.seriesDescription, .LO, note)
        return DICOMFile(meta: DICOMFile.makeMeta(for: dataSet, syntax: .explicitVRLittleEndian), dataSet: dataSet, transferSyntax: .explicitVRLittleEndian)
            .serialized()
    }

    /// What the index says of a study (instances, series, modalities) and of its series, after
    /// checking that every count equals the live rows.
    static func counts(_ study: String, _ database: any SQLStore) async throws -> (instances: Int, series: Int, modalities: String, perSeries: [String: Int]) {
        try await database.read { database in
            let perSeries = try await database.raw(
                """
                SELECT s.series_uid, s.instance_count,
                    (SELECT COUNT(*) FROM dicom_instances i WHERE i.tenant_id = s.tenant_id AND i.series_uid = s.series_uid AND i.deleted_at IS NULL) AS live
                FROM dicom_series s WHERE s.study_uid = \(bind: study) AND s.deleted_at IS NULL
                """
            ).all()
            var result: [String: Int] = [:]
            for row in perSeries {
                let uid = try row.decode(column: "series_uid", as: String.self)
                let counted = try row.decode(column: "instance_count", as: Int.self)
                let live = try row.decode(column: "live", as: Int.self)
                #expect(counted == live, "series \(uid)")
                result[uid] = counted
            }
            guard let row = try await database.raw(
                """
                SELECT instance_count, series_count, modalities,
                    (SELECT COUNT(*) FROM dicom_instances i WHERE i.study_uid = \(bind: study) AND i.deleted_at IS NULL) AS live
                FROM dicom_studies WHERE study_uid = \(bind: study) AND deleted_at IS NULL
                """
            ).first() else { return (0, 0, "", result) }
            let instances = try row.decode(column: "instance_count", as: Int.self)
            let live = try row.decode(column: "live", as: Int.self)
            let series = try row.decode(column: "series_count", as: Int.self)
            #expect(instances == live, "study \(study)")
            #expect(series == result.values.filter { $0 > 0 }.count)
            return (instances, series, try row.decode(column: "modalities", as: String.self), result)
        }
    }

    static func withArchive(_ body: @escaping @Sendable (ImagingService, Caller, any SQLStore) async throws -> Void) async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            var settings = ImagingConfiguration()
            settings.duplicates = .replace
            let imaging = ImagingService(
                fhir: platform.fhir, blobs: SlowBlobStore(delay: .zero, bounded: true) { _ in false }, keyRing: platform.keyRing, clock: SystemWallClock(),
                ids: UUIDv7Generator(clock: SystemWallClock()), configuration: settings, logger: Logger(label: "test"))
            try await body(imaging, .system(configuration.defaultTenant), platform.fhir.database)
            try await Task.sleep(for: .milliseconds(300))  // the scheduled ImagingStudy rewrites, before the store closes
        }
    }

    @Test func storesAndDeletesLeaveEveryCountEqualToTheRows() async throws {
        try await Self.withArchive { imaging, system, database in
            let a = "\(Self.study).1", b = "\(Self.study).2"
            func store(_ files: [[UInt8]]) async -> StoreResult { await imaging.store(files, target: StoreTarget(caller: system)) }
            #expect(await store((1...3).map { Self.instance("\(a).\($0)", series: a) }).failed.isEmpty)
            var counts = try await Self.counts(Self.study, database)
            #expect(counts.instances == 3 && counts.series == 1 && counts.perSeries == [a: 3] && counts.modalities == "CT")

            // The same bytes again, and an instance twice in one request: nothing more is counted.
            #expect(await store([Self.instance("\(a).1", series: a)]).failed.isEmpty)
            let twice = Self.instance("\(b).1", series: b, modality: "MR")
            let result = await store([twice, Self.instance("\(b).2", series: b, modality: "MR"), twice])
            #expect(result.failed.count == 1 && result.stored.count == 2)
            counts = try await Self.counts(Self.study, database)
            #expect(counts.instances == 5 && counts.series == 2 && counts.perSeries == [a: 3, b: 2] && counts.modalities == "CT\\MR")

            // An instance deleted, then sent again.
            try await imaging.delete(study: Self.study, series: a, sop: "\(a).2", caller: system)
            #expect(try await Self.counts(Self.study, database).perSeries == [a: 2, b: 2])
            #expect(await store([Self.instance("\(a).2", series: a)]).failed.isEmpty)
            #expect(try await Self.counts(Self.study, database).perSeries == [a: 3, b: 2])

            // A series deleted, then sent again.
            try await imaging.delete(study: Self.study, series: b, caller: system)
            counts = try await Self.counts(Self.study, database)
            #expect(counts.instances == 3 && counts.series == 1 && counts.perSeries == [a: 3] && counts.modalities == "CT")
            #expect(await store([Self.instance("\(b).1", series: b, modality: "MR")]).failed.isEmpty)
            counts = try await Self.counts(Self.study, database)
            #expect(counts.instances == 4 && counts.perSeries == [a: 3, b: 1] && counts.modalities == "CT\\MR")

            // Replaced by other content that names another series, then another study: it
            // leaves the first ones.
            #expect(await store([Self.instance("\(a).3", series: b, modality: "MR", note: "moved")]).failed.isEmpty)
            #expect(try await Self.counts(Self.study, database).perSeries == [a: 2, b: 2])
            let elsewhere = "\(Self.other).1"
            #expect(await store([Self.instance("\(a).3", study: Self.other, series: elsewhere, note: "moved again")]).failed.isEmpty)
            #expect(try await Self.counts(Self.study, database).perSeries == [a: 2, b: 1])
            #expect(try await Self.counts(Self.other, database).perSeries == [elsewhere: 1])

            // The whole study deleted, then sent again.
            try await imaging.delete(study: Self.study, caller: system)
            #expect(try await Self.counts(Self.study, database).instances == 0)
            #expect(await store([Self.instance("\(a).1", series: a)]).failed.isEmpty)
            counts = try await Self.counts(Self.study, database)
            #expect(counts.instances == 1 && counts.series == 1 && counts.perSeries == [a: 1] && counts.modalities == "CT")
        }
    }

    /// Two stores of the same new instance at once: each read it as absent before its
    /// transaction, and only the first transaction counts it.
    @Test func theSameInstanceStoredTwiceAtOnceCountsOnce() async throws {
        try await Self.withArchive { imaging, system, database in
            let a = "\(Self.study).1"
            for round in 1...5 {
                let file = Self.instance("\(a).\(round)", series: a)
                async let first = imaging.store([file], target: StoreTarget(caller: system))
                async let second = imaging.store([file], target: StoreTarget(caller: system))
                let results = await [first, second]
                #expect(results.allSatisfy { $0.failed.isEmpty })
                let counted = try await Self.counts(Self.study, database).perSeries
                #expect(counted == [a: round])
            }
        }
    }
}
