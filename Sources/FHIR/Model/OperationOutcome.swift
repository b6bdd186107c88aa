/// One issue of an OperationOutcome (FHIR R4 OperationOutcome.issue).
public struct OutcomeIssue: Sendable, Equatable {
    public enum Severity: String, Sendable {
        case fatal, error, warning, information
    }

    /// The IssueType codes Hygie uses (http://hl7.org/fhir/issue-type).
    public enum Code: String, Sendable {
        case invalid, structure, required, value, invariant, processing, notSupported = "not-supported"
        case duplicate, multipleMatches = "multiple-matches", notFound = "not-found", deleted, tooLong = "too-long"
        case codeInvalid = "code-invalid", conflict, exception, informational, security, forbidden, login, tooCostly = "too-costly"
    }

    public var severity: Severity
    public var code: Code
    /// What was wrong and how to fix it, in plain words.
    public var diagnostics: String
    /// FHIRPath locations of the problem (`Patient.name[0].given[0]`).
    public var expression: [String]

    public init(_ severity: Severity = .error, _ code: Code, _ diagnostics: String, expression: [String] = []) {
        self.severity = severity
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression
    }

    public var json: JSON {
        var object = JSONObject()
        object["severity"] = .string(severity.rawValue)
        object["code"] = .string(code.rawValue)
        object["diagnostics"] = .string(diagnostics)
        if !expression.isEmpty { object["expression"] = .array(expression.map { .string($0) }) }
        return .object(object)
    }
}

/// A failure that ends a FHIR interaction: an HTTP status and the issues that explain it.
/// Thrown anywhere below the HTTP layer, rendered once as an OperationOutcome (DESIGN §4).
public struct FHIRError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var issues: [OutcomeIssue]
    /// Headers the response must carry (`Allow` on 405, for instance).
    public var headers: [String: String] = [:]

    public init(status: Int, issues: [OutcomeIssue], headers: [String: String] = [:]) {
        self.status = status
        self.issues = issues
        self.headers = headers
    }

    public init(status: Int, _ code: OutcomeIssue.Code, _ diagnostics: String, expression: [String] = []) {
        self.init(status: status, issues: [OutcomeIssue(.error, code, diagnostics, expression: expression)])
    }

    public var description: String {
        "\(status): " + issues.map(\.diagnostics).joined(separator: "; ")
    }

    public static func invalid(_ diagnostics: String, expression: [String] = []) -> FHIRError {
        FHIRError(status: 400, .invalid, diagnostics, expression: expression)
    }

    public static func notFound(_ diagnostics: String) -> FHIRError {
        FHIRError(status: 404, .notFound, diagnostics)
    }

    /// 403: the caller is known but may not do this (FHIR R4 §3.1.0.3.1).
    public static func forbidden(_ diagnostics: String) -> FHIRError {
        FHIRError(status: 403, .forbidden, diagnostics)
    }

    public static func gone(_ diagnostics: String) -> FHIRError {
        FHIRError(status: 410, .deleted, diagnostics)
    }

    public static func conflict(_ diagnostics: String) -> FHIRError {
        FHIRError(status: 409, .conflict, diagnostics)
    }

    public static func preconditionFailed(_ diagnostics: String) -> FHIRError {
        FHIRError(status: 412, .conflict, diagnostics)
    }

    public static func unprocessable(_ diagnostics: String, expression: [String] = []) -> FHIRError {
        FHIRError(status: 422, .processing, diagnostics, expression: expression)
    }

    public static func notSupported(_ diagnostics: String, status: Int = 400) -> FHIRError {
        FHIRError(status: status, .notSupported, diagnostics)
    }

    public static func internalError(_ diagnostics: String = "The server failed to process the request.") -> FHIRError {
        FHIRError(status: 500, .exception, diagnostics)
    }
}

/// Builds OperationOutcome resources.
public enum OperationOutcome {
    public static func resource(_ issues: [OutcomeIssue], id: String? = nil) -> JSON {
        var object = JSONObject()
        object["resourceType"] = "OperationOutcome"
        if let id { object["id"] = .string(id) }
        object["issue"] = .array(issues.map(\.json))
        return .object(object)
    }

    public static func information(_ message: String) -> JSON {
        resource([OutcomeIssue(.information, .informational, message)])
    }
}
