import Core
import FHIR
import FHIRStore
import Foundation
import Identity
import Imaging
import Logging
import Mail
import Pathways
import Records
import Scheduling
import Storage

/// What a Hygie process injects rather than reaches for (STYLE habit 5): time and ids.
public struct HygieEnvironment: Sendable {
    public var clock: any WallClock
    public var ids: any IDGenerator
    /// Outgoing mail; nil means SMTP as configured (or nothing without `smtpHost`).
    public var mailer: (any Mailer)?

    public init(clock: any WallClock = SystemWallClock(), ids: (any IDGenerator)? = nil, mailer: (any Mailer)? = nil) {
        self.clock = clock
        self.ids = ids ?? UUIDv7Generator(clock: clock)
        self.mailer = mailer
    }

    func mailer(for configuration: HygieConfiguration) -> any Mailer {
        if let mailer { return mailer }
        guard let host = configuration.smtpHost, !host.isEmpty else { return UnconfiguredMailer() }
        return SMTPMailer(host: host, port: configuration.smtpPort, from: configuration.mailFrom)
    }
}

/// The platform every command stands on: the database (migrated), the key ring and the FHIR
/// store. `hygie serve`, the other commands and the tests all open it here.
public struct Platform: Sendable {
    public let store: any SQLStore
    public let keyRing: KeyRing
    public let fhir: FHIRStore
    public let identity: IdentityService
    public let scheduling: SchedulingService
    public let records: RecordsService
    public let imaging: ImagingService
    public let pathways: PathwaysService
    /// Hygie's DICOM application entity (DIMSE provider, C-MOVE sender, PACS imports).
    public let dicomNode: ArchiveNode

    /// Every migration, in order. Modules own their tables; ids are unique across them.
    public static let migrations: [Migration] = [KeyRing.migration] + FHIRStoreMigrations.all + IdentityMigrations.all + SchedulingMigrations.all
        + ImagingMigrations.all + PathwaysMigrations.all

    /// Opens the configured database, creating `./data` (and its blob directory) for the
    /// embedded one.
    public static func openDatabase(_ configuration: HygieConfiguration, logger: Logger) async throws -> any SQLStore {
        if let url = configuration.databaseURL, !url.isEmpty {
            return PostgresStore(
                url: try PostgresURL(url), schema: configuration.databaseSchema,
                maximumConnections: configuration.databasePoolSize, statementTimeout: configuration.queryTimeout, logger: logger)
        }
        let manager = FileManager.default
        try manager.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try manager.createDirectory(atPath: "\(configuration.dataDirectory)/blobs", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return try await SQLiteStore.open(
            path: "\(configuration.dataDirectory)/hygie.sqlite", readers: max(2, min(configuration.databasePoolSize, 8)),
            statementTimeout: configuration.queryTimeout, logger: logger)
    }

    /// The configured store of blobs (before Hygie's own encryption): the S3 bucket, checked
    /// reachable, or the data directory.
    static func openBlobStore(_ configuration: HygieConfiguration, clock: any WallClock) async throws -> any BlobStore {
        guard let s3 = configuration.s3 else { return DirectoryBlobStore(root: "\(configuration.dataDirectory)/blobs") }
        let store = try S3BlobStore(settings: s3, clock: clock)
        try await store.checkBucket()
        return store
    }

    public static func open(_ configuration: HygieConfiguration, environment: HygieEnvironment, logger: Logger) async throws -> Platform {
        let store = try await openDatabase(configuration, logger: logger)
        do {
            try await Migrator(store: store, migrations: migrations).migrate()
            let master = try KeyRing.loadOrCreateMasterKey(at: configuration.resolvedMasterKeyFile)
            let keyRing = KeyRing(store: store, master: master, clock: environment.clock, idGenerator: environment.ids)
            _ = try await keyRing.activeKey(for: configuration.defaultTenant)
            let fhir = try await FHIRStore.open(
                database: store, keyRing: keyRing, clock: environment.clock, ids: environment.ids,
                baseURL: configuration.resolvedBaseURL + "/fhir", logger: logger)
            let signer = TokenSigner(store: store, keyRing: keyRing, clock: environment.clock, ids: environment.ids, tenant: configuration.defaultTenant)
            try await signer.load()
            let identity = IdentityService(
                fhir: fhir, signer: signer, clock: environment.clock, ids: environment.ids, issuer: configuration.resolvedBaseURL,
                logger: logger)
            let scheduling = SchedulingService(fhir: fhir, clock: environment.clock, ids: environment.ids, logger: logger)
            let records = RecordsService(fhir: fhir, clock: environment.clock, ids: environment.ids, logger: logger)
            var imagingConfiguration = ImagingConfiguration()
            imagingConfiguration.duplicates = configuration.dicomReplaceDuplicates ? .replace : .reject
            imagingConfiguration.viewerSessionLifetime = configuration.viewerSessionLifetime
            imagingConfiguration.viewerSessionsPerAccount = configuration.viewerSessionsPerAccount
            let objects = try await openBlobStore(configuration, clock: environment.clock)
            if let s3 = configuration.s3 { imagingConfiguration.downloadLifetime = s3.downloadLifetime }
            let blobs = EncryptedBlobStore(inner: objects, keyRing: keyRing, tenant: configuration.defaultTenant)
            let imaging = ImagingService(
                fhir: fhir, blobs: blobs, downloads: objects as? any BlobDownloads, keyRing: keyRing, clock: environment.clock, ids: environment.ids, configuration: imagingConfiguration,
                logger: logger)
            let pathways = PathwaysService(fhir: fhir, keyRing: keyRing, clock: environment.clock, ids: environment.ids, logger: logger)
            let dicomNode = ArchiveNode(
                imaging: imaging, identity: identity, tenant: configuration.defaultTenant, aeTitle: configuration.dicomAETitle,
                peers: configuration.dicomPeers, logger: logger)
            return Platform(
                store: store, keyRing: keyRing, fhir: fhir, identity: identity, scheduling: scheduling, records: records, imaging: imaging,
                pathways: pathways, dicomNode: dicomNode)
        } catch {
            await store.close()
            throw error
        }
    }
}
