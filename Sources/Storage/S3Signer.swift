import Core
import Crypto
import Foundation

/// AWS Signature Version 4 for S3-compatible object stores: signs a request in its
/// `Authorization` header, or a whole request into its URL (a presigned URL). Pure: the time is
/// given, so tests check it against the published examples.
public struct S3Signer: Sendable {
    public var accessKey: String
    public var secretKey: String
    public var region: String
    public let service = "s3"

    public init(accessKey: String, secretKey: String, region: String) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.region = region
    }

    /// The hash S3 is told of a body it cannot check in advance (presigned URLs).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// The headers to send with a request: `x-amz-date`, `x-amz-content-sha256` and
    /// `Authorization`, signing `host` and every header given (lowercase names).
    public func headers(
        method: String, host: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        payloadHash: String, at time: Date
    ) -> [(String, String)] {
        let stamp = Self.timestamp(time)
        let signed = [("host", host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", stamp)] + headers
        let canonical = canonicalHeaders(signed)
        let request = canonicalRequest(
            method: method, path: path, query: Self.canonicalQuery(query), headers: canonical.text, signedHeaders: canonical.names,
            payloadHash: payloadHash)
        let signature = sign(request, stamp: stamp)
        let authorization = "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope(stamp)), SignedHeaders=\(canonical.names), Signature=\(signature)"
        return [("x-amz-date", stamp), ("x-amz-content-sha256", payloadHash), ("authorization", authorization)]
    }

    /// The query string (without `?`) that makes `method path` valid for `expires` seconds from
    /// `time` without any header but `host`; `query` adds parameters (`response-content-type`…)
    /// covered by the signature.
    public func presignedQuery(method: String, host: String, path: String, query: [(String, String)] = [], expires: Int, at time: Date) -> String {
        let stamp = Self.timestamp(time)
        let parameters = query + [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(accessKey)/\(scope(stamp))"),
            ("X-Amz-Date", stamp),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        let canonicalQuery = Self.canonicalQuery(parameters)
        let canonical = canonicalHeaders([("host", host)])
        let request = canonicalRequest(
            method: method, path: path, query: canonicalQuery, headers: canonical.text, signedHeaders: canonical.names,
            payloadHash: Self.unsignedPayload)
        return canonicalQuery + "&X-Amz-Signature=" + sign(request, stamp: stamp)
    }

    // MARK: The algorithm (AWS General Reference, "Create a signed AWS API request")

    func canonicalRequest(method: String, path: String, query: String, headers: String, signedHeaders: String, payloadHash: String) -> String {
        [method, Self.encode(path, keepingSlashes: true), query, headers, signedHeaders, payloadHash].joined(separator: "\n")
    }

    /// `name:value\n` per header, sorted by name, and the names joined by `;`.
    func canonicalHeaders(_ headers: [(String, String)]) -> (text: String, names: String) {
        let sorted = headers.map { ($0.0.lowercased(), Self.collapsingSpaces($0.1)) }.sorted { $0.0 < $1.0 }
        return (sorted.map { "\($0.0):\($0.1)\n" }.joined(), sorted.map(\.0).joined(separator: ";"))
    }

    func sign(_ canonicalRequest: String, stamp: String) -> String {
        let stringToSign = ["AWS4-HMAC-SHA256", stamp, scope(stamp), Hex.encode(SHA256.hash(data: Array(canonicalRequest.utf8)))].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(secretKey)".utf8))
        for part in [String(stamp.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    func scope(_ stamp: String) -> String { "\(stamp.prefix(8))/\(region)/\(service)/aws4_request" }

    static func canonicalQuery(_ parameters: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = parameters.map { (encode($0.0), encode($0.1)) }
        let sorted = encoded.sorted { left, right in left.name == right.name ? left.value < right.value : left.name < right.name }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    static func timestamp(_ time: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: time)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// Percent-encodes all but the unreserved characters (RFC 3986), in uppercase hex; `/`
    /// stays when encoding a path.
    public static func encode(_ text: String, keepingSlashes: Bool = false) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepingSlashes:
                output.append("/")
            default:
                output += String(format: "%%%02X", byte)
            }
        }
        return output
    }

    static func collapsingSpaces(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
