import Hummingbird

/// The context every request carries: Hummingbird's core context plus the request id used in
/// logs and echoed in `X-Request-ID`.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String = ""

    public init(source: Source) {
        self.coreContext = .init(source: source)
    }
}
