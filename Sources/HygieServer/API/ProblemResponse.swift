import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `application/problem+json` (RFC 9457) with Hygie's stable `code`: how `/api/v1` and
/// `/dicomweb` report errors.
enum ProblemResponse {
    static func make(_ status: Int, code: String, detail: String, retryAfter: Int? = nil, details: [String] = []) -> Response {
        var body: [String: Any] = ["type": "https://hygie.health/problems/\(code)", "title": code, "detail": detail, "code": code]
        if !details.isEmpty { body["details"] = details }
        var object = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        if var text = String(data: object, encoding: .utf8), text.hasSuffix("}") {
            text.removeLast()
            text += ",\"status\":\(status)}"
            object = Data(text.utf8)
        }
        var headers: HTTPFields = [.contentType: "application/problem+json", .cacheControl: "no-store"]
        if status == 401 { headers[.wwwAuthenticate] = "Bearer" }
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: object)))
    }
}
