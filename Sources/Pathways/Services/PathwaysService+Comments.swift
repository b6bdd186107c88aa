import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import Storage

/// Who may read a comment of a case.
public enum CommentVisibility: String, Sendable, CaseIterable, Codable {
    case team
    case physicists
    case physicians

    /// Whether a person of `role` reads comments of this visibility.
    public func admits(_ role: Role) -> Bool {
        switch self {
        case .team: true
        case .physicists: role == .medicalPhysicist
        case .physicians: role == .physician
        }
    }
}

/// A comment of a case's thread (a Communication about its Task).
public struct CaseComment: Sendable, Equatable {
    public struct Attachment: Sendable, Equatable {
        public var contentType: String
        public var title: String
        public var data: Data

        public init(contentType: String, title: String, data: Data) {
            self.contentType = contentType
            self.title = title
            self.data = data
        }
    }

    public var id: String
    public var author: String?
    public var authorRole: String?
    public var sent: String
    public var text: String
    public var visibility: CommentVisibility
    public var mentions: [String]
    public var attachments: [Attachment]
}

/// A member of the department, for @mention autocompletion.
public struct DepartmentMember: Sendable, Equatable {
    public var practitioner: String
    public var name: String
    public var role: Role
}

extension PathwaysService {
    static let commentCategorySystem = "https://hygie.health/fhir/CodeSystem/pathway-comment-visibility"
    /// Attachments a comment carries, checked by content: PDF, PNG, JPEG and DICOM (anonymised captures).
    static let attachmentLimit = 5 << 20

    /// The department's staff (radiotherapy roles and physicians of the hospital) whose name
    /// contains `query`, for @mentions.
    public func department(matching query: String?, by principal: Principal) async throws -> [DepartmentMember] {
        guard Self.worksOnCases(principal), let hospital = principal.hospital else { throw ServiceError.forbidden }
        let roles = Role.radiotherapyRoles.union([.physician])
        let codes = roles.map { "\(Role.codeSystem)|\($0.code)" }.sorted().joined(separator: ",")
        let found = try await fhir.searchAll(
            "PractitionerRole", [("role", codes), ("organization", "Organization/\(hospital)"), ("active", "true")], tenant: principal.tenant)
        var members: [String: Role] = [:]
        for stored in found {
            let json = try stored.json()
            guard let practitioner = Self.id(of: json["practitioner"]?["reference"]?.stringValue, type: "Practitioner"),
                let code = json["code"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue, let role = Role(rawValue: code)
            else { continue }
            members[practitioner] = role
        }
        let names = try await fhir.displayNames("Practitioner", ids: Array(members.keys), tenant: principal.tenant)
        let needle = query?.trimmingCharacters(in: .whitespaces).folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil) ?? ""
        return members.map { DepartmentMember(practitioner: $0.key, name: names[$0.key] ?? $0.key, role: $0.value) }
            .filter { needle.isEmpty || $0.name.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).contains(needle) }
            .sorted { ($0.name, $0.practitioner) < ($1.name, $1.practitioner) }
    }

    /// Posts a comment on a case; each mentioned colleague (of the department, who may read
    /// a comment of that visibility) is notified.
    public func comment(
        _ caseID: String, text: String, visibility: CommentVisibility, mentions: [String], attachments: [CaseComment.Attachment], by principal: Principal
    ) async throws -> CaseComment {
        let (found, _) = try await loadCase(caseID, by: principal)
        guard visibility.admits(principal.role) || visibility == .team else {
            throw ServiceError(403, "forbidden", "You may not write a comment you could not read.")
        }
        guard let text = try Self.text(text, field: "text", limit: 5000) else { throw ServiceError.invalid("Write the comment (\"text\").") }
        guard attachments.count <= 5 else { throw ServiceError.invalid("At most 5 attachments per comment.") }
        for attachment in attachments {
            guard attachment.data.count <= Self.attachmentLimit else { throw ServiceError(413, "too-large", "An attachment is larger than 5 MB.") }
            guard Self.sniff(attachment.data) == attachment.contentType else {
                throw ServiceError(415, "unsupported-media-type", "Attach PDF, PNG, JPEG or DICOM files, whose content matches their type.")
            }
        }
        let members = Dictionary(uniqueKeysWithValues: try await department(matching: nil, by: principal).map { ($0.practitioner, $0) })
        let mentioned = Array(Set(mentions)).sorted()
        for practitioner in mentioned {
            guard let member = members[practitioner] else { throw ServiceError.invalid("Practitioner \(practitioner) is not on the department's staff.") }
            guard visibility.admits(member.role) else {
                throw ServiceError.invalid("\(member.name) may not read a comment for \(visibility.rawValue) only.")
            }
        }
        let id = ids.makeID()
        let when = Self.instant(now())
        var payload: [JSON] = [["contentString": .string(text)]]
        for attachment in attachments {
            payload.append([
                "contentAttachment": [
                    "contentType": .string(attachment.contentType), "title": .string(attachment.title), "size": .number(JSONNumber(attachment.data.count)),
                    "data": .string(attachment.data.base64EncodedString()),
                ]
            ])
        }
        var communication: JSONObject = [
            "resourceType": "Communication", "id": .string(id), "status": "completed",
            "identifier": [["system": .string(Self.caseSystem), "value": .string(caseID)]],
            "category": [["coding": [["system": .string(Self.commentCategorySystem), "code": .string(visibility.rawValue)]]]],
            "about": [["reference": .string("Task/\(caseID)")]], "sent": .string(when), "payload": .array(payload),
        ]
        if !mentioned.isEmpty { communication["recipient"] = .array(mentioned.map { ["reference": .string("Practitioner/\($0)")] }) }
        if let practitioner = principal.practitioner { communication["sender"] = ["reference": .string("Practitioner/\(practitioner)")] }
        var entries = [HygieResources.put(.object(communication))]
        let notified = mentioned.filter { $0 != principal.practitioner }
        if !notified.isEmpty {
            let label = try await patientLabel(found.patient, tenant: principal.tenant)
            let author = try await principal.practitioner.asyncMap { try await fhir.displayNames("Practitioner", ids: [$0], tenant: principal.tenant)[$0] } ?? nil
            entries.append(
                HygieResources.put(
                    HygieResources.notification(
                        id: ids.makeID(), patient: nil, recipients: notified.map { "Practitioner/\($0)" }, sender: principal.reference, sent: when,
                        code: "pathway-mention", text: "\(author ?? "Un collègue") vous a mentionné sur le dossier \(label).", about: "Task/\(caseID)")))
        }
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("create"), action: .create, entities: ["Communication/\(id)"], patients: [found.patient],
            detail: "pathway comment")
        _ = try await fhir.transaction(HygieResources.transaction(entries), as: .system(principal.tenant), audit: [record]) { _ in }
        return CaseComment(
            id: id, author: principal.practitioner, authorRole: principal.role.rawValue, sent: when, text: text, visibility: visibility, mentions: mentioned,
            attachments: attachments)
    }

    /// The comments of a case `principal` may read, oldest first.
    public func comments(_ caseID: String, by principal: Principal) async throws -> [CaseComment] {
        let (found, _) = try await loadCase(caseID, by: principal)
        return try await readableComments(of: found.id, by: principal)
    }

    /// An attachment of a comment `principal` may read (numbered from 0), audited as a read.
    public func attachment(_ caseID: String, comment: String, index: Int, by principal: Principal) async throws -> CaseComment.Attachment {
        let (found, _) = try await loadCase(caseID, by: principal)
        let readable = try await readableComments(of: found.id, by: principal)
        guard let attachments = readable.first(where: { $0.id == comment })?.attachments, attachments.indices.contains(index) else {
            throw ServiceError.notFound("Attachment")
        }
        try await fhir.record(
            AuditRecord(agent: principal.auditAgent, kind: .rest("read"), action: .read, entities: ["Communication/\(comment)"], patients: [found.patient]),
            tenant: principal.tenant)
        return attachments[index]
    }

    /// The case's comments whose visibility admits the principal's role, and their own.
    func readableComments(of caseID: String, by principal: Principal) async throws -> [CaseComment] {
        try await comments(of: caseID, tenant: principal.tenant).filter { $0.visibility.admits(principal.role) || $0.author == principal.practitioner }
    }

    func comments(of caseID: String, tenant: TenantID) async throws -> [CaseComment] {
        let stored = try await fhir.searchAll("Communication", [("identifier", "\(Self.caseSystem)|\(caseID)")], tenant: tenant)
        return try stored.map { resource in
            let json = try resource.json()
            let payload = json["payload"]?.arrayValue ?? []
            let visibility = json["category"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue.flatMap(CommentVisibility.init) ?? .team
            return CaseComment(
                id: resource.id, author: Self.id(of: json["sender"]?["reference"]?.stringValue, type: "Practitioner"), authorRole: nil,
                sent: json["sent"]?.stringValue ?? "", text: payload.compactMap { $0["contentString"]?.stringValue }.joined(separator: "\n"),
                visibility: visibility,
                mentions: (json["recipient"]?.arrayValue ?? []).compactMap { Self.id(of: $0["reference"]?.stringValue, type: "Practitioner") },
                attachments: payload.compactMap { item in
                    guard let attachment = item["contentAttachment"], let data = attachment["data"]?.stringValue.flatMap({ Data(base64Encoded: $0) }) else {
                        return nil
                    }
                    return CaseComment.Attachment(
                        contentType: attachment["contentType"]?.stringValue ?? "application/octet-stream", title: attachment["title"]?.stringValue ?? "",
                        data: data)
                })
        }.sorted { ($0.sent, $0.id) < ($1.sent, $1.id) }
    }

    /// The media type of an attachment, from its first bytes.
    static func sniff(_ data: Data) -> String? {
        let bytes = [UInt8](data.prefix(132))
        if bytes.starts(with: Array("%PDF-".utf8)) { return "application/pdf" }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if bytes.count >= 132, Array(bytes[128..<132]) == Array("DICM".utf8) { return "application/dicom" }
        return nil
    }
}
