/// SMART on FHIR scopes (SMART App Launch 2.0 §3 "Scopes and Launch Context"), in both the
/// v2 form (`patient/Observation.rs`) and the v1 form (`user/*.read`).
public struct ScopeSet: Sendable, Equatable {
    public enum Context: String, Sendable, Hashable { case patient, user, system }

    public enum Permission: Character, Sendable, CaseIterable {
        case create = "c", read = "r", update = "u", delete = "d", search = "s"
    }

    public struct ResourceScope: Sendable, Equatable {
        public var context: Context
        /// A resource type, or "*".
        public var type: String
        public var permissions: Set<Permission>
    }

    public var resources: [ResourceScope]
    /// Every scope as granted, including `openid`, `fhirUser`, `launch/patient`, `offline_access`.
    public var raw: [String]

    public init(_ text: String) {
        raw = text.split(separator: " ").map(String.init)
        resources = raw.compactMap(Self.parse)
    }

    static func parse(_ scope: String) -> ResourceScope? {
        guard let slash = scope.firstIndex(of: "/"), let dot = scope.lastIndex(of: "."), slash < dot,
            let context = Context(rawValue: String(scope[..<slash]))
        else { return nil }
        let type = String(scope[scope.index(after: slash)..<dot])
        let action = scope[scope.index(after: dot)...].split(separator: "?").first.map(String.init) ?? ""
        let permissions: Set<Permission>
        switch action {
        case "*": permissions = Set(Permission.allCases)
        case "read": permissions = [.read, .search]
        case "write": permissions = [.create, .update, .delete]
        default:
            // v2 letters must come in the order c, r, u, d, s.
            let letters = action.compactMap { Permission(rawValue: $0) }
            guard !letters.isEmpty, letters.count == action.count,
                letters == Permission.allCases.filter({ letters.contains($0) })
            else { return nil }
            permissions = Set(letters)
        }
        guard type == "*" || type.first?.isUppercase == true else { return nil }
        return ResourceScope(context: context, type: type, permissions: permissions)
    }

    public func contains(_ scope: String) -> Bool { raw.contains(scope) }

    /// Resource types granted with any of `permissions`; nil means every type.
    public func types(with permissions: Set<Permission>, in contexts: Set<Context>) -> Set<String>? {
        var types: Set<String> = []
        for scope in resources where contexts.contains(scope.context) && !scope.permissions.isDisjoint(with: permissions) {
            if scope.type == "*" { return nil }
            types.insert(scope.type)
        }
        return types
    }
}
