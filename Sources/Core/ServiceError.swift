/// What went wrong in a feature service (Identity, Scheduling, Records), with the HTTP status
/// it maps to and a stable code that clients and the localisation files key on. The API
/// renders it as problem+json and the web app as a message in the page's language.
public struct ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String
    public var retryAfter: Int? = nil
    /// Structured details a client can act on (the allergies a prescription conflicts with).
    public var details: [String] = []

    public init(_ status: Int, _ code: String, _ message: String, retryAfter: Int? = nil, details: [String] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.details = details
    }

    public var description: String { "\(status) \(code): \(message)" }

    public static let unauthenticated = ServiceError(401, "unauthenticated", "Sign in first: this needs a valid access token.")
    public static let forbidden = ServiceError(403, "forbidden", "Your role does not allow this.")

    public static func notFound(_ what: String) -> ServiceError { ServiceError(404, "not-found", "\(what) does not exist.") }
    public static func invalid(_ message: String) -> ServiceError { ServiceError(400, "invalid", message) }
    public static func conflict(_ message: String) -> ServiceError { ServiceError(409, "conflict", message) }
}
