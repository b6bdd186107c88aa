import Core
import Foundation
import NIOPosix

/// Where large immutable values live (DICOM files, documents): a key/value store of bytes.
/// Keys are relative paths made of safe characters (`patients/{id}/studies/{uid}/…`).
public protocol BlobStore: Sendable {
    func put(_ key: String, _ bytes: [UInt8]) async throws
    /// Writes like `put`, and calls `whenReadable` once a reader of `key` would get all of
    /// `bytes`, which may be before they are flushed to the disk; `put` still returns only once
    /// they are. An index may then commit a row naming the blob while the flush runs (see
    /// ImagingService's unflushed instances). Not called when the write fails before that.
    func put(_ key: String, _ bytes: [UInt8], whenReadable: @escaping @Sendable () -> Void) async throws
    /// Makes the blob under `key` durable if it may not be yet (a local file's flush); stores
    /// whose writes are durable when `put` returns do nothing.
    func flush(_ key: String) async throws
    /// The bytes under `key`; throws `BlobStoreError.notFound` when absent.
    func get(_ key: String) async throws -> [UInt8]
    func delete(_ key: String) async throws
    func exists(_ key: String) async throws -> Bool
    /// Whether a write ends in a time this machine bounds (a local disk's fsync), so that a
    /// database transaction may wait for it while it runs its own statements. A network
    /// store's writes are awaited before any transaction begins.
    var writesAreBounded: Bool { get }
}

extension BlobStore {
    public var writesAreBounded: Bool { false }

    public func put(_ key: String, _ bytes: [UInt8], whenReadable: @escaping @Sendable () -> Void) async throws {
        try await put(key, bytes)
        whenReadable()
    }

    public func flush(_ key: String) async throws {}
}

public enum BlobStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    case invalidKey(String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .notFound(let key): "no blob \(key)"
        case .invalidKey(let key): "\(key) is not a valid blob key"
        case .corrupt(let key): "blob \(key) cannot be opened: wrong key or altered bytes"
        }
    }
}

/// What a blob key may be, whatever the store: a relative path of letters, digits, `.`, `-`,
/// `_` and `/`, with no empty, `.` or `..` segment.
public enum BlobKey {
    public static func isValid(_ key: String) -> Bool {
        // One pass over the bytes (every blob read and write checks its key): each segment
        // between slashes is non-empty, is not "." or "..", and uses the allowed bytes.
        var segmentLength = 0
        var segmentIsDots = true
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "/"):
                guard segmentLength > 0, !(segmentIsDots && segmentLength <= 2) else { return false }
                segmentLength = 0
                segmentIsDots = true
                continue
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                segmentIsDots = false
            case UInt8(ascii: "."):
                break
            default:
                return false
            }
            segmentLength += 1
        }
        return segmentLength > 0 && !(segmentIsDots && segmentLength <= 2)
    }
}

/// Blobs as files under a directory (the embedded mode, DESIGN §1). Writes go to a temporary
/// file renamed into place, so a reader never sees half a blob; file I/O runs on a thread pool
/// of its own, never on an event loop, and never queued behind the CPU work other services
/// send to NIO's shared pool (password hashing: a burst of sign-ins must not delay images).
public struct DirectoryBlobStore: BlobStore {
    public let root: String
    let pool: NIOThreadPool

    /// Threads for file I/O, which mostly waits on the disk (fsync): more than the cores.
    public static let filePool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()

    public var writesAreBounded: Bool { true }

    public init(root: String, pool: NIOThreadPool = DirectoryBlobStore.filePool) {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
        self.pool = pool
    }

    func path(_ key: String) throws -> String {
        guard BlobKey.isValid(key) else { throw BlobStoreError.invalidKey(key) }
        return root + "/" + key
    }

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        try await put(key, bytes, whenReadable: {})
    }

    public func put(_ key: String, _ bytes: [UInt8], whenReadable: @escaping @Sendable () -> Void) async throws {
        let path = try path(key)
        try await pool.runIfActive {
            // A new key's blob is written under its own name, then flushed; it is readable whole
            // once written, before the flush. Until an index names it, nobody reads it (a crash
            // leaves at most bytes no index names, replaced by the key's next put). Flushing a
            // file just created also flushes its name, and the directories just made for it:
            // ext4 syncs such new parents itself when it has no journal, and with one (or on
            // XFS, Btrfs) the name is in the log the flush commits. One flush per blob, as many
            // as Orthanc does, instead of three.
            let directory = (path as NSString).deletingLastPathComponent
            var descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if descriptor < 0 && errno == ENOENT {
                try Self.makeDirectories(directory)
                descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            }
            if descriptor >= 0 {
                defer { close(descriptor) }
                guard Self.writeAll(bytes, to: descriptor) else {
                    unlink(path)
                    throw CocoaError(.fileWriteUnknown)
                }
                whenReadable()
                guard fsync(descriptor) == 0 else {
                    unlink(path)
                    throw CocoaError(.fileWriteUnknown)
                }
                return
            }
            guard errno == EEXIST else { throw CocoaError(.fileWriteUnknown) }
            // A key that has a blob already: the new bytes take its name at once, through a
            // flushed temporary file renamed over it, and the name is flushed in its directory.
            let temporary = path + ".tmp-" + UUID().uuidString
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown) }
            let flushed = Self.writeAll(bytes, to: descriptor) && fsync(descriptor) == 0
            close(descriptor)
            guard flushed, rename(temporary, path) == 0 else {
                unlink(temporary)
                throw CocoaError(.fileWriteUnknown)
            }
            whenReadable()
            guard Self.flushDirectory(directory) else { throw CocoaError(.fileWriteUnknown) }
        }
    }

    public func flush(_ key: String) async throws {
        let path = try path(key)
        try await pool.runIfActive {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw errno == ENOENT ? BlobStoreError.notFound(key) : CocoaError(.fileReadUnknown) }
            defer { close(descriptor) }
            guard fsync(descriptor) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
    }

    /// Writes all of `bytes` to `descriptor`.
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        var written = 0
        return bytes.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return false }
                written += count
            }
            return true
        }
    }

    /// Makes `directory` and its missing ancestors (one made by a concurrent writer meanwhile
    /// is fine).
    static func makeDirectories(_ directory: String) throws {
        var missing: [String] = []
        var probe = directory
        var status = stat()
        while stat(probe, &status) != 0 {
            guard errno == ENOENT else { throw CocoaError(.fileWriteUnknown) }
            missing.append(probe)
            let parent = (probe as NSString).deletingLastPathComponent
            guard parent != probe, !parent.isEmpty else { break }
            probe = parent
        }
        for made in missing.reversed() where mkdir(made, 0o700) != 0 && errno != EEXIST {
            throw CocoaError(.fileWriteUnknown)
        }
    }

    static func flushDirectory(_ path: String) -> Bool {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return fsync(descriptor) == 0
    }

    public func get(_ key: String) async throws -> [UInt8] {
        let path = try path(key)
        return try await pool.runIfActive {
            try Self.contents(of: path, key: key)
        }
    }

    /// The whole file, read straight into the array returned (no intermediate copy: DICOM
    /// files are read whole for every retrieve).
    static func contents(of path: String, key: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw errno == ENOENT ? BlobStoreError.notFound(key) : CocoaError(.fileReadUnknown)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw CocoaError(.fileReadUnknown) }
        return [UInt8](unsafeUninitializedCapacity: Int(status.st_size)) { buffer, count in
            count = 0
            while count < buffer.count {
                let got = read(descriptor, buffer.baseAddress! + count, buffer.count - count)
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else { break }
                count += got
            }
        }
    }

    public func delete(_ key: String) async throws {
        let path = try path(key)
        try await pool.runIfActive {
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        }
    }

    public func exists(_ key: String) async throws -> Bool {
        let path = try path(key)
        return try await pool.runIfActive { FileManager.default.fileExists(atPath: path) }
    }
}

/// Seals every blob with the tenant's active data key (AES-256-GCM, DESIGN §6) before it
/// reaches the inner store, binding it to its key so that a file moved to another key fails to
/// open. Layout: "HYB1", key id length (1 byte), key id, sealed box.
public struct EncryptedBlobStore: BlobStore {
    let inner: any BlobStore
    let keyRing: KeyRing
    let tenant: TenantID

    public init(inner: any BlobStore, keyRing: KeyRing, tenant: TenantID) {
        self.inner = inner
        self.keyRing = keyRing
        self.tenant = tenant
    }

    static let magic: [UInt8] = Array("HYB1".utf8)

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        try await put(key, bytes, whenReadable: {})
    }

    public func put(_ key: String, _ bytes: [UInt8], whenReadable: @escaping @Sendable () -> Void) async throws {
        let dataKey = try await keyRing.activeKey(for: tenant)
        let sealed = try dataKey.seal(bytes, context: Array(key.utf8))
        let keyID = Array(dataKey.id.utf8)
        var output = Self.magic
        output.reserveCapacity(5 + keyID.count + sealed.count)
        output.append(UInt8(keyID.count))
        output += keyID
        output += sealed
        try await inner.put(key, output, whenReadable: whenReadable)
    }

    public func get(_ key: String) async throws -> [UInt8] {
        let stored = try await inner.get(key)
        guard stored.count > 5, Array(stored.prefix(4)) == Self.magic else { throw BlobStoreError.corrupt(key) }
        let idLength = Int(stored[4])
        guard stored.count > 5 + idLength else { throw BlobStoreError.corrupt(key) }
        let keyID = String(decoding: stored[5..<(5 + idLength)], as: UTF8.self)
        let dataKey = try await keyRing.key(id: keyID)
        do {
            return [UInt8](try dataKey.open(stored[(5 + idLength)...], context: Array(key.utf8)))
        } catch {
            throw BlobStoreError.corrupt(key)
        }
    }

    public func flush(_ key: String) async throws { try await inner.flush(key) }
    public func delete(_ key: String) async throws { try await inner.delete(key) }
    public func exists(_ key: String) async throws -> Bool { try await inner.exists(key) }
    public var writesAreBounded: Bool { inner.writesAreBounded }
}
