import Core
import DICOM
import FHIRStore
import Foundation
import Logging
import Storage
import Synchronization

/// What the archive does with a second copy of a SOP instance whose bytes differ from the
/// stored one (identical bytes are always accepted without a second copy).
public enum DuplicatePolicy: String, Sendable {
    /// Refuse it with status 0111 "Duplicate SOP instance" (the default).
    case reject
    /// Keep the new bytes in place of the old.
    case replace
}

public struct ImagingConfiguration: Sendable {
    public var duplicates: DuplicatePolicy = .reject
    /// Memory the cache of series metadata and rendered thumbnails may use.
    public var cacheBytes: Int = 64 << 20
    /// Largest single instance accepted.
    public var maximumInstanceSize: Int = 512 << 20
    /// How long a viewer session opens its study, in seconds.
    public var viewerSessionLifetime: Int = 3600
    /// Viewer sessions an account may hold at once; opening one more closes the oldest.
    public var viewerSessionsPerAccount: Int = 5
    /// How long after a store its study's ImagingStudy is rewritten (stores meanwhile share
    /// the rewrite).
    public var studySyncDelayMilliseconds: Int = 100
    /// Below this many studies in a tenant, searches test each candidate study against the
    /// caller's grant instead of listing the grant's patients (see `testsAccessPerRow`).
    public var perRowAccessBelow: Int = 500
    /// Seconds a published download (presigned URL) stays readable.
    public var downloadLifetime: Int = 300
    /// Largest study or series published as one download.
    public var maximumDownloadSize: Int = 1 << 30
    public init() {}
}

/// The DICOM archive (issue 5): stores instances (blob + index + ImagingStudy in one
/// transaction), answers queries and retrievals, deletes, all filtered by the caller's grants,
/// the same ones `/fhir` applies to ImagingStudy.
public final class ImagingService: Sendable {
    let fhir: FHIRStore
    let blobs: any BlobStore
    /// Where files are published for direct download (an S3-compatible store); nil: downloads
    /// go through Hygie only.
    let downloads: (any BlobDownloads)?
    let keyRing: KeyRing
    let clock: any WallClock
    let ids: any IDGenerator
    let configuration: ImagingConfiguration
    let logger: Logger
    let cache: ByteCache
    let accessAudit: AccessAuditWindow
    let studyLocks = StudyLocks()
    let syncQueue = StudySyncQueue()
    let finisher = DeferredFinisher()
    /// Each tenant's study count and when it was taken (milliseconds), for `testsAccessPerRow`.
    let studyCounts = Mutex<[TenantID: (count: Int, at: Int64)]>([:])
    /// Stores made at the same time (STOW-RS requests, C-STOREs of several associations),
    /// indexed together.
    let storeCommits = GroupCommit<StoreRows, Result<Void, any Error>>(maximumBatch: 64)
    /// Tokens of files flushed since their instance was marked unflushed, per tenant: their
    /// marks are deleted by the next index transaction (see ImagingService+Unflushed.swift).
    let flushedMarks = Mutex<[TenantID: Set<Int64>]>([:])

    public init(
        fhir: FHIRStore, blobs: any BlobStore, downloads: (any BlobDownloads)? = nil, keyRing: KeyRing, clock: any WallClock,
        ids: any IDGenerator, configuration: ImagingConfiguration = ImagingConfiguration(), logger: Logger
    ) {
        self.fhir = fhir
        self.blobs = blobs
        self.downloads = downloads
        self.keyRing = keyRing
        self.clock = clock
        self.ids = ids
        self.configuration = configuration
        self.logger = logger
        self.cache = ByteCache(capacity: configuration.cacheBytes)
        self.accessAudit = AccessAuditWindow(clock: clock)
    }

    var database: any SQLStore { fhir.database }
    public var maximumInstanceSize: Int { configuration.maximumInstanceSize }
    func now() -> Int64 { Int64(clock.now().timeIntervalSince1970 * 1000) }

    /// The resource type whose grants decide who sees which images.
    static let resourceType = "ImagingStudy"

    /// The blob key of an instance (issue 5's storage layout).
    static func blobKey(patient: String?, study: String, series: String, sop: String) -> String {
        "patients/\(patient ?? "unmatched")/studies/\(study)/series/\(series)/\(sop).dcm"
    }

    // MARK: Sealed metadata

    func seal(_ bytes: [UInt8], tenant: TenantID, sop: String) async throws -> [UInt8] {
        let key = try await keyRing.activeKey(for: tenant)
        let id = Array(key.id.utf8)
        return [UInt8(id.count)] + id + [UInt8](try key.seal(bytes, context: Array("dicom-metadata|\(tenant.rawValue)|\(sop)".utf8)))
    }

    func open(_ sealed: [UInt8], tenant: TenantID, sop: String) async throws -> [UInt8] {
        guard let length = sealed.first.map(Int.init), sealed.count > 1 + length else { throw BlobStoreError.corrupt("metadata of \(sop)") }
        let key = try await keyRing.key(id: String(decoding: sealed[1...length], as: UTF8.self))
        return [UInt8](try key.open(sealed[(1 + length)...], context: Array("dicom-metadata|\(tenant.rawValue)|\(sop)".utf8)))
    }
}
