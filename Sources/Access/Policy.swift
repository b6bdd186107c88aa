import Core
import FHIR
import FHIRStore

/// The one policy engine (issue 3): what each role may see and change, stated once and
/// turned into the grants FHIRStore enforces in SQL, and the answers to the administrative
/// "may I" questions that are not about clinical rows.
public enum Policy {
    /// Directories every signed-in person may read: who works where, places, schedules.
    public static let directoryTypes: Set<String> = [
        "Organization", "Practitioner", "PractitionerRole", "Location", "HealthcareService", "Schedule", "Slot",
        "Medication", "Questionnaire", "ValueSet", "CodeSystem",
    ]

    /// Resource types that make up a patient's record: the Patient compartment (FHIR R4) and
    /// the Patient itself, without the audit trail.
    public static let recordTypes: Set<String> = Set(PatientCompartment.parameters.keys).union(["Patient"]).subtracting(["AuditEvent"])

    /// Types Identity and Scheduling own: changed through `/api/v1`, where their rules run,
    /// never directly through `/fhir` by a person.
    public static let managedTypes: Set<String> = [
        "Organization", "Practitioner", "PractitionerRole", "CareTeam", "AuditEvent", "Appointment", "Schedule", "Slot",
    ]

    /// What a secretary sees of a patient: demographics, appointments and care links.
    public static let administrativeTypes: Set<String> = ["Patient", "Appointment", "AppointmentResponse", "CareTeam"]

    /// What the radiotherapy roles write in the cases of their service (the pathway issue's
    /// tasks, checklists, signed validations, QA results and sessions), and the images they
    /// import for them (a case is "to prepare" until its imaging is imported).
    public static let radiotherapyWriteTypes: Set<String> = [
        "Task", "QuestionnaireResponse", "Provenance", "Observation", "DiagnosticReport", "Procedure", "Communication", "ImagingStudy",
    ]

    /// The grants of `principal`, narrowed by the token's SMART scopes when there are any.
    public static func caller(_ principal: Principal) -> Caller {
        var (read, write) = grants(principal)
        if let scopes = principal.scopes {
            // A backend service acts on `system/` scopes; a person's app on `user/` and
            // `patient/` ones (the patient's own record for a patient account).
            // `patient/` scopes mean "the patient in context": Hygie gives that context only to
            // a patient's own sign-in, so other roles' patient/ scopes grant nothing.
            let contexts: Set<ScopeSet.Context> =
                switch principal.role {
                case .system: [.system]
                case .patient: [.user, .patient]
                default: [.user]
                }
            read = narrow(read, to: scopes.types(with: [.read, .search], in: contexts))
            write = narrow(write, to: scopes.types(with: [.create, .update, .delete], in: contexts))
        }
        return Caller(tenant: principal.tenant, read: read, write: write, agent: principal.auditAgent)
    }

    static func grants(_ principal: Principal) -> (read: Grant, write: Grant) {
        let clinicalWrite = recordTypes.subtracting(managedTypes)
        switch principal.role {
        case .superAdmin:
            return (Grant(openTypes: directoryTypes.union(["AuditEvent"])), .nothing)
        case .hospitalAdmin:
            var read = Grant(openTypes: directoryTypes)
            if let hospital = principal.hospital { read.byPractitioner = [PractitionerReference("AuditEvent", "agent", .ofOrganization(hospital))] }
            return (read, .nothing)
        case .physician:
            var patients = PatientSet.linkedTo(.ids(principal.practitioner.map { [$0] } ?? []))
            if !principal.breakGlass.isEmpty { patients = .union([patients, .ids(principal.breakGlass)]) }
            return (
                Grant(openTypes: directoryTypes, patients: patients, compartmentTypes: recordTypes),
                Grant(patients: patients, compartmentTypes: clinicalWrite)
            )
        case .secretary:
            // Her hospital's linked patients, and every appointment asked of its physicians
            // (a request comes before any link: she validates it).
            var read = Grant(openTypes: directoryTypes, patients: hospitalPatients(principal), compartmentTypes: administrativeTypes)
            if let hospital = principal.hospital { read.byPractitioner = [PractitionerReference("Appointment", "practitioner", .ofOrganization(hospital))] }
            return (read, Grant(patients: hospitalPatients(principal), compartmentTypes: ["Patient"]))
        case .nurse:
            return (Grant(openTypes: directoryTypes, patients: hospitalPatients(principal), compartmentTypes: recordTypes), .nothing)
        case .radiotherapyTechnologist, .medicalPhysicist, .dosimetrist, .coordinator:
            let patients = hospitalPatients(principal)
            return (
                Grant(openTypes: directoryTypes, patients: patients, compartmentTypes: recordTypes),
                Grant(patients: patients, compartmentTypes: radiotherapyWriteTypes)
            )
        case .system:
            // Bounded by its scopes alone (see `caller`): a client without system scopes
            // gets nothing.
            return principal.scopes == nil ? (.nothing, .nothing) : (.everything, .everything)
        case .patient:
            let own = PatientSet.ids(principal.patient.map { [$0] } ?? [])
            return (Grant(openTypes: directoryTypes, patients: own, compartmentTypes: recordTypes), .nothing)
        }
    }

    /// Patients linked to any practitioner of the principal's hospital.
    static func hospitalPatients(_ principal: Principal) -> PatientSet {
        guard let hospital = principal.hospital else { return .none }
        return .linkedTo(.ofOrganization(hospital))
    }

    static func narrow(_ grant: Grant, to types: Set<String>?) -> Grant {
        guard let types else { return grant }
        if grant.everything { return Grant(openTypes: types) }
        var narrowed = grant
        narrowed.openTypes = grant.openTypes.intersection(types)
        narrowed.compartmentTypes = (grant.compartmentTypes ?? types).intersection(types)
        if narrowed.compartmentTypes?.isEmpty == true { narrowed.patients = .none }
        return narrowed
    }
}

extension Principal {
    /// Who is named in the audit trail for this principal's actions.
    public var auditAgent: AuditAgent {
        AuditAgent(account: account, who: reference, role: role.rawValue, address: address)
    }

    /// A feature service writes the resources it owns itself, after its own checks, in the name
    /// of the principal who asked (so that the audit trail names them).
    public var serviceCaller: Caller {
        Caller(tenant: tenant, read: .everything, write: .everything, agent: auditAgent)
    }
}
