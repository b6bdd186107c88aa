/// Administrative actions on hospitals and accounts, and who may take them (issue 3, "these
/// rules, exactly"). Clinical rows are governed by grants (`Policy.caller`); these are the
/// questions about the directory itself.
public enum AdminAction: Sendable, Equatable {
    /// Create, edit, deactivate or delete a hospital.
    case manageHospitals
    /// Create, edit, deactivate or delete a hospital-admin account.
    case manageHospitalAdmins
    /// Create, edit, deactivate or delete a staff account of this hospital.
    case manageStaff(hospital: String)
    /// List the staff of this hospital.
    case viewStaff(hospital: String)
    /// Create a patient account, linked to physicians of this hospital.
    case createPatient(hospital: String)
    /// Read the audit trail (all of it, or one hospital's).
    case readAudit(hospital: String?)
}

extension Policy {
    /// Whether `principal` may take `action`.
    public static func permits(_ principal: Principal, _ action: AdminAction) -> Bool {
        switch action {
        case .manageHospitals, .manageHospitalAdmins:
            return principal.role == .superAdmin
        case .manageStaff(let hospital):
            return principal.role == .hospitalAdmin && principal.hospital == hospital
        case .viewStaff(let hospital):
            return principal.role == .superAdmin || (principal.role.isBoundToHospital && principal.hospital == hospital)
        case .createPatient(let hospital):
            return principal.role == .secretary && principal.hospital == hospital
        case .readAudit(let hospital):
            if principal.role == .superAdmin { return true }
            return principal.role == .hospitalAdmin && hospital != nil && principal.hospital == hospital
        }
    }
}
