import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging

/// The medical record (issue 4): entries a physician creates, edits and deletes for a linked
/// patient, read by the patient and the care team. Every read and write goes through
/// FHIRStore as the principal (`Policy.caller`), so the access rules and the audit trail are
/// the same as over `/fhir`.
public struct RecordsService: Sendable {
    let fhir: FHIRStore
    let clock: any WallClock
    let ids: any IDGenerator
    let logger: Logger

    public init(fhir: FHIRStore, clock: any WallClock, ids: any IDGenerator, logger: Logger) {
        self.fhir = fhir
        self.clock = clock
        self.ids = ids
        self.logger = logger
    }

    /// The patient's identity and care team, as the chart's header shows them.
    public struct PatientCard: Sendable {
        public var id: String
        public var name: String
        public var birthDate: String?
        public var gender: String?
        public var identifiers: [String]
        public var careTeam: [(id: String, name: String)]
    }

    /// 404 when the principal may not see the patient.
    public func patient(_ id: String, by principal: Principal) async throws -> PatientCard {
        let caller = Policy.caller(principal)
        let stored = try await fhirCall { try await fhir.perform(FHIRRequest(method: "GET", target: .instance("Patient", id)), as: caller) }
        guard let json = try stored.resource?.json() else { throw ServiceError.notFound("Patient \(id)") }
        let teams = try await fhir.searchAll("CareTeam", [("subject", "Patient/\(id)"), ("status", "active")], tenant: principal.tenant)
        var members: [String] = []
        for team in teams {
            for participant in try team.json()["participant"]?.arrayValue ?? [] {
                if let reference = participant["member"]?["reference"]?.stringValue, reference.hasPrefix("Practitioner/") {
                    members.append(String(reference.dropFirst("Practitioner/".count)))
                }
            }
        }
        let names = try await fhir.displayNames("Practitioner", ids: members, tenant: principal.tenant)
        return PatientCard(
            id: id, name: FHIRStore.displayName(json), birthDate: json["birthDate"]?.stringValue, gender: json["gender"]?.stringValue,
            identifiers: json["identifier"]?.arrayValue?.compactMap { $0["value"]?.stringValue } ?? [],
            careTeam: Array(Set(members)).sorted().map { ($0, names[$0] ?? $0) })
    }

    /// What a patient's demographics change to; nil fields stay as they are.
    public struct Demographics: Sendable {
        public var family: String?
        public var given: String?
        public var birthDate: String?
        public var gender: String?

        public init(family: String?, given: String?, birthDate: String?, gender: String?) {
            self.family = family
            self.given = given
            self.birthDate = birthDate
            self.gender = gender
        }
    }

    /// Updates a patient's name, birth date or gender, as the principal: the store lets those
    /// who may write the Patient (a secretary of a linked hospital, a linked physician) do it.
    public func updatePatient(_ id: String, _ change: Demographics, by principal: Principal) async throws -> PatientCard {
        let caller = Policy.caller(principal)
        let response = try await fhirCall { try await fhir.perform(FHIRRequest(method: "GET", target: .instance("Patient", id)), as: caller) }
        guard let stored = response.resource, case .object(var object) = try stored.json() else { throw ServiceError.notFound("Patient \(id)") }
        if change.family != nil || change.given != nil {
            var name = object["name"]?.arrayValue?.first?.objectValue ?? [:]
            if let family = change.family?.trimmingCharacters(in: .whitespaces) {
                guard !family.isEmpty, family.count <= 100 else { throw ServiceError.invalid("\"family\" is 1 to 100 characters.") }
                name["family"] = .string(family)
            }
            if let given = change.given?.trimmingCharacters(in: .whitespaces) {
                guard given.count <= 100 else { throw ServiceError.invalid("\"given\" has at most 100 characters.") }
                name["given"] = given.isEmpty ? nil : [.string(given)]
            }
            object["name"] = .array([.object(name)] + (object["name"]?.arrayValue?.dropFirst() ?? []))
        }
        if let birthDate = change.birthDate {
            guard FHIRDateTime.parse(birthDate, grammar: .date) != nil else { throw ServiceError.invalid("\"birth_date\" is YYYY-MM-DD.") }
            object["birthDate"] = .string(birthDate)
        }
        if let gender = change.gender {
            guard ["male", "female", "other", "unknown"].contains(gender) else { throw ServiceError.invalid("\"gender\" is male, female, other or unknown.") }
            object["gender"] = .string(gender)
        }
        object.removeValue(forKey: "meta")
        _ = try await fhirCall {
            try await fhir.perform(
                FHIRRequest(method: "PUT", target: .instance("Patient", id), body: .resource(.object(object)), ifMatch: stored.version, returnPreference: .minimal),
                as: caller)
        }
        return try await patient(id, by: principal)
    }

    /// Patients the principal may see, by name (`query`), a page at a time.
    public func patients(matching query: String?, limit: Int, cursor: String?, by principal: Principal) async throws -> Page<PatientCard> {
        guard (1...100).contains(limit) else { throw ServiceError.invalid("limit is between 1 and 100.") }
        var parameters: [(String, String)] = [("_sort", "family"), ("_count", String(limit))]
        if let query, !query.isEmpty { parameters.append(("name", query)) }
        var search = try SearchQuery.parse(resourceType: "Patient", parameters: parameters)
        search.total = TotalMode.none
        search.cursor = cursor
        let result = try await fhirCall { try await fhir.search(search, as: Policy.caller(principal)) }
        try await fhir.record(
            AuditRecord(
                agent: principal.auditAgent, kind: .rest("search-type"), action: .execute, entities: result.matches.map(\.reference),
                patients: result.matches.map(\.id), query: QueryString.encode(parameters)),
            tenant: principal.tenant)
        let cards = try result.matches.map { match in
            let json = try match.json()
            return PatientCard(
                id: match.id, name: FHIRStore.displayName(json), birthDate: json["birthDate"]?.stringValue, gender: json["gender"]?.stringValue,
                identifiers: json["identifier"]?.arrayValue?.compactMap { $0["value"]?.stringValue } ?? [], careTeam: [])
        }
        return Page(items: cards, next: result.nextCursor)
    }

    /// The patient's entries, newest first, of one kind or all; `cursor` is an offset.
    public func entries(patient: String, kind: RecordKind?, limit: Int, cursor: String?, by principal: Principal) async throws -> Page<RecordEntry> {
        guard (1...200).contains(limit) else { throw ServiceError.invalid("limit is between 1 and 200.") }
        let offset = try cursor.map { text in
            guard let value = Int(text), value >= 0 else { throw ServiceError.invalid("Unknown cursor.") }
            return value
        } ?? 0
        _ = try await self.patient(patient, by: principal)
        let caller = Policy.caller(principal)
        var all: [RecordEntry] = []
        for kind in kind.map({ [$0] }) ?? RecordKind.allCases {
            var query = try SearchQuery.parse(resourceType: kind.resourceType, parameters: [("patient", "Patient/\(patient)"), ("_count", "1000")])
            query.total = TotalMode.none
            let result = try await fhirCall { try await fhir.search(query, as: caller) }
            all += try result.matches.map { RecordMapping.entry(try $0.json(), kind: kind, version: $0.version, updated: Self.instant($0.lastUpdated)) }
        }
        try await fhir.record(
            AuditRecord(
                agent: principal.auditAgent, kind: .rest("search-type"), action: .execute, entities: all.compactMap { entry in entry.id.map { "\(entry.kind.resourceType)/\($0)" } },
                patients: [patient], detail: "medical record"),
            tenant: principal.tenant)
        all.sort { ($0.date ?? $0.updated ?? "", $0.updated ?? "") > ($1.date ?? $1.updated ?? "", $1.updated ?? "") }
        let names = try await fhir.displayNames("Practitioner", ids: all.compactMap(\.author), tenant: principal.tenant)
        let page = all.dropFirst(offset).prefix(limit).map { entry in
            var named = entry
            named.authorName = entry.author.flatMap { names[$0] }
            return named
        }
        return Page(items: Array(page), next: offset + limit < all.count ? String(offset + limit) : nil)
    }

    public func entry(_ kind: RecordKind, _ id: String, by principal: Principal) async throws -> RecordEntry {
        let response = try await fhirCall {
            try await fhir.perform(FHIRRequest(method: "GET", target: .instance(kind.resourceType, id)), as: Policy.caller(principal))
        }
        guard let stored = response.resource else { throw ServiceError.notFound("\(kind.rawValue) \(id)") }
        return try await named(RecordMapping.entry(try stored.json(), kind: kind, version: stored.version, updated: Self.instant(stored.lastUpdated)), tenant: principal.tenant)
    }

    /// Every version of an entry, newest first, deletions included. The store hides a
    /// deleted resource from restricted callers, so the versions are read as the server once
    /// the principal is shown to see the entry's patient and this kind of entry.
    public func history(_ kind: RecordKind, _ id: String, by principal: Principal) async throws -> [(entry: RecordEntry?, method: String, updated: String, version: Int)] {
        guard PrimitiveType.isValidID(id) else { throw ServiceError.notFound("\(kind.rawValue) \(id)") }
        let result = try await fhirCall {
            try await fhir.history(.instance(type: kind.resourceType, id: id), since: nil, count: 100, cursor: nil, as: .system(principal.tenant))
        }
        let versions = try result.entries.map { item in
            let stored = item.resource
            let entry = stored.isDeleted ? nil : RecordMapping.entry(try stored.json(), kind: kind, version: stored.version, updated: Self.instant(stored.lastUpdated))
            return (entry: entry, method: item.method, updated: Self.instant(stored.lastUpdated), version: stored.version)
        }
        guard let patient = versions.compactMap({ $0.entry?.patient }).first(where: { !$0.isEmpty }),
            Policy.caller(principal).read.mayConcern(kind.resourceType), (try? await self.patient(patient, by: principal)) != nil
        else { throw ServiceError.notFound("\(kind.rawValue) \(id)") }
        try await fhir.record(
            AuditRecord(
                agent: principal.auditAgent, kind: .rest("history-instance"), action: .read, entities: ["\(kind.resourceType)/\(id)"], patients: [patient]),
            tenant: principal.tenant)
        return versions
    }

    /// Creates an entry. A prescription is checked against the patient's allergies first and
    /// refused with the clashing allergies unless `acknowledgeAllergies` is set.
    public func create(_ entry: RecordEntry, by principal: Principal) async throws -> RecordEntry {
        try entry.validate()
        guard PrimitiveType.isValidID(entry.patient) else { throw ServiceError.invalid("\"patient\" is a patient id.") }
        try await checkAllergies(entry, by: principal)
        let id = ids.makeID()
        let author = principal.role == .physician ? principal.practitioner : nil
        let (resource, encounter) = RecordMapping.resources(
            entry, id: id, encounter: entry.kind == .consultation ? ids.makeID() : nil, author: author, now: Self.instant(Self.millis(clock.now())))
        try await write([resource] + (encounter.map { [$0] } ?? []), by: principal)
        logger.info("record entry created", metadata: ["kind": "\(entry.kind.rawValue)", "id": "\(id)"])
        return try await self.entry(entry.kind, id, by: principal)
    }

    public func update(_ kind: RecordKind, _ id: String, _ entry: RecordEntry, by principal: Principal) async throws -> RecordEntry {
        var entry = entry
        entry.kind = kind
        try entry.validate()
        let current = try await self.entry(kind, id, by: principal)
        guard current.patient == entry.patient || entry.patient.isEmpty else { throw ServiceError.invalid("An entry stays in its patient's record.") }
        entry.patient = current.patient
        if let version = entry.version, version != current.version {
            throw ServiceError(409, "changed-meanwhile", "This entry changed since you opened it (now version \(current.version ?? 0)): reload it.")
        }
        if kind == .medication, entry.title != current.title || entry.code != current.code { try await checkAllergies(entry, by: principal) }
        let author = principal.role == .physician ? principal.practitioner : current.author
        var encounter: String?
        if kind == .consultation {
            let stored = try await fhir.read("Composition", id, as: .system(principal.tenant)).json()
            encounter = stored["encounter"]?["reference"]?.stringValue.map { String($0.dropFirst("Encounter/".count)) }
        }
        var (resource, visit) = RecordMapping.resources(entry, id: id, encounter: encounter, author: author, now: Self.instant(Self.millis(clock.now())))
        if kind != .consultation || encounter == nil { visit = nil }
        if case .object(var object) = resource, kind == .condition || kind == .allergy, let recorded = try? await fhir.read(kind.resourceType, id, as: .system(principal.tenant)).json()["recordedDate"] {
            object["recordedDate"] = recorded
            resource = .object(object)
        }
        try await write([resource] + (visit.map { [$0] } ?? []), by: principal, ifMatch: current.version)
        return try await self.entry(kind, id, by: principal)
    }

    /// Soft deletion: the entry leaves the record and its search results; its versions stay
    /// in the history, and the deletion is audited.
    public func delete(_ kind: RecordKind, _ id: String, by principal: Principal) async throws {
        let current = try await entry(kind, id, by: principal)
        var references = ["\(kind.resourceType)/\(id)"]
        if kind == .consultation, let encounter = try await fhir.read("Composition", id, as: .system(principal.tenant)).json()["encounter"]?["reference"]?.stringValue {
            references.append(encounter)
        }
        let bundle = HygieResources.transaction(references.map(HygieResources.delete))
        _ = try await fhirCall { try await fhir.perform(FHIRRequest(method: "POST", target: .system, body: .resource(bundle)), as: Policy.caller(principal)) }
        logger.info("record entry deleted", metadata: ["kind": "\(kind.rawValue)", "id": "\(id)", "version": "\(current.version ?? 0)"])
    }

    /// Refuses a prescription that clashes with a recorded, active allergy of the patient,
    /// unless the prescriber acknowledged the warning.
    func checkAllergies(_ entry: RecordEntry, by principal: Principal) async throws {
        guard entry.kind == .medication, entry.acknowledgeAllergies != true else { return }
        let allergies = try await entries(patient: entry.patient, kind: .allergy, limit: 200, cursor: nil, by: principal).items
            .filter { ($0.status ?? "active") == "active" }
            .map { AllergyCheck.Allergy(name: $0.title, atc: $0.code?.system == EntryCode.atc ? $0.code?.code : nil) }
        let atc = entry.code?.system == EntryCode.atc ? entry.code?.code : nil
        let clashes = AllergyCheck.conflicts(drug: entry.title, atc: atc, allergies: allergies)
        guard !clashes.isEmpty else { return }
        let names = clashes.map { allergy in allergy.atc.map { "\(allergy.name) (\($0))" } ?? allergy.name }
        throw ServiceError(
            409, "allergy-warning",
            "The patient has a recorded allergy to \(names.joined(separator: ", ")). Prescribe anyway only after checking (acknowledge_allergies).",
            details: names)
    }

    func write(_ resources: [JSON], by principal: Principal, ifMatch: Int? = nil) async throws {
        let entries = resources.enumerated().map { index, resource in HygieResources.put(resource, ifMatch: index == 0 ? ifMatch : nil) }
        let bundle = HygieResources.transaction(entries)
        _ = try await fhirCall { try await fhir.perform(FHIRRequest(method: "POST", target: .system, body: .resource(bundle)), as: Policy.caller(principal)) }
    }

    func named(_ entry: RecordEntry, tenant: TenantID) async throws -> RecordEntry {
        var named = entry
        if let author = entry.author { named.authorName = try await fhir.displayNames("Practitioner", ids: [author], tenant: tenant)[author] }
        return named
    }

    /// FHIRStore's refusals as the services' errors (404 stays 404, 403 stays 403).
    func fhirCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as FHIRError {
            let message = error.issues.first?.diagnostics ?? "The record refused this."
            switch error.status {
            case 404, 410: throw ServiceError(404, "not-found", message)
            case 403: throw ServiceError(403, "forbidden", message)
            case 409, 412: throw ServiceError(409, "changed-meanwhile", message)
            default: throw ServiceError(error.status, "invalid", message)
            }
        }
    }

    static func millis(_ date: Date) -> Int64 { FHIRDateTime.epochMillis(date) }

    static func instant(_ millis: Int64) -> String { FHIRDateTime.instantString(epochMillis: millis) }
}
