import Core
import Crypto
import FHIR
import Foundation
import SQLKit
import Storage
import Synchronization

/// Signs and verifies JSON Web Tokens with ES256 (RFC 7515 compact serialisation, RFC 7518
/// §3.4). Keys are generated on first start, stored sealed under the tenant's data key in
/// `signing_keys`, published as a JWKS (RFC 7517) and rotated on demand: the newest key
/// signs, every unretired key verifies.
public final class TokenSigner: Sendable {
    struct SigningKey: Sendable {
        let kid: String
        /// The private scalar; swift-crypto's key types are not Sendable, so the key is made
        /// from it when used.
        let raw: Data
        /// The public key (x ‖ y), kept so that verifying does not derive it again each time.
        let publicRaw: Data
        let createdAt: Int64

        var key: P256.Signing.PrivateKey {
            get throws { try P256.Signing.PrivateKey(rawRepresentation: raw) }
        }

        var publicKey: P256.Signing.PublicKey {
            get throws { try P256.Signing.PublicKey(rawRepresentation: publicRaw) }
        }
    }

    let store: any SQLStore
    let keyRing: KeyRing
    let clock: any WallClock
    let ids: any IDGenerator
    let tenant: TenantID
    private let keys = Mutex<[SigningKey]>([])
    /// The claims of tokens already verified, by the token's whole text (signature included):
    /// a client sends the same token with every request, and checking its ECDSA signature and
    /// parsing it again took about a tenth of the server's time serving frames. Emptied when
    /// the keys are loaded again and when full; the expiry is checked on every use.
    private let verified = Mutex<[String: JSON]>([:])
    static let verifiedCapacity = 4096

    public init(store: any SQLStore, keyRing: KeyRing, clock: any WallClock, ids: any IDGenerator, tenant: TenantID) {
        self.store = store
        self.keyRing = keyRing
        self.clock = clock
        self.ids = ids
        self.tenant = tenant
    }

    /// Loads the unretired keys, creating the first one on an empty database.
    public func load() async throws {
        var loaded = try await readKeys()
        if loaded.isEmpty {
            try await rotate()
            loaded = try await readKeys()
        }
        let sorted = loaded.sorted { $0.createdAt > $1.createdAt }
        keys.withLock { $0 = sorted }
        verified.withLock { $0.removeAll() }
    }

    /// Adds a new signing key; earlier ones keep verifying until retired.
    @discardableResult
    public func rotate() async throws -> String {
        let key = P256.Signing.PrivateKey()
        let kid = ids.makeID()
        let dataKey = try await keyRing.activeKey(for: tenant)
        let sealed = try dataKey.seal(key.rawRepresentation, context: Data("signing-key|\(kid)".utf8))
        let jwk = Self.publicJWK(key.publicKey, kid: kid).jsonText
        let now = Int64(clock.now().timeIntervalSince1970 * 1000)
        try await store.transaction { database in
            try await database.raw(
                """
                INSERT INTO signing_keys (kid, tenant_id, algorithm, public_jwk, key_id, sealed_key, created_at)
                VALUES (\(bind: kid), \(bind: tenant.rawValue), 'ES256', \(bind: jwk), \(bind: dataKey.id), \(bind: sealed), \(bind: now))
                """
            ).run()
        }
        if !keys.withLock({ $0.isEmpty }) { try await load() }
        return kid
    }

    func readKeys() async throws -> [SigningKey] {
        let rows = try await store.read { database in
            try await database.raw(
                "SELECT kid, key_id, sealed_key, created_at FROM signing_keys WHERE tenant_id = \(bind: tenant.rawValue) AND retired_at IS NULL"
            ).all()
        }
        var result: [SigningKey] = []
        for row in rows {
            let kid = try row.decode(column: "kid", as: String.self)
            let dataKey = try await keyRing.key(id: try row.decode(column: "key_id", as: String.self))
            let raw = try dataKey.open(try row.decode(column: "sealed_key", as: Data.self), context: Data("signing-key|\(kid)".utf8))
            result.append(
                SigningKey(kid: kid, raw: raw, publicRaw: try P256.Signing.PrivateKey(rawRepresentation: raw).publicKey.rawRepresentation, createdAt: try row.decode(column: "created_at", as: Int64.self)))
        }
        return result
    }

    /// The public keys as a JWK Set.
    public func jwks() -> JSON {
        let published = keys.withLock { $0 }.compactMap { key in (try? key.key).map { Self.publicJWK($0.publicKey, kid: key.kid) } }
        return ["keys": .array(published)]
    }

    static func publicJWK(_ key: P256.Signing.PublicKey, kid: String) -> JSON {
        let raw = key.rawRepresentation  // x || y, 32 bytes each
        return [
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": .string(kid),
            "x": .string(Base64URL.encode(raw.prefix(32))), "y": .string(Base64URL.encode(raw.suffix(32))),
        ]
    }

    /// A signed token carrying `claims`.
    public func sign(_ claims: JSON) throws -> String {
        guard let current = keys.withLock({ $0.first }) else { throw IdentityError(500, "no-signing-key", "No signing key is loaded.") }
        let header: JSON = ["alg": "ES256", "typ": "JWT", "kid": .string(current.kid)]
        let input = Base64URL.encode(Data(header.jsonText.utf8)) + "." + Base64URL.encode(Data(claims.jsonText.utf8))
        let signature = try current.key.signature(for: Data(input.utf8))
        return input + "." + Base64URL.encode(signature.rawRepresentation)
    }

    /// Like `verify`, but a token signed by a key this process has not loaded yet (rotated by
    /// `hygie rotate-signing-key`, or by another node) makes it reload the keys once.
    public func verifyReloading(_ token: String) async throws -> JSON? {
        if let claims = verify(token) { return claims }
        guard let header = token.split(separator: ".").first.flatMap({ Base64URL.decode($0) }),
            let kid = (try? JSONParser.parse(Array(header)))?["kid"]?.stringValue, !keys.withLock({ $0.contains { $0.kid == kid } })
        else { return nil }
        try await load()
        return verify(token)
    }

    /// The claims of a token whose signature verifies with one of the keys and which has not
    /// expired; nil otherwise.
    public func verify(_ token: String) -> JSON? {
        let now = clock.now().timeIntervalSince1970
        if let claims = verified.withLock({ $0[token] }) {
            guard let expiry = Self.expiry(claims), expiry > now else { return nil }
            return claims
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let header = try? JSONParser.parse(Array(headerBytes)),
            header["alg"]?.stringValue == "ES256", let kid = header["kid"]?.stringValue,
            let key = keys.withLock({ $0.first { $0.kid == kid } }),
            let signatureBytes = Base64URL.decode(parts[2]),
            let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureBytes),
            let publicKey = try? key.publicKey,
            publicKey.isValidSignature(signature, for: Data("\(parts[0]).\(parts[1])".utf8)),
            let payloadBytes = Base64URL.decode(parts[1]), let claims = try? JSONParser.parse(Array(payloadBytes))
        else { return nil }
        guard let expiry = Self.expiry(claims), expiry > now else { return nil }
        verified.withLock { known in
            if known.count >= Self.verifiedCapacity { known.removeAll(keepingCapacity: true) }
            known[token] = claims
        }
        return claims
    }

    static func expiry(_ claims: JSON) -> Double? { claims["exp"]?.numberValue?.doubleValue }
}

/// Base64url without padding (RFC 4648 §5), as JOSE uses it.
public enum Base64URL {
    // Byte by byte: Foundation's replacingOccurrences goes through NSString, which showed in
    // every request's profile (a token is decoded on each).
    public static func encode(_ data: some DataProtocol) -> String {
        var bytes = Array(Data(data).base64EncodedData())
        while bytes.last == UInt8(ascii: "=") { bytes.removeLast() }
        replace(in: &bytes, "+", with: "-", "/", with: "_")
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func decode(_ text: some StringProtocol) -> Data? {
        var bytes = Array(text.utf8)
        replace(in: &bytes, "-", with: "+", "_", with: "/")
        while bytes.count % 4 != 0 { bytes.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(bytes))
    }

    private static func replace(in bytes: inout [UInt8], _ first: Unicode.Scalar, with firstReplacement: Unicode.Scalar, _ second: Unicode.Scalar, with secondReplacement: Unicode.Scalar) {
        for index in bytes.indices {
            if bytes[index] == UInt8(ascii: first) {
                bytes[index] = UInt8(ascii: firstReplacement)
            } else if bytes[index] == UInt8(ascii: second) {
                bytes[index] = UInt8(ascii: secondReplacement)
            }
        }
    }
}
