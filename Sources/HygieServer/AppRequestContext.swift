import Hummingbird
import NIOCore

/// The context every request carries: Hummingbird's core context plus the request id used in
/// logs and echoed in `X-Request-ID`, and the caller's network address (for throttling and
/// the audit trail).
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String = ""
    public var remoteAddress: String?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
    }
}
