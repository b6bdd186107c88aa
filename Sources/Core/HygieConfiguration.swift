import Logging

/// Everything a running Hygie needs to know about where it runs. Built by the command line
/// (every option also has an environment variable) and by tests, and handed to
/// `buildApplication` (STYLE habit 1: one way in).
public struct HygieConfiguration: Sendable {
    /// Address the HTTP server binds to; loopback unless configured otherwise (DESIGN §5).
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// Directory for the embedded database, blobs and the master key.
    public var dataDirectory: String = "./data"
    /// `postgres://user:password@host:port/database`; nil means the embedded SQLite database.
    public var databaseURL: String?
    /// PostgreSQL schema to work in (tests isolate themselves in one each); nil means the
    /// connection's default search path.
    public var databaseSchema: String?
    /// Path of the master key file; nil means `<dataDirectory>/master.key`.
    public var masterKeyFile: String?
    /// The base URL clients use to reach `/fhir` (for `Location`, `fullUrl` and paging links);
    /// nil means `http://<host>:<port>`.
    public var publicBaseURL: String?
    /// Largest request body accepted, in bytes; larger bodies are answered 413.
    public var maxRequestBodySize: Int = 16 * 1024 * 1024
    /// Connections kept open to the database.
    public var databasePoolSize: Int = 8
    /// Longest a single SQL statement may run on PostgreSQL, in seconds (0: no limit).
    public var queryTimeout: Int = 30
    /// Load the synthetic demonstration data set into an empty database at start.
    public var loadDemoData: Bool = false
    /// Demonstration accounts keep the default password without having to change it
    /// (`--demo-open`; never for real data).
    public var demoOpen: Bool = false
    /// Seconds between two runs of the job that keeps published slots `horizon_days` ahead
    /// (0: the job does not run; in-process tests, which do not live that long).
    public var slotHorizonInterval: Int = 3600
    public var logLevel: Logger.Level = .info
    /// API requests allowed per hour and account, and per hour and network address
    /// (0: no limit).
    public var rateLimitPerAccount: Int = 1000
    public var rateLimitPerAddress: Int = 1000
    /// SMTP relay for outgoing mail (password resets); nil: mail is not sent.
    public var smtpHost: String?
    public var smtpPort: Int = 25
    /// Sender address of outgoing mail.
    public var mailFrom: String = "no-reply@hygie.local"
    /// How long a break-the-glass grant lasts, in seconds.
    public var breakGlassDuration: Int = 4 * 3600
    /// Largest STOW-RS upload accepted, in bytes.
    public var dicomMaxUploadSize: Int = 2 << 30
    /// Browser origins allowed to call `/dicomweb` (an OHIF served elsewhere); "*" for any.
    public var dicomwebCORSOrigins: [String] = []
    /// A second copy of a stored SOP instance with different bytes replaces the first instead
    /// of being refused.
    public var dicomReplaceDuplicates: Bool = false
    /// A configured OHIF viewer (its `/viewer` URL) that viewer links open; nil: the built-in viewer.
    public var ohifViewerURL: String?
    /// How long a viewer session lasts (seconds), and how many an account may hold at once.
    public var viewerSessionLifetime: Int = 3600
    public var viewerSessionsPerAccount: Int = 5
    /// TCP port of the DIMSE service (C-ECHO/STORE/FIND/MOVE); nil: not listening.
    public var dicomPort: Int?
    /// Hygie's own application entity title.
    public var dicomAETitle: String = "HYGIE"
    /// The application entities allowed to associate, and the destinations of C-MOVE.
    public var dicomPeers: [DICOMPeer] = []
    /// An S3-compatible store for the blobs; nil: files under `<dataDirectory>/blobs`.
    public var s3: S3Settings?
    /// The tenant used for requests until the identity layer names one.
    public var defaultTenant: TenantID = .default

    public init() {}

    public var resolvedMasterKeyFile: String {
        masterKeyFile ?? "\(dataDirectory)/master.key"
    }

    public var resolvedBaseURL: String {
        let base = publicBaseURL ?? "http://\(host):\(port)"
        return base.hasSuffix("/") ? String(base.dropLast()) : base
    }
}

/// A DICOM application entity Hygie knows: a modality or another archive. It calls in as the
/// Hygie account `account` (role and hospital decide what it may store, find and move) and is
/// reached at `host`:`port` as a C-MOVE destination or an import source.
public struct DICOMPeer: Sendable, Codable, Equatable {
    public var aeTitle: String
    public var host: String
    public var port: Int
    /// Username of the service account the peer acts as.
    public var account: String

    public init(aeTitle: String, host: String, port: Int, account: String) {
        self.aeTitle = aeTitle
        self.host = host
        self.port = port
        self.account = account
    }
}

/// An S3-compatible object store holding the blobs instead of the data directory.
public struct S3Settings: Sendable, Equatable {
    /// `http(s)://host[:port]` of the store; objects are addressed path-style under it.
    public var endpoint: String
    public var bucket: String
    public var region: String
    public var accessKey: String
    public var secretKey: String
    /// Files published for direct download are stored with `x-amz-server-side-encryption`
    /// (they are the only objects Hygie does not seal itself).
    public var serverSideEncryption: Bool = true
    /// Seconds a presigned download URL stays valid.
    public var downloadLifetime: Int = 300

    public init(endpoint: String, bucket: String, region: String = "us-east-1", accessKey: String, secretKey: String) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self.accessKey = accessKey
        self.secretKey = secretKey
    }
}
