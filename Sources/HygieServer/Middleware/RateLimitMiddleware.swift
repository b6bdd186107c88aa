import Core
import FHIR
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import NIOCore
import Synchronization

/// Fixed one-hour windows of request counts, per key.
final class RateLimiter: Sendable {
    struct Window {
        var start: Date
        var count: Int
    }

    let clock: any WallClock
    static let window: TimeInterval = 3600
    private let windows = Mutex<[String: Window]>([:])

    init(clock: any WallClock) {
        self.clock = clock
    }

    /// Counts one request for each key; returns the seconds to wait when any key is past
    /// its limit (the request is then not counted).
    func admit(_ keys: [(key: String, limit: Int)]) -> Int? {
        let now = clock.now()
        return windows.withLock { windows in
            if windows.count > 100_000 { windows = windows.filter { now.timeIntervalSince($0.value.start) < Self.window } }
            var wait: TimeInterval = 0
            for (key, limit) in keys where limit > 0 {
                var window = windows[key] ?? Window(start: now, count: 0)
                if now.timeIntervalSince(window.start) >= Self.window { window = Window(start: now, count: 0) }
                if window.count >= limit { wait = max(wait, Self.window - now.timeIntervalSince(window.start)) }
                windows[key] = window
            }
            if wait > 0 { return max(1, Int(wait.rounded(.up))) }
            for (key, limit) in keys where limit > 0 { windows[key]?.count += 1 }
            return nil
        }
    }
}

/// Rate limits of the APIs (issue 3): requests per hour per account (when a valid token names
/// one) and per network address, answered 429 with `Retry-After` past the limit. Health and
/// the web pages' static assets are not counted.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limiter: RateLimiter
    let signer: TokenSigner
    let perAccount: Int
    let perAddress: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/fhir") || path.hasPrefix("/api/") || path.hasPrefix("/oauth2/") else {
            return try await next(request, context)
        }
        var keys: [(key: String, limit: Int)] = [("address:" + (context.remoteAddress ?? "unknown"), perAddress)]
        if perAccount > 0, let token = request.bearerToken, let subject = signer.verify(token)?["sub"]?.stringValue
        {
            keys.append(("account:" + subject, perAccount))
        }
        if let wait = limiter.admit(keys) {
            let body = #"{"type":"https://hygie.health/problems/rate-limited","title":"rate-limited","status":429,"detail":"Too many requests; try again later."}"#
            return Response(
                status: .tooManyRequests, headers: [.contentType: "application/problem+json", .retryAfter: String(wait)],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        return try await next(request, context)
    }
}
