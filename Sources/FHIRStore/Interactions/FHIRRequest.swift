import FHIR

/// One FHIR interaction, from an HTTP request or from a Bundle entry.
public struct FHIRRequest: Sendable {
    public enum Body: Sendable {
        case none
        case resource(JSON)
        case patch(JSONPatch)
    }

    /// GET, HEAD, POST, PUT, PATCH or DELETE.
    public var method: String
    public var target: RequestTarget
    /// Search parameters and other query parameters, in order.
    public var query: [(String, String)]
    public var body: Body
    /// Version the client expects (`If-Match: W/"n"`).
    public var ifMatch: Int?
    /// Criteria of a conditional create (`If-None-Exist`).
    public var ifNoneExist: [(String, String)]?
    public var handling: SearchQuery.Handling
    /// `Prefer: return=…` (FHIR R4 §3.1.0.1.8).
    public var returnPreference: ReturnPreference

    public init(
        method: String, target: RequestTarget, query: [(String, String)] = [], body: Body = .none, ifMatch: Int? = nil,
        ifNoneExist: [(String, String)]? = nil, handling: SearchQuery.Handling = .lenient, returnPreference: ReturnPreference = .representation
    ) {
        self.method = method
        self.target = target
        self.query = query
        self.body = body
        self.ifMatch = ifMatch
        self.ifNoneExist = ifNoneExist
        self.handling = handling
        self.returnPreference = returnPreference
    }
}

public enum ReturnPreference: String, Sendable {
    case minimal, representation
    case operationOutcome = "OperationOutcome"
}

/// The answer to one interaction, before HTTP rendering.
public struct FHIRResponse: Sendable {
    public var status: Int
    /// A stored resource to return as is.
    public var resource: StoredResource?
    /// A built resource (Bundle, OperationOutcome, CapabilityStatement).
    public var json: JSON?
    /// `Type/id/_history/n` of what a write produced.
    public var location: String?
    public var etag: String?
    /// Epoch milliseconds.
    public var lastModified: Int64?
    /// What to say when the client prefers an OperationOutcome or there is no body.
    public var outcome: [OutcomeIssue] = []
    /// Rows the interaction returned (search matches and includes, history versions), for
    /// the audit trail.
    var rids: [Int64] = []

    public init(status: Int, resource: StoredResource? = nil, json: JSON? = nil) {
        self.status = status
        self.resource = resource
        self.json = json
        if let resource {
            etag = resource.etag
            lastModified = resource.lastUpdated
        }
    }

    /// The body to send: the resource, or what the preference asks for.
    public func body(for preference: ReturnPreference) -> JSON? {
        switch preference {
        case .minimal:
            return json.flatMap { $0["resourceType"]?.stringValue == "OperationOutcome" ? $0 : nil }
        case .operationOutcome:
            return OperationOutcome.resource(outcome.isEmpty ? [OutcomeIssue(.information, .informational, "Done.")] : outcome)
        case .representation:
            if let resource, !resource.isDeleted { return .raw(RawJSON(resource.body)) }
            if let json { return json }
            return outcome.isEmpty ? nil : OperationOutcome.resource(outcome)
        }
    }
}
