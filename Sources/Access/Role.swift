/// The roles of Hygie (issue 3). A staff account holds one role at one hospital; a patient
/// account is the patient's own.
public enum Role: String, Sendable, CaseIterable, Codable {
    case superAdmin = "super-admin"
    case hospitalAdmin = "hospital-admin"
    case physician
    case secretary
    case nurse
    /// Radiotherapy technologist ("manipulateur").
    case radiotherapyTechnologist = "radiotherapy-technologist"
    case medicalPhysicist = "medical-physicist"
    case dosimetrist
    /// Head of department ("chef de service").
    case coordinator
    case patient
    /// A backend service signed in with OAuth client credentials (SMART Backend Services),
    /// acting within its `system/` scopes. Never the role of an account.
    case system

    /// Roles a hospital admin may give to the staff of their hospital.
    public static let staffRoles: [Role] = [
        .physician, .secretary, .nurse, .radiotherapyTechnologist, .medicalPhysicist, .dosimetrist, .coordinator,
    ]

    /// Roles of the radiotherapy department, who follow the cases of their service.
    public static let radiotherapyRoles: Set<Role> = [.radiotherapyTechnologist, .medicalPhysicist, .dosimetrist, .coordinator]

    /// Whether accounts of this role are bound to one hospital.
    public var isBoundToHospital: Bool { ![.superAdmin, .patient, .system].contains(self) }

    /// Whether the account is backed by a Practitioner (every role but patient).
    public var isStaff: Bool { self != .patient && self != .system }

    /// The code written in PractitionerRole.code (system `Role.codeSystem`).
    public var code: String { rawValue }

    public static let codeSystem = "https://hygie.health/fhir/CodeSystem/role"
}

/// Physician specialties written in PractitionerRole.specialty (system `Specialty.codeSystem`).
public enum Specialty: String, Sendable, CaseIterable, Codable {
    case radiationOncology = "radiation-oncology"
    case surgery
    case anaesthesia
    case generalPractice = "general-practice"
    case cardiology
    case radiology
    case medicalOncology = "medical-oncology"

    public static let codeSystem = "https://hygie.health/fhir/CodeSystem/specialty"
}
