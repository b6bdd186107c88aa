import Core
import FHIRStore
import Foundation
import HygieServer
import Imaging
import Logging
import SQLKit
import Storage
import Synchronization
import Testing

/// A local disk's way of writing: a blob reads whole at once, and its flush lasts until the
/// index shows the blob's instance committed and marked unflushed, or a minute (the whole suite
/// on PostgreSQL, every test at once on two cores, has kept a commit waiting more than five
/// seconds). As each flush ends it notes what the index said then, and it fails the flushes of
/// the keys it is told to, leaving no file (as the directory store does).
final class FlushingBlobStore: BlobStore {
    let objects = Mutex<[String: [UInt8]]>([:])
    let failing = Mutex<Set<String>>([])
    /// For each flush, as it ended: "indexed" or "absent", then "marked" or "unmarked".
    let seenAtFlush = Mutex<[String]>([])
    let probe: @Sendable (String) async -> String
    var writesAreBounded: Bool { true }

    init(probe: @escaping @Sendable (String) async -> String) {
        self.probe = probe
    }

    func put(_ key: String, _ bytes: [UInt8]) async throws { try await put(key, bytes, whenReadable: {}) }

    func put(_ key: String, _ bytes: [UInt8], whenReadable: @escaping @Sendable () -> Void) async throws {
        objects.withLock { $0[key] = bytes }
        whenReadable()
        let deadline = ContinuousClock.now + .seconds(60)
        var seen = await probe(key)
        while seen != "indexed marked", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
            seen = await probe(key)
        }
        seenAtFlush.withLock { $0.append(seen) }
        if failing.withLock({ $0.contains(key) }) {
            objects.withLock { $0[key] = nil }
            throw Unflushable()
        }
    }
    struct Unflushable: Error {}

    func get(_ key: String) async throws -> [UInt8] {
        guard let bytes = objects.withLock({ $0[key] }) else { throw BlobStoreError.notFound(key) }
        return bytes
    }
    func delete(_ key: String) async throws { _ = objects.withLock { $0.removeValue(forKey: key) } }
    func exists(_ key: String) async throws -> Bool { objects.withLock { $0[key] != nil } }
}

/// On a local disk the index commits while the files it names are still being flushed (issue 5,
/// ingest): the answer waits for both, a file that cannot be flushed has its instance dropped
/// again, and a restart checks the files of the instances still marked unflushed.
@Suite struct UnflushedTests {
    static func instances(study: String, count: Int) -> (series: String, files: [[UInt8]]) {
        let series = "\(study).1"
        return (series, (1...count).map { ImagingStudySyncTests.instance(patient: "P-FLUSH", study: study, series: series, number: $0) })
    }

    /// The live instances among `sops`, sorted.
    static func live(_ sops: [String], _ platform: Platform) async throws -> [String] {
        try await platform.fhir.database.read { database in
            try await database.raw("SELECT sop_uid FROM dicom_instances WHERE sop_uid IN (\(binds: sops)) AND deleted_at IS NULL ORDER BY sop_uid").all()
                .map { try $0.decode(column: "sop_uid", as: String.self) }
        }
    }

    static func marked(_ platform: Platform) async throws -> [String] {
        try await platform.fhir.database.read { database in
            try await database.raw("SELECT sop_uid FROM dicom_unflushed ORDER BY sop_uid").all().map { try $0.decode(column: "sop_uid", as: String.self) }
        }
    }

    static func counts(_ study: String, _ platform: Platform) async throws -> [Int] {
        try await platform.fhir.database.read { database in
            let series = try await database.raw("SELECT instance_count FROM dicom_series WHERE series_uid = \(bind: "\(study).1")").first()?
                .decode(column: "instance_count", as: Int.self)
            let study = try await database.raw("SELECT instance_count FROM dicom_studies WHERE study_uid = \(bind: study)").first()?
                .decode(column: "instance_count", as: Int.self)
            return [series ?? -1, study ?? -1]
        }
    }

    static func withFlushingArchive(
        _ body: @escaping @Sendable (Platform, TenantID, ImagingService, FlushingBlobStore) async throws -> Void
    ) async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let database = platform.fhir.database
            let blobs = FlushingBlobStore { key in
                let seen = try? await database.read { database in
                    let indexed = try await database.raw(
                        "SELECT COUNT(*) AS n FROM dicom_instances WHERE blob_key = \(bind: key) AND deleted_at IS NULL"
                    ).first()?.decode(column: "n", as: Int.self)
                    let marked = try await database.raw(
                        """
                        SELECT COUNT(*) AS n FROM dicom_unflushed u JOIN dicom_instances i ON i.tenant_id = u.tenant_id AND i.sop_uid = u.sop_uid
                        WHERE i.blob_key = \(bind: key)
                        """
                    ).first()?.decode(column: "n", as: Int.self)
                    return "\(indexed == 1 ? "indexed" : "absent") \(marked == 1 ? "marked" : "unmarked")"
                }
                return seen ?? "unreadable"
            }
            let imaging = ImagingService(
                fhir: platform.fhir, blobs: blobs, keyRing: platform.keyRing, clock: SystemWallClock(), ids: UUIDv7Generator(clock: SystemWallClock()),
                logger: Logger(label: "test"))
            try await body(platform, configuration.defaultTenant, imaging, blobs)
            try await Task.sleep(for: .milliseconds(300))  // the scheduled ImagingStudy rewrites, before the store closes
        }
    }

    @Test func theIndexCommitsWhileTheFileIsFlushedAndTheAnswerWaitsForTheFlush() async throws {
        try await Self.withFlushingArchive { platform, tenant, imaging, blobs in
            let study = "1.2.826.0.1.3680043.10.1452.98.1"
            let (series, files) = Self.instances(study: study, count: 3)
            for deferred in [false, true] {
                #expect(await imaging.store([files[deferred ? 1 : 0]], target: StoreTarget(caller: .system(tenant), deferred: deferred)).failed.isEmpty)
            }
            #expect(blobs.seenAtFlush.withLock { $0 } == ["indexed marked", "indexed marked"], "each answer came after its flush, which saw its row committed")
            let marks = try await Self.marked(platform)
            #expect(marks == ["\(series).2"], "the first mark went with the second store's transaction")
            let recovery = try await imaging.recoverUnflushed(before: .max)
            #expect(recovery == ImagingService.UnflushedRecovery(cleared: 0, dropped: 0))
            let marksAfterCheck = try await Self.marked(platform)
            #expect(marksAfterCheck.isEmpty, "a flushed file's mark goes without a check")
            // An association's C-STOREs, one by one.
            var batch = imaging.startBatch(StoreTarget(caller: .system(tenant), deferred: true))
            #expect(await batch.storeOne(files[2]).failed.isEmpty)
            #expect(blobs.seenAtFlush.withLock { $0.count } == 3)
            let stored = try await Self.live(files.indices.map { "\(series).\($0 + 1)" }, platform)
            #expect(stored.count == 3)
        }
    }

    @Test func aFileThatCannotBeFlushedHasItsInstanceDroppedAgain() async throws {
        try await Self.withFlushingArchive { platform, tenant, imaging, blobs in
            let study = "1.2.826.0.1.3680043.10.1452.98.2"
            let (series, files) = Self.instances(study: study, count: 2)
            let unflushable = "patients/unmatched/studies/\(study)/series/\(series)/\(series).2.dcm"
            blobs.failing.withLock { $0 = [unflushable] }
            let result = await imaging.store(files, target: StoreTarget(caller: .system(tenant)))
            #expect(result.stored.map(\.sopInstance) == ["\(series).1"])
            #expect(result.failed.map(\.sopInstance) == ["\(series).2"])
            #expect(result.failed.map(\.reason) == [FailedInstance.processingFailure])
            #expect(blobs.seenAtFlush.withLock { $0 } == ["indexed marked", "indexed marked"], "both rows had committed")
            let liveAfter = try await Self.live(["\(series).1", "\(series).2"], platform)
            #expect(liveAfter == ["\(series).1"])
            let countsAfter = try await Self.counts(study, platform)
            #expect(countsAfter == [1, 1])
            let marksLeft = try await Self.marked(platform)
            #expect(marksLeft == ["\(series).1"], "the dropped instance's mark went with it")
            // Sent again once the disk takes it, it is stored.
            blobs.failing.withLock { $0 = [] }
            #expect(await imaging.store([files[1]], target: StoreTarget(caller: .system(tenant))).failed.isEmpty)
            let liveAgain = try await Self.live(["\(series).1", "\(series).2"], platform)
            #expect(liveAgain == ["\(series).1", "\(series).2"])
            let countsAgain = try await Self.counts(study, platform)
            #expect(countsAgain == [2, 2])
        }
    }

    /// An instance dropped after its commit is taken out of the "Instances Transferred" record
    /// its sender's agent still owes: the record names what the archive kept.
    @Test func aDroppedInstanceIsNotCountedInTheAuditRecordItsAgentOwes() async throws {
        try await Self.withFlushingArchive { platform, tenant, imaging, blobs in
            let study = "1.2.826.0.1.3680043.10.1452.98.4"
            let (series, files) = Self.instances(study: study, count: 3)
            blobs.failing.withLock { $0 = ["patients/unmatched/studies/\(study)/series/\(series)/\(series).2.dcm"] }
            let agent = AuditAgent(account: "modality.ct1", who: nil, role: "radiotherapy-technologist", address: "127.0.0.1")
            let caller = Caller(tenant: tenant, read: .everything, write: .everything, agent: agent)
            // Deferred, as in an association: the record stays owed until the association ends.
            let result = await imaging.store(files, target: StoreTarget(caller: caller, deferred: true))
            #expect(result.failed.map(\.sopInstance) == ["\(series).2"])
            let owed = try await platform.fhir.database.read { database in
                try await database.raw("SELECT SUM(instances) AS n FROM dicom_audit_pending WHERE study_uid = \(bind: study)").first()?
                    .decode(column: "n", as: Int?.self)
            }
            #expect(owed == 2, "the two instances kept, not the three received")
        }
    }

    /// A power loss after the commits but before the files' flushes: the marks remain, and the
    /// restart's check drops the instances whose file is missing or altered, keeping the rest.
    @Test func aRestartDropsTheMarkedInstancesWhoseFileDidNotReachTheDisk() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let root = NSTemporaryDirectory() + "hygie-unflushed-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: root) }
            let blobs = EncryptedBlobStore(inner: DirectoryBlobStore(root: root), keyRing: platform.keyRing, tenant: tenant)
            let imaging = ImagingService(
                fhir: platform.fhir, blobs: blobs, keyRing: platform.keyRing, clock: SystemWallClock(), ids: UUIDv7Generator(clock: SystemWallClock()),
                logger: Logger(label: "test"))
            let study = "1.2.826.0.1.3680043.10.1452.98.3"
            let (series, files) = Self.instances(study: study, count: 3)
            #expect(await imaging.store(files, target: StoreTarget(caller: .system(tenant))).failed.isEmpty)
            _ = try await imaging.recoverUnflushed(before: .max)
            // As the power loss left them: every instance marked, one file garbled, one missing.
            let sops = (1...3).map { "\(series).\($0)" }
            try await platform.fhir.database.transaction { database in
                for (position, sop) in sops.enumerated() {
                    try await database.raw(
                        "INSERT INTO dicom_unflushed (tenant_id, sop_uid, token, created_at) VALUES (\(bind: tenant.rawValue), \(bind: sop), \(bind: Int64(position + 1)), 0)"
                    ).run()
                }
            }
            let directory = "\(root)/patients/unmatched/studies/\(study)/series/\(series)"
            let garbled = try #require(FileManager.default.contents(atPath: "\(directory)/\(sops[1]).dcm"))
            try Data(repeating: 0, count: garbled.count).write(to: URL(fileURLWithPath: "\(directory)/\(sops[1]).dcm"))
            try FileManager.default.removeItem(atPath: "\(directory)/\(sops[2]).dcm")

            let recovery = try await imaging.recoverUnflushed(before: .max)
            #expect(recovery == ImagingService.UnflushedRecovery(cleared: 1, dropped: 2))
            let kept = try await Self.live(sops, platform)
            #expect(kept == [sops[0]])
            let countsKept = try await Self.counts(study, platform)
            #expect(countsKept == [1, 1])
            let marksAfterCheck = try await Self.marked(platform)
            #expect(marksAfterCheck.isEmpty)
            // The sender, which had no answer for them, sends them again: they are stored.
            #expect(await imaging.store(Array(files[1...]), target: StoreTarget(caller: .system(tenant))).failed.isEmpty)
            let restored = try await Self.live(sops, platform)
            #expect(restored == sops)
            for location in try await imaging.locate(study: study, caller: .system(tenant)) {
                let bytes = try await imaging.file(location)
                #expect(bytes == files[sops.firstIndex(of: location.sop)!])
            }
            try await Task.sleep(for: .milliseconds(300))  // the scheduled ImagingStudy rewrites
        }
    }
}
