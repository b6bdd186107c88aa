import Core
import DICOM
import FHIR
import FHIRStore
import Foundation
import HygieServer
import Imaging
import Logging
import SQLKit
import Storage
import Synchronization
import Testing

/// A blob store whose writes take their time, notice what the index already says when they
/// finish, and refuse the keys they are told to.
final class SlowBlobStore: BlobStore {
    let objects = Mutex<[String: [UInt8]]>([:])
    let refused = Mutex<Set<String>>([])
    /// For each finished write: was its instance already in the index?
    let indexedWhenWritten = Mutex<[Bool]>([])
    let delay: Duration
    let isIndexed: @Sendable (String) async -> Bool
    /// A local disk (the index transaction waits for its writes while running its statements)
    /// or a network store (its writes are awaited before the transaction).
    let writesAreBounded: Bool

    init(delay: Duration, bounded: Bool = false, isIndexed: @escaping @Sendable (String) async -> Bool) {
        self.delay = delay
        self.writesAreBounded = bounded
        self.isIndexed = isIndexed
    }

    func put(_ key: String, _ bytes: [UInt8]) async throws {
        try await Task.sleep(for: delay)
        if refused.withLock({ $0.contains(key) }) { throw Refused() }
        let indexed = await isIndexed(key)
        indexedWhenWritten.withLock { $0.append(indexed) }
        objects.withLock { $0[key] = bytes }
    }
    struct Refused: Error {}

    /// Reads made (`get`).
    let reads = Mutex(0)

    func get(_ key: String) async throws -> [UInt8] {
        reads.withLock { $0 += 1 }
        guard let bytes = objects.withLock({ $0[key] }) else { throw BlobStoreError.notFound(key) }
        return bytes
    }
    /// Keys deleted, in order.
    let deletes = Mutex<[String]>([])

    func delete(_ key: String) async throws {
        deletes.withLock { $0.append(key) }
        _ = objects.withLock { $0.removeValue(forKey: key) }
    }
    func exists(_ key: String) async throws -> Bool { objects.withLock { $0[key] != nil } }
}

/// Blob writes to a local disk run alongside the index statements, a network store's before
/// the transaction (issue 5, ingest): either way the index commits only once every file it
/// names is stored, and a file that cannot be written fails its instance alone.
@Suite struct StoreDurabilityTests {
    /// Runs `body` with an archive whose blob writes take `delay`, in a fresh platform.
    static func withSlowArchive(
        delay: Duration, bounded: Bool = false, _ body: @escaping @Sendable (Platform, TenantID, ImagingService, SlowBlobStore) async throws -> Void
    ) async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let database = platform.fhir.database
            let blobs = SlowBlobStore(delay: delay, bounded: bounded) { key in
                let count = try? await database.read { database in
                    try await database.raw("SELECT COUNT(*) AS n FROM dicom_instances WHERE blob_key = \(bind: key)").first()?.decode(column: "n", as: Int.self)
                }
                return (count ?? 0) > 0
            }
            let imaging = ImagingService(
                fhir: platform.fhir, blobs: blobs, keyRing: platform.keyRing, clock: SystemWallClock(), ids: UUIDv7Generator(clock: SystemWallClock()),
                logger: Logger(label: "test"))
            try await body(platform, configuration.defaultTenant, imaging, blobs)
            try await Task.sleep(for: .milliseconds(300))  // the scheduled ImagingStudy rewrites, before the store closes
        }
    }

    static func indexed(_ sops: [String], _ platform: Platform) async throws -> [String] {
        try await platform.fhir.database.read { database in
            try await database.raw("SELECT sop_uid FROM dicom_instances WHERE sop_uid IN (\(binds: sops)) ORDER BY sop_uid").all()
                .map { try $0.decode(column: "sop_uid", as: String.self) }
        }
    }

    /// `count` instances of a fresh series no patient matches, the store refusing the file of
    /// instance number `refused`.
    static func series(_ tag: Int, of count: Int, refusing refused: Int, _ blobs: SlowBlobStore) -> (study: String, series: String, files: [[UInt8]]) {
        let study = "1.2.826.0.1.3680043.10.1452.97.\(tag)"
        let series = "\(study).1"
        let files = (1...count).map { ImagingStudySyncTests.instance(patient: "P-DURABLE", study: study, series: series, number: $0) }
        blobs.refused.withLock { $0 = ["patients/unmatched/studies/\(study)/series/\(series)/\(series).\(refused).dcm"] }
        return (study, series, files)
    }

    @Test(arguments: [false, true]) func theIndexCommitsOnlyOnceEveryFileItNamesIsWritten(bounded: Bool) async throws {
        try await Self.withSlowArchive(delay: .milliseconds(150), bounded: bounded) { platform, tenant, imaging, blobs in
            let study = "1.2.826.0.1.3680043.10.1452.97.1"
            let files = (1...3).map { ImagingStudySyncTests.instance(patient: "P-DURABLE", study: study, series: "\(study).1", number: $0) }
            for deferred in [false, true] {
                let result = await imaging.store(deferred ? [files[2]] : Array(files[0...1]), target: StoreTarget(caller: .system(tenant), deferred: deferred))
                #expect(result.failed.isEmpty, "\(result.failed.map(\.message))")
            }
            #expect(blobs.indexedWhenWritten.withLock { $0 } == [false, false, false], "no row was visible before its file was written")
            #expect(blobs.objects.withLock { $0.count } == 3)
            let indexed = try await Self.indexed((1...3).map { "\(study).1.\($0)" }, platform)
            #expect(indexed.count == 3)
        }
    }

    @Test(arguments: [false, true]) func aFileThatCannotBeWrittenFailsItsInstanceAlone(bounded: Bool) async throws {
        try await Self.withSlowArchive(delay: .milliseconds(20), bounded: bounded) { platform, tenant, imaging, blobs in
            let (study, series, files) = Self.series(2, of: 3, refusing: 2, blobs)
            let result = await imaging.store(files, target: StoreTarget(caller: .system(tenant)))
            #expect(result.stored.map(\.sopInstance).sorted() == ["\(series).1", "\(series).3"])
            #expect(result.failed.map(\.sopInstance) == ["\(series).2"])
            #expect(result.failed.map(\.reason) == [FailedInstance.processingFailure])
            #expect(try await Self.indexed(files.indices.map { "\(series).\($0 + 1)" }, platform) == ["\(series).1", "\(series).3"])
            let counted = try await platform.fhir.database.read { database in
                try await database.raw("SELECT instance_count FROM dicom_studies WHERE study_uid = \(bind: study)").first()?.decode(column: "instance_count", as: Int.self)
            }
            #expect(counted == 2)
            // Sent again once the store takes it, it is stored.
            blobs.refused.withLock { $0 = [] }
            #expect(await imaging.store([files[1]], target: StoreTarget(caller: .system(tenant))).failed.isEmpty)
            #expect(try await Self.indexed(["\(series).2"], platform) == ["\(series).2"])
        }
    }

    /// A deleted instance sent again: on a local disk its old file is removed before the new
    /// one is written (created under its name, one flush, not renamed over the old one);
    /// a network store just writes.
    @Test(arguments: [false, true]) func aDeletedInstanceStoredAgainReplacesItsFile(bounded: Bool) async throws {
        try await Self.withSlowArchive(delay: .zero, bounded: bounded) { platform, tenant, imaging, blobs in
            let system = Caller.system(tenant)
            let study = "1.2.826.0.1.3680043.10.1452.97.9"
            let file = ImagingStudySyncTests.instance(patient: "P-AGAIN", study: study, series: "\(study).1", number: 1)
            #expect(await imaging.store([file], target: StoreTarget(caller: system)).failed.isEmpty)
            let key = try #require(try await imaging.locate(study: study, caller: system).first?.blobKey)
            try await imaging.delete(study: study, caller: system)
            #expect(blobs.deletes.withLock { $0 }.isEmpty, "deleting keeps the file")
            #expect(await imaging.store([file], target: StoreTarget(caller: system)).failed.isEmpty)
            #expect(blobs.deletes.withLock { $0 } == (bounded ? [key] : []))
            let location = try #require(try await imaging.locate(study: study, caller: system).first)
            #expect(try await imaging.file(location) == file)
        }
    }

    @Test func whatAnAssociationOwesIsDoneInTheBackgroundOnceItEnds() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let patient = try #require(try await platform.fhir.create(
                ["resourceType": "Patient", "name": [["family": "Fin"]]], type: "Patient", as: .system(tenant)).resource).id
            let studies = (1...3).map { "1.2.826.0.1.3680043.10.1452.97.3.\($0)" }
            var batch = platform.imaging.startBatch(StoreTarget(caller: .system(tenant), deferred: true))
            for study in studies {
                #expect(await batch.storeOne(ImagingStudySyncTests.instance(patient: patient, study: study, series: "\(study).1", number: 1)).failed.isEmpty)
            }
            for study in studies { #expect(try await ImagingStudySyncTests.instances(in: study, platform, tenant) == nil) }
            await platform.imaging.finishLater(Set(studies), tenant: tenant)
            await platform.imaging.deferredWorkDone()
            for study in studies { #expect(try await ImagingStudySyncTests.instances(in: study, platform, tenant) == 1) }
            #expect(try await platform.imaging.syncStaleStudies() == 0, "nothing left for the sweep")
        }
    }

    /// Holds the index row of `study` in a write transaction for `duration` (SQLite's writer
    /// with it): stores into the study wait meanwhile, and those arriving behind the first are
    /// indexed together once it lets go.
    static func holding(_ study: String, for duration: Duration, _ platform: Platform) async throws -> Task<Void, any Error> {
        let held = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await platform.fhir.database.transaction { database in
                try await database.raw("UPDATE dicom_studies SET updated_at = updated_at WHERE study_uid = \(bind: study)").run()
                held.continuation.yield()
                try await Task.sleep(for: duration)
            }
        }
        for await _ in held.stream { break }
        return holder
    }

    /// Stores `made` (the study's row) as the system, then, while the study is held, `leader`
    /// and 150 ms later `followers` as a modality's associations: the followers arrive while
    /// the leader waits and are indexed together. The results, the leader's first.
    static func storeBehindAHeldStudy(
        _ study: String, _ made: [UInt8], leader: [UInt8], followers: [[UInt8]], _ platform: Platform, _ imaging: ImagingService, _ tenant: TenantID
    ) async throws -> [StoreResult] {
        #expect(await imaging.store([made], target: StoreTarget(caller: .system(tenant), deferred: true)).failed.isEmpty)
        let agent = AuditAgent(account: "modality", who: nil, role: "modality", address: "127.0.0.1")
        let target = StoreTarget(caller: Caller(tenant: tenant, read: .everything, write: .everything, agent: agent), deferred: true)
        let holder = try await holding(study, for: .milliseconds(500), platform)
        let first = Task { var batch = imaging.startBatch(target); return await batch.storeOne(leader) }
        try await Task.sleep(for: .milliseconds(150))
        let others = followers.map { file in Task { var batch = imaging.startBatch(target); return await batch.storeOne(file) } }
        try await holder.value
        var results: [StoreResult] = []
        for task in [first] + others { results.append(await task.value) }
        return results
    }

    static func owed(_ study: String, _ platform: Platform) async throws -> (counted: Int?, owed: Int?) {
        try await platform.fhir.database.read { database in
            let counted = try await database.raw("SELECT instance_count FROM dicom_studies WHERE study_uid = \(bind: study)").first()?.decode(column: "instance_count", as: Int.self)
            let owed = try await database.raw("SELECT SUM(instances) AS n FROM dicom_audit_pending WHERE study_uid = \(bind: study)").first()?.decode(column: "n", as: Int.self)
            return (counted, owed)
        }
    }

    /// Associations storing at the same time share one index transaction, and a file that
    /// cannot be written fails only its own C-STORE: before the transaction (network store), or
    /// inside it (local disk), where the group fails and each store is indexed alone.
    @Test(arguments: [false, true]) func associationsStoringAtOnceAreIndexedTogetherAndFailAlone(bounded: Bool) async throws {
        try await Self.withSlowArchive(delay: .milliseconds(100), bounded: bounded) { platform, tenant, imaging, blobs in
            let (study, series, files) = Self.series(4, of: 6, refusing: 4, blobs)
            // The others are indexed together, but for the one whose file is refused.
            let results = try await Self.storeBehindAHeldStudy(study, files[0], leader: files[1], followers: Array(files[2...]), platform, imaging, tenant)
            #expect(results.flatMap(\.failed).map(\.sopInstance) == ["\(series).4"])
            #expect(try await Self.indexed(files.indices.map { "\(series).\($0 + 1)" }, platform) == [1, 2, 3, 5, 6].map { "\(series).\($0)" })
            let (counted, owed) = try await Self.owed(study, platform)
            #expect(counted == 5)
            #expect(owed == 4, "one audit record owed for the four instances the modality stored")
        }
    }

    /// Two associations sending the same instance at once land in one group; PostgreSQL
    /// refuses a statement that upserts one row twice, so the group fails and each store is
    /// indexed alone: both succeed and the instance is indexed once.
    @Test func aGroupThatFailsIsIndexedStoreByStore() async throws {
        try await Self.withSlowArchive(delay: .milliseconds(100)) { platform, tenant, imaging, blobs in
            let (study, series, files) = Self.series(5, of: 3, refusing: 0, blobs)
            let results = try await Self.storeBehindAHeldStudy(study, files[0], leader: files[1], followers: [files[2], files[2]], platform, imaging, tenant)
            for failed in results.map(\.failed) {
                #expect(failed.isEmpty, "\(failed.map(\.message))")
            }
            #expect(try await Self.indexed(files.indices.map { "\(series).\($0 + 1)" }, platform) == (1...3).map { "\(series).\($0)" })
            let (counted, owed) = try await Self.owed(study, platform)
            #expect(counted == 3)
            #expect(owed == 3)
        }
    }

    /// A file still being written to a network store holds no index row: its write finishes
    /// before the index transaction begins, so other writers (to the same study, or any writer
    /// on SQLite) do not wait for the network.
    @Test func aSlowFileWriteHoldsNoIndexRow() async throws {
        try await Self.withSlowArchive(delay: .seconds(3)) { platform, tenant, imaging, blobs in
            let (study, series, files) = Self.series(6, of: 2, refusing: 0, blobs)
            #expect(await imaging.store([files[0]], target: StoreTarget(caller: .system(tenant), deferred: true)).failed.isEmpty)
            let second = Task { await imaging.store([files[1]], target: StoreTarget(caller: .system(tenant))) }
            try await Task.sleep(for: .milliseconds(500))
            try await platform.fhir.database.transaction { database in
                try await database.raw("UPDATE dicom_studies SET updated_at = updated_at WHERE study_uid = \(bind: study)").run()
            }
            let writtenMeanwhile = blobs.objects.withLock { $0.keys.contains { $0.hasSuffix("\(series).2.dcm") } }
            #expect(!writtenMeanwhile, "the study's row was free while its second file was being written")
            #expect(await second.value.failed.isEmpty)
        }
    }

    /// A store in someone's name (a STOW-RS request) leaves its "Instances Transferred" record
    /// owed in the index transaction; it is written shortly after, once per study and agent for
    /// the stores of that moment, and nothing stays owed.
    @Test func aStoreInSomeonesNameIsAuditedShortlyAfterOncePerStudy() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let patient = try #require(try await platform.fhir.create(
                ["resourceType": "Patient", "name": [["family": "Trace"]]], type: "Patient", as: .system(tenant)).resource).id
            let agent = AuditAgent(account: "dr.trace", who: nil, role: "physician", address: "127.0.0.1")
            let caller = Caller(tenant: tenant, read: .everything, write: .everything, agent: agent)
            let study = "1.2.826.0.1.3680043.10.1452.97.5"
            for number in 1...2 {
                let file = ImagingStudySyncTests.instance(patient: patient, study: study, series: "\(study).1", number: number)
                #expect(await platform.imaging.store([file], target: StoreTarget(caller: caller)).failed.isEmpty)
            }
            func transferred() async throws -> [JSON] {
                try await platform.fhir.searchAll("AuditEvent", [("type", "110104")], tenant: tenant).map { try $0.json() }
                    .filter { $0["entity"]?.arrayValue?.contains { $0["what"]?["reference"]?.stringValue == "ImagingStudy/\(study)" } ?? false }
            }
            func owed() async throws -> Int? {
                try await platform.fhir.database.read { database in
                    try await database.raw("SELECT COUNT(*) AS n FROM dicom_audit_pending").first()?.decode(column: "n", as: Int.self)
                }
            }
            // Settled 100 ms after each store, the two stores together or one after the other:
            // wait until nothing is owed (a minute at most: the whole suite at once on two cores
            // kept a settle waiting for more than 300 ms).
            for _ in 0..<600 where try await owed() != 0 {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await owed() == 0)
            let records = try await transferred()
            #expect(!records.isEmpty)
            let stored = records.compactMap { $0["outcomeDesc"]?.stringValue?.split(separator: " ").first.flatMap { Int($0) } }.reduce(0, +)
            #expect(stored == 2, "the records name both instances")
            for record in records {
                #expect(record["agent"]?.arrayValue?.first?["altId"]?.stringValue == "dr.trace")
                #expect(record["entity"]?.arrayValue?.contains { $0["what"]?["reference"]?.stringValue == "Patient/\(patient)" } == true)
            }
        }
    }

    /// Two settlers of the same owed record (a study's scheduled rewrite and an association's
    /// finisher, or the sweep) audit its instances once between them.
    @Test func anOwedRecordSettledTwiceAtOnceIsWrittenOnce() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let agent = AuditAgent(account: "modality", who: nil, role: "modality", address: "127.0.0.1")
            let target = StoreTarget(caller: Caller(tenant: tenant, read: .everything, write: .everything, agent: agent), deferred: true)
            let study = "1.2.826.0.1.3680043.10.1452.97.6"
            var batch = platform.imaging.startBatch(target)
            for number in 1...2 {
                #expect(await batch.storeOne(ImagingStudySyncTests.instance(patient: "P-TWICE", study: study, series: "\(study).1", number: number)).failed.isEmpty)
            }
            async let first: Void = platform.imaging.finishDeferred([study], tenant: tenant)
            async let second: Void = platform.imaging.finishDeferred([study], tenant: tenant)
            _ = await (first, second)
            let records = try await platform.fhir.searchAll("AuditEvent", [("type", "110104")], tenant: tenant).map { try $0.json() }
                .filter { $0["entity"]?.arrayValue?.contains { $0["what"]?["reference"]?.stringValue == "ImagingStudy/\(study)" } ?? false }
            let audited = records.compactMap { $0["outcomeDesc"]?.stringValue?.split(separator: " ").first.flatMap { Int($0) } }.reduce(0, +)
            #expect(audited == 2, "\(records.count) record(s)")
        }
    }
}
