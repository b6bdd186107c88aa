import AsyncHTTPClient
import Core
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Blobs as objects of one bucket of an S3-compatible store (DESIGN §1, the scale mode), at
/// `{endpoint}/{bucket}/{key}` (path-style addressing, which every S3-compatible server
/// accepts). Requests are signed with Signature Version 4 and retried on connection errors and
/// 5xx answers; every operation is idempotent, so a retry never duplicates anything.
public struct S3BlobStore: BlobStore, BlobDownloads {
    let settings: S3Settings
    let signer: S3Signer
    let client: HTTPClient
    let clock: any WallClock
    /// `host[:port]` as the endpoint names it (what `Host` carries and the signature covers).
    let host: String
    let base: String
    /// Largest object `get` reads back.
    let maximumObjectSize: Int

    public init(settings: S3Settings, clock: any WallClock, client: HTTPClient = .shared, maximumObjectSize: Int = 2 << 30) throws {
        let trimmed = settings.endpoint.hasSuffix("/") ? String(settings.endpoint.dropLast()) : settings.endpoint
        guard let url = URL(string: trimmed), let scheme = url.scheme, ["http", "https"].contains(scheme), let hostName = url.host,
            url.path.isEmpty, url.query == nil
        else {
            throw S3Error.configuration("The S3 endpoint must be http(s)://host[:port], without a path: \(settings.endpoint)")
        }
        guard Self.isValidBucket(settings.bucket) else {
            throw S3Error.configuration("\(settings.bucket) is not a valid bucket name (3 to 63 lowercase letters, digits, dots and hyphens).")
        }
        guard !settings.accessKey.isEmpty, !settings.secretKey.isEmpty else {
            throw S3Error.configuration("The S3 store needs an access key and a secret key.")
        }
        self.settings = settings
        self.signer = S3Signer(accessKey: settings.accessKey, secretKey: settings.secretKey, region: settings.region)
        self.client = client
        self.clock = clock
        self.host = url.port.map { "\(hostName):\($0)" } ?? hostName
        self.base = trimmed
        self.maximumObjectSize = maximumObjectSize
    }

    static func isValidBucket(_ name: String) -> Bool {
        (3...63).contains(name.count)
            && name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }
            && name.first != "." && name.first != "-" && name.last != "." && name.last != "-"
    }

    func objectPath(_ key: String) throws -> String {
        guard BlobKey.isValid(key) else { throw BlobStoreError.invalidKey(key) }
        return "/\(settings.bucket)/\(key)"
    }

    // MARK: BlobStore

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        try await put(key, bytes, headers: [])
    }

    func put(_ key: String, _ bytes: [UInt8], headers: [(String, String)]) async throws {
        let response = try await send("PUT", try objectPath(key), body: bytes, headers: headers)
        guard response.status == .ok else { throw S3Error.refused("PUT", key, response.status.code, Self.code(response.body)) }
    }

    public func get(_ key: String) async throws -> [UInt8] {
        let response = try await send("GET", try objectPath(key))
        switch response.status {
        case .ok: return response.body
        case .notFound: throw BlobStoreError.notFound(key)
        default: throw S3Error.refused("GET", key, response.status.code, Self.code(response.body))
        }
    }

    public func delete(_ key: String) async throws {
        let response = try await send("DELETE", try objectPath(key))
        guard [.ok, .noContent, .notFound].contains(response.status) else {
            throw S3Error.refused("DELETE", key, response.status.code, Self.code(response.body))
        }
    }

    public func exists(_ key: String) async throws -> Bool {
        let response = try await send("HEAD", try objectPath(key))
        switch response.status {
        case .ok: return true
        case .notFound: return false
        default: throw S3Error.refused("HEAD", key, response.status.code, nil)
        }
    }

    /// Fails with a readable reason when the bucket cannot be reached with these credentials
    /// (checked at start, so a misconfiguration stops the server instead of its first upload).
    public func checkBucket() async throws {
        let response: Response
        do {
            response = try await send("HEAD", "/\(settings.bucket)")
        } catch {
            throw S3Error.configuration("The S3 endpoint \(base) cannot be reached: \(error)")
        }
        switch response.status {
        case .ok: return
        case .notFound: throw S3Error.configuration("The bucket \(settings.bucket) does not exist at \(base).")
        case .forbidden: throw S3Error.configuration("The S3 credentials are refused for the bucket \(settings.bucket) at \(base).")
        default: throw S3Error.configuration("The bucket \(settings.bucket) at \(base) answered HTTP \(response.status.code).")
        }
    }

    // MARK: BlobDownloads

    /// Stores `bytes` under `key` with server-side encryption (when configured) and returns a
    /// URL that reads them, with the given type and file name, for `lifetime` seconds.
    public func publish(_ key: String, _ bytes: [UInt8], contentType: String, filename: String, lifetime: Int) async throws -> String {
        let encryption = settings.serverSideEncryption ? [("x-amz-server-side-encryption", "AES256")] : []
        try await put(key, bytes, headers: [("content-type", contentType)] + encryption)
        return try presignedURL(key, lifetime: lifetime, contentType: contentType, filename: filename)
    }

    /// A GET of `key` valid for `lifetime` seconds (SigV4 query authentication); the answer
    /// carries `contentType` and an attachment disposition named `filename`.
    public func presignedURL(_ key: String, lifetime: Int, contentType: String, filename: String) throws -> String {
        let path = try objectPath(key)
        let safeName = String(filename.unicodeScalars.filter { $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 0x20 })
        let query = signer.presignedQuery(
            method: "GET", host: host, path: path,
            query: [("response-content-disposition", "attachment; filename=\"\(safeName)\""), ("response-content-type", contentType)],
            expires: max(1, min(lifetime, 7 * 24 * 3600)), at: clock.now())
        return base + S3Signer.encode(path, keepingSlashes: true) + "?" + query
    }

    // MARK: Transport

    struct Response {
        var status: HTTPResponseStatus
        var body: [UInt8]
    }

    /// Sends one signed request, retrying twice (after 0.1 s and 0.4 s) when the connection
    /// fails or the server answers 500, 502, 503 or 504.
    func send(_ method: String, _ path: String, body: [UInt8] = [], headers extra: [(String, String)] = []) async throws -> Response {
        let payloadHash = Hex.encode(SHA256.hash(data: body))
        var attempt = 0
        while true {
            attempt += 1
            var request = HTTPClientRequest(url: base + S3Signer.encode(path, keepingSlashes: true))
            request.method = HTTPMethod(rawValue: method)
            let signed = signer.headers(method: method, host: host, path: path, headers: extra, payloadHash: payloadHash, at: clock.now())
            request.headers.add(name: "host", value: host)
            for (name, value) in extra + signed { request.headers.add(name: name, value: value) }
            if method == "PUT" {
                request.headers.add(name: "content-length", value: String(body.count))
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            do {
                let response = try await client.execute(request, timeout: .seconds(120))
                let status = response.status
                if [.internalServerError, .badGateway, .serviceUnavailable, .gatewayTimeout].contains(status), attempt < 3 {
                    _ = try? await response.body.collect(upTo: 1 << 16)
                    try await Task.sleep(for: .milliseconds(attempt == 1 ? 100 : 400))
                    continue
                }
                let limit = method == "GET" ? maximumObjectSize : 1 << 20
                // Read to the end even when empty (HEAD): the connection then goes back to the pool.
                let collected = try await response.body.collect(upTo: limit)
                return Response(status: status, body: Array(collected.readableBytesView))
            } catch where attempt < 3 && Self.isRetryable(error) {
                try await Task.sleep(for: .milliseconds(attempt == 1 ? 100 : 400))
            }
        }
    }

    /// Transport failures are retried; a cancelled request, a spent deadline or an answer too
    /// large to read is not.
    static func isRetryable(_ error: any Error) -> Bool {
        if error is CancellationError || error is NIOTooManyBytesError { return false }
        if let error = error as? HTTPClientError { return error != .cancelled && error != .deadlineExceeded }
        return true
    }

    /// The `<Code>` of an S3 error document, if the answer is one.
    static func code(_ body: [UInt8]) -> String? {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        guard let start = text.range(of: "<Code>"), let end = text.range(of: "</Code>", range: start.upperBound..<text.endIndex) else {
            return nil
        }
        return String(text[start.upperBound..<end.lowerBound])
    }
}

/// Where files are put for a client to fetch directly, through a time-limited URL, instead of
/// through Hygie (presigned URLs of an S3-compatible store).
public protocol BlobDownloads: Sendable {
    func publish(_ key: String, _ bytes: [UInt8], contentType: String, filename: String, lifetime: Int) async throws -> String
    func delete(_ key: String) async throws
}

public enum S3Error: Error, Sendable, CustomStringConvertible {
    case configuration(String)
    /// The store answered `status` (with its error code, when it sent one) to a request on a key.
    case refused(String, String, UInt, String?)

    public var description: String {
        switch self {
        case .configuration(let reason): reason
        case .refused(let method, let key, let status, let code): "S3 \(method) \(key) answered HTTP \(status)\(code.map { " (\($0))" } ?? "")"
        }
    }
}
