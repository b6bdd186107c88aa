import Core
import Crypto
import Foundation
import SQLKit
import Synchronization

/// Envelope encryption for data at rest (DESIGN §6): each tenant's rows are sealed with
/// AES-256-GCM under a data key; data keys are stored wrapped (sealed) by the master key,
/// which never enters the database. Every sealed value records the id of its data key, so a
/// new key can become active while older rows stay readable.
public final class KeyRing: Sendable {
    /// A data key ready to seal and open values.
    public struct DataKey: Sendable {
        public let id: String
        let sealed: ImmutableKey
        var key: SymmetricKey { sealed.key }

        init(id: String, key: SymmetricKey) {
            self.id = id
            self.sealed = ImmutableKey(key: key)
        }

        /// Seals `plaintext`, binding it to `context` (e.g. the row's identity) so that a
        /// sealed value copied to another row fails to open.
        public func seal(_ plaintext: some DataProtocol, context: some DataProtocol) throws -> Data {
            guard let combined = try AES.GCM.seal(plaintext, using: key, authenticating: context).combined else {
                throw KeyRingError.sealFailed
            }
            return combined
        }

        public func open(_ sealed: some DataProtocol, context: some DataProtocol) throws -> Data {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return try AES.GCM.open(box, using: key, authenticating: context)
        }
    }

    let store: any SQLStore
    private let masterKey: ImmutableKey
    var master: SymmetricKey { masterKey.key }
    let masterID: String
    let clock: any WallClock
    let idGenerator: any IDGenerator
    private let keys = Mutex<[String: DataKey]>([:])
    private let active = Mutex<[TenantID: String]>([:])

    /// Reads the master key file, creating it (32 random bytes, mode 0600) when absent.
    public static func loadOrCreateMasterKey(at path: String) throws -> SymmetricKey {
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            let attributes = try manager.attributesOfItem(atPath: path)
            if let permissions = attributes[.posixPermissions] as? NSNumber, permissions.intValue & 0o077 != 0 {
                throw KeyRingError.masterKeyExposed(path)
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard data.count == 32 else { throw KeyRingError.invalidMasterKey(path) }
            return SymmetricKey(data: data)
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let key = SymmetricKey(size: .bits256)
        let data = key.withUnsafeBytes { Data($0) }
        guard manager.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw KeyRingError.cannotWriteMasterKey(path)
        }
        return key
    }

    public init(store: any SQLStore, master: SymmetricKey, clock: any WallClock, idGenerator: any IDGenerator) {
        self.store = store
        self.masterKey = ImmutableKey(key: master)
        self.masterID = master.withUnsafeBytes { Hex.encode(Data(SHA256.hash(data: Data($0))).prefix(8)) }
        self.clock = clock
        self.idGenerator = idGenerator
    }

    /// 32 bytes derived from the master key for one purpose and tenant (HKDF-SHA256, RFC 5869):
    /// keys that must survive restarts without being stored, such as the seed of the key that
    /// signs pathway validations.
    public func derivedSecret(purpose: String, tenant: TenantID) -> Data {
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: master, info: Data("hygie|\(purpose)|\(tenant.rawValue)".utf8), outputByteCount: 32)
        return derived.withUnsafeBytes { Data($0) }
    }

    /// The key new values of `tenant` are sealed with; created on first use.
    public func activeKey(for tenant: TenantID) async throws -> DataKey {
        if let id = active.withLock({ $0[tenant] }), let key = keys.withLock({ $0[id] }) { return key }
        if let key = try await loadActive(for: tenant) { return key }
        return try await rotate(tenant: tenant)
    }

    /// The key a stored value names.
    public func key(id: String) async throws -> DataKey {
        if let key = keys.withLock({ $0[id] }) { return key }
        let row = try await store.read { database in
            try await database.raw("SELECT key_id, wrapped_key, master_key_id FROM data_keys WHERE key_id = \(bind: id)").first()
        }
        guard let row else { throw KeyRingError.unknownDataKey(id) }
        return try unwrap(row)
    }

    /// Makes a new data key the active one for `tenant`; older keys stay for reading.
    @discardableResult
    public func rotate(tenant: TenantID) async throws -> DataKey {
        let id = idGenerator.makeID()
        let dataKey = SymmetricKey(size: .bits256)
        let wrapped = try AES.GCM.seal(dataKey.withUnsafeBytes { Data($0) }, using: master, authenticating: Data(id.utf8)).combined!
        let now = Int64(clock.now().timeIntervalSince1970 * 1000)
        try await store.transaction { database in
            try await database.raw(
                "UPDATE data_keys SET retired_at = \(bind: now) WHERE tenant_id = \(bind: tenant.rawValue) AND retired_at IS NULL"
            ).run()
            try await database.raw(
                """
                INSERT INTO data_keys (key_id, tenant_id, wrapped_key, master_key_id, created_at)
                VALUES (\(bind: id), \(bind: tenant.rawValue), \(bind: wrapped), \(bind: masterID), \(bind: now))
                """
            ).run()
        }
        let key = DataKey(id: id, key: dataKey)
        keys.withLock { $0[id] = key }
        active.withLock { $0[tenant] = id }
        return key
    }

    func loadActive(for tenant: TenantID) async throws -> DataKey? {
        let row = try await store.read { database in
            try await database.raw(
                """
                SELECT key_id, wrapped_key, master_key_id FROM data_keys
                WHERE tenant_id = \(bind: tenant.rawValue) AND retired_at IS NULL ORDER BY created_at DESC
                """
            ).first()
        }
        guard let row else { return nil }
        let key = try unwrap(row)
        active.withLock { $0[tenant] = key.id }
        return key
    }

    func unwrap(_ row: any SQLRow) throws -> DataKey {
        let id = try row.decode(column: "key_id", as: String.self)
        let masterKeyID = try row.decode(column: "master_key_id", as: String.self)
        guard masterKeyID == masterID else { throw KeyRingError.wrongMasterKey }
        let wrapped = try row.decode(column: "wrapped_key", as: Data.self)
        let raw = try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped), using: master, authenticating: Data(id.utf8))
        let key = DataKey(id: id, key: SymmetricKey(data: raw))
        keys.withLock { $0[id] = key }
        return key
    }

    /// The `data_keys` table.
    public static let migration = Migration(
        id: 1, name: "data keys",
        up: { ddl in
            [
                """
                CREATE TABLE data_keys (
                    key_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, wrapped_key \(ddl.blob) NOT NULL,
                    master_key_id TEXT NOT NULL, created_at \(ddl.bigint) NOT NULL, retired_at \(ddl.bigint))
                """,
                "CREATE INDEX data_keys_tenant ON data_keys (tenant_id, retired_at)",
            ]
        },
        down: { _ in ["DROP TABLE data_keys"] })
}

public enum KeyRingError: Error, Sendable, CustomStringConvertible {
    case sealFailed
    case unknownDataKey(String)
    case wrongMasterKey
    case invalidMasterKey(String)
    case masterKeyExposed(String)
    case cannotWriteMasterKey(String)

    public var description: String {
        switch self {
        case .sealFailed: "encryption failed"
        case .unknownDataKey(let id): "no data key \(id) in the database"
        case .wrongMasterKey: "the master key does not match the one that wrapped this database's data keys"
        case .invalidMasterKey(let path): "\(path) is not a 32-byte master key"
        case .masterKeyExposed(let path): "\(path) is readable by other users; restrict it with chmod 600"
        case .cannotWriteMasterKey(let path): "cannot create the master key file \(path)"
        }
    }
}

/// SymmetricKey holds immutable key bytes but is not declared Sendable by swift-crypto 3.x;
/// nothing mutates it after creation, so sharing it across tasks is safe.
struct ImmutableKey: @unchecked Sendable {
    let key: SymmetricKey
}
