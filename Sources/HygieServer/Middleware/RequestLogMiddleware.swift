import Core
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Logging

/// Gives each request an id and logs one line per request: method, path without query
/// string (queries can carry names and birth dates), status and duration. No PHI is logged
/// (DESIGN §6).
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let ids: any IDGenerator
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let supplied = request.headers[.requestID].flatMap { $0.count <= 64 && $0.allSatisfy(\.isASCII) ? $0 : nil }
        context.requestID = supplied ?? ids.makeID()
        let start = ContinuousClock.now
        do {
            var response = try await next(request, context)
            response.headers[.requestID] = context.requestID
            log(request, status: response.status.code, start: start, id: context.requestID)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            log(request, status: status, start: start, id: context.requestID)
            throw error
        }
    }

    func log(_ request: Request, status: Int, start: ContinuousClock.Instant, id: String) {
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info(
            "request",
            metadata: [
                "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(status)",
                "ms": "\(String(format: "%.1f", milliseconds))", "request_id": "\(id)",
            ])
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-ID")!
    static let ifNoneExist = HTTPField.Name("If-None-Exist")!
    static let prefer = HTTPField.Name("Prefer")!
}
