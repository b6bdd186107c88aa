import Access
import Core
import FHIR
import FHIRStore
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Records

/// The administration pages: hospitals and their admins (super admin), staff (hospital
/// admin), patients (secretary), the audit log (admins). Every rule is the one `/api/v1`
/// applies: the pages call the same Identity services.
extension WebController {
    func addAdminRoutes(to router: Router<AppRequestContext>) {
        router.get("/admin/hospitals", use: page { request, context in
            try await signedIn(request, context) { session in try await hospitalsPage(request, session) }
        })
        router.post("/admin/hospitals", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                try await act(request, session, success: "saved", page: { try await hospitalsPage($0, $1, error: $2, flash: $3) }) {
                    _ = try await identity.createHospital(by: principal(session, context), name: form["name"] ?? "", finess: Self.optional(form["finess"]))
                }
            }
        })
        router.post("/admin/hospitals/:id/active", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                try await act(request, session, success: "saved", page: { try await hospitalsPage($0, $1, error: $2, flash: $3) }) {
                    _ = try await identity.updateHospital(
                        by: principal(session, context), id: context.parameters.get("id") ?? "", name: nil, active: form["active"] == "true")
                }
            }
        })
        router.post("/admin/hospitals/:id/delete", use: page { request, context in
            try await signedIn(request, context, form: true) { session, _ in
                try await act(request, session, success: "deleted", page: { try await hospitalsPage($0, $1, error: $2, flash: $3) }) {
                    try await identity.deleteHospital(by: principal(session, context), id: context.parameters.get("id") ?? "")
                }
            }
        })
        router.post("/admin/hospital-admins", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                try await act(request, session, success: "created_with_default", page: { try await hospitalsPage($0, $1, error: $2, flash: $3) }) {
                    _ = try await identity.createHospitalAdmin(
                        by: principal(session, context), try Self.newAccount(form, role: .hospitalAdmin), hospital: form["hospital"] ?? "")
                }
            }
        })
        router.get("/staff", use: page { request, context in
            try await signedIn(request, context) { session in try await staffPage(request, session) }
        })
        router.post("/staff", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                try await act(request, session, success: "created_with_default", page: { try await staffPage($0, $1, error: $2, flash: $3) }) {
                    guard let role = Role(rawValue: form["role"] ?? "") else { throw IdentityError.invalid("Choose a role.") }
                    _ = try await identity.createStaff(by: principal(session, context), try Self.newAccount(form, role: role))
                }
            }
        })
        router.post("/accounts/:id/active", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                try await act(request, session, success: "saved", page: accountsPage(for: session)) {
                    _ = try await identity.updateAccount(
                        by: principal(session, context), AccountID(context.parameters.get("id") ?? ""), email: nil, active: form["active"] == "true")
                }
            }
        })
        router.post("/accounts/:id/delete", use: page { request, context in
            try await signedIn(request, context, form: true) { session, _ in
                try await act(request, session, success: "deleted", page: accountsPage(for: session)) {
                    try await identity.deleteAccount(by: principal(session, context), AccountID(context.parameters.get("id") ?? ""))
                }
            }
        })
        router.get("/patients", use: page { request, context in
            try await signedIn(request, context) { session in try await patientsPage(request, session, principal(session, context)) }
        })
        router.get("/patients/new", use: page { request, context in
            try await signedIn(request, context) { session in try await newPatientPage(request, session) }
        })
        router.post("/patients", use: page { request, context in
            try await signedIn(request, context) { session in
                let fields = try await Self.formValues(request)
                let form = Dictionary(fields, uniquingKeysWith: { first, _ in first })
                guard form["_csrf"] == session.csrfToken else { return errorPage(request, session, "error_csrf", .forbidden) }
                return try await act(request, session, success: "created_with_default", page: { try await newPatientPage($0, $1, error: $2, flash: $3) }) {
                    var new = try Self.newAccount(form, role: .patient)
                    new.birthDate = Self.optional(form["birth_date"])
                    new.gender = Self.optional(form["gender"])
                    _ = try await identity.createPatient(
                        by: principal(session, context), new, physicians: fields.filter { $0.0 == "physician" }.map(\.1))
                }
            }
        })
        router.get("/audit", use: page { request, context in
            try await signedIn(request, context) { session in try await auditPage(request, session, principal(session, context)) }
        })
    }

    func principal(_ session: WebSession, _ context: AppRequestContext) -> Principal {
        session.account.principal(address: context.remoteAddress)
    }

    /// Runs an administrative action and shows the page again with its outcome.
    func act(
        _ request: Request, _ session: WebSession, success: String, page: (Request, WebSession, String?, String?) async throws -> Response,
        _ action: () async throws -> Void
    ) async throws -> Response {
        let language = WebRenderer.language(request)
        do {
            try await action()
            return try await page(request, session, nil, renderer.text(success, language))
        } catch let error as IdentityError {
            if error.status == 403 { return errorPage(request, session, "error_forbidden", .forbidden) }
            return try await page(request, session, message(error, request), nil)
        }
    }

    func hospitalsPage(_ request: Request, _ session: WebSession, error: String? = nil, flash: String? = nil) async throws -> Response {
        let principal = session.account.principal()
        guard Policy.permits(principal, .manageHospitals) else { return errorPage(request, session, "error_forbidden", .forbidden) }
        let hospitals = try await identity.hospitals(by: principal)
        let admins = try await identity.accounts(by: principal, hospital: nil)
        return render(
            "hospitals", title: "hospitals_title", request, session: session,
            [
                "hospitals": hospitals.map { ["id": $0.id, "name": $0.name, "finess": $0.finess ?? "", "active": $0.active] as [String: Any] },
                "accounts": try await accountRows(admins, request, tenant: principal.tenant, viewer: principal.role),
            ], error: error, flash: flash)
    }

    func staffPage(_ request: Request, _ session: WebSession, error: String? = nil, flash: String? = nil) async throws -> Response {
        let principal = session.account.principal()
        guard let hospital = principal.hospital, Policy.permits(principal, .manageStaff(hospital: hospital)) else {
            return errorPage(request, session, "error_forbidden", .forbidden)
        }
        let language = WebRenderer.language(request)
        let query = request.uri.queryParameters["q"].map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
        var rows = try await accountRows(
            try await identity.accounts(by: principal, hospital: hospital), request, tenant: principal.tenant, viewer: principal.role)
        if !query.isEmpty {
            let needle = StringNormalizer.normalize(query)
            rows = rows.filter { row in
                ["name", "username", "email"].contains { StringNormalizer.normalize(row[$0] as? String ?? "").contains(needle) }
            }
        }
        return render(
            "staff", title: "staff_title", request, session: session,
            [
                "accounts": rows, "query": query,
                "roles": Role.staffRoles.map { ["code": $0.rawValue, "label": renderer.text("role_\($0.rawValue)", language)] },
                "specialties": Specialty.allCases.map(\.rawValue),
            ], error: error, flash: flash)
    }

    /// The page an account action returns to: hospitals for a super admin, staff otherwise.
    func accountsPage(for session: WebSession) -> (Request, WebSession, String?, String?) async throws -> Response {
        if session.account.role == .superAdmin {
            return { request, session, error, flash in try await hospitalsPage(request, session, error: error, flash: flash) }
        }
        return { request, session, error, flash in try await staffPage(request, session, error: error, flash: flash) }
    }

    func accountRows(_ accounts: [Account], _ request: Request, tenant: TenantID, viewer: Role) async throws -> [[String: Any]] {
        let language = WebRenderer.language(request)
        let names = try await identity.displayNames("Practitioner", ids: accounts.compactMap(\.practitioner), tenant: tenant)
        return accounts.map { account in
            [
                "id": account.id.rawValue, "username": account.username, "email": account.email ?? "", "active": account.active,
                "name": account.practitioner.flatMap { names[$0] } ?? "", "roleLabel": renderer.text("role_\(account.role.rawValue)", language),
                // Hospital admins are managed by a super admin only: no buttons for them elsewhere.
                "manageable": account.role != .hospitalAdmin || viewer == .superAdmin,
            ]
        }
    }

    func newPatientPage(_ request: Request, _ session: WebSession, error: String? = nil, flash: String? = nil) async throws -> Response {
        let principal = session.account.principal()
        guard let hospital = principal.hospital, Policy.permits(principal, .createPatient(hospital: hospital)) else {
            return errorPage(request, session, "error_forbidden", .forbidden)
        }
        let physicians = try await identity.physicians(of: hospital, tenant: principal.tenant)
        return render(
            "patient-new", title: "new_patient_title", request, session: session,
            ["physicians": physicians.map { ["practitioner": $0.practitioner, "name": $0.name] }], error: error, flash: flash)
    }

    func patientsPage(_ request: Request, _ session: WebSession, _ principal: Principal) async throws -> Response {
        guard principal.role.isStaff, ![.hospitalAdmin, .superAdmin].contains(principal.role) else { return errorPage(request, session, "error_forbidden", .forbidden) }
        // As the caller, so that the access rules filter the list and the read is audited.
        let query = request.uri.queryParameters["q"].map(String.init).flatMap(Self.optional)
        let page = try await records.patients(matching: query, limit: 100, cursor: nil, by: principal)
        let patients = page.items.map { card -> [String: String] in
            ["id": card.id, "name": card.name, "birthDate": card.birthDate.map { Self.display($0) } ?? ""]
        }
        return render("patients", title: "patients_title", request, session: session, ["patients": patients, "isSecretary": principal.role == .secretary, "query": query ?? ""])
    }

    func auditPage(_ request: Request, _ session: WebSession, _ principal: Principal) async throws -> Response {
        let parameters = request.uri.queryParameters
        let patient = parameters["patient"].map(String.init).flatMap(Self.optional)
        let account = parameters["account"].map(String.init).flatMap(Self.optional)
        do {
            let events = try await identity.auditEvents(by: principal, patient: patient, account: account, since: nil, count: 200)
            let rows = events.map { event -> [String: String] in
                [
                    "recorded": event.recorded, "event": event.event, "action": event.action, "account": event.account ?? "",
                    "role": event.role ?? "", "outcome": event.outcome, "patients": event.patients.joined(separator: ", "),
                ]
            }
            return render("audit", title: "audit_title", request, session: session, ["events": rows, "patient": patient ?? "", "account": account ?? ""])
        } catch let error as IdentityError where error.status == 403 {
            return errorPage(request, session, "error_forbidden", .forbidden)
        }
    }

    static func newAccount(_ form: [String: String], role: Role) throws -> IdentityService.NewAccount {
        var specialty: Specialty?
        if let code = optional(form["specialty"]) {
            guard let known = Specialty(rawValue: code) else { throw IdentityError.invalid("Unknown specialty \(code).") }
            specialty = known
        }
        return IdentityService.NewAccount(
            username: form["username"] ?? "", email: optional(form["email"]), given: form["given"] ?? "", family: form["family"] ?? "",
            role: role, specialty: specialty, rpps: optional(form["rpps"]))
    }

    static func optional(_ value: String?) -> String? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }
}
