import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import Storage

/// A result as a physicist enters it.
public struct QAResultInput: Sendable, Equatable {
    public var test: String
    public var value: QAValue

    public init(test: String, value: QAValue) {
        self.test = test
        self.value = value
    }
}

extension PathwaysService {
    /// Records a QA session of a machine: an Observation per result, graded against the
    /// machine's list, grouped by a DiagnosticReport (preliminary, or final when the physicist
    /// validates at once). An action-level result notifies the hospital's technologists,
    /// physicists and coordinator.
    public func recordQA(
        _ machineID: String, frequency: QATestList.Frequency, results: [QAResultInput], validate: Bool, by principal: Principal
    ) async throws -> QASession {
        guard principal.role == .medicalPhysicist else { throw ServiceError(403, "forbidden", "Only a medical physicist records machine QA.") }
        let machine = try await machine(machineID, by: principal)
        let list = try await qaList(machineID, frequency, tenant: principal.tenant)
        guard !results.isEmpty else { throw ServiceError.invalid("Give at least one result.") }
        var seen: Set<String> = []
        var graded: [(QATest, QAValue, QAGrade)] = []
        for result in results {
            guard let test = list.test(result.test) else { throw ServiceError.invalid("Test \"\(result.test)\" is not on the \(frequency.rawValue) list.") }
            guard seen.insert(test.code).inserted else { throw ServiceError.invalid("Test \"\(test.code)\" is given twice.") }
            guard let grade = test.grade(result.value) else { throw ServiceError.invalid("The value of \"\(test.code)\" does not fit a \(test.kind.rawValue) test.") }
            graded.append((test, result.value, grade))
        }
        let when = Self.instant(now())
        let reportID = ids.makeID()
        let performer: JSON? = principal.practitioner.map { ["reference": .string("Practitioner/\($0)")] }
        var entries: [JSON] = []
        var references: [JSON] = []
        for (test, value, grade) in graded {
            let id = ids.makeID()
            references.append(["reference": .string("Observation/\(id)")])
            var observation: JSONObject = [
                "resourceType": "Observation", "id": .string(id), "status": "final",
                "category": [["coding": [["system": .string(Self.qaListSystem), "code": .string(frequency.rawValue)]]]],
                "code": ["coding": [["system": .string(Self.qaTestSystem), "code": .string(test.code), "display": .string(test.title.fr)]]],
                "subject": ["reference": .string("Device/\(machineID)")], "device": ["reference": .string("Device/\(machineID)")],
                "effectiveDateTime": .string(when),
                "interpretation": [
                    [
                        "coding": [
                            ["system": .string(Self.qaGradeSystem), "code": .string(grade.rawValue), "display": .string(grade.title.fr)],
                            ["system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": .string(grade == .ok ? "N" : grade == .tolerance ? "A" : "AA")],
                        ]
                    ]
                ],
            ]
            switch value {
            case .number(let number):
                var quantity: JSONObject = ["value": .number(JSONNumber(number))]
                if let unit = test.unit { quantity["unit"] = .string(unit) }
                observation["valueQuantity"] = .object(quantity)
                if let reference = test.reference, let tolerance = test.tolerance {
                    let margin = test.percent == true ? abs(reference) * tolerance / 100 : tolerance
                    observation["referenceRange"] = [
                        ["low": ["value": .number(JSONNumber(reference - margin))], "high": ["value": .number(JSONNumber(reference + margin))], "text": "tolérance"]
                    ]
                }
            case .passed(let passed):
                observation["valueBoolean"] = .bool(passed)
            case .choice(let code):
                let text = test.choices?.first { $0.code == code }?.text.fr ?? code
                observation["valueCodeableConcept"] = ["coding": [["system": .string("\(Self.qaTestSystem)/\(test.code)"), "code": .string(code), "display": .string(text)]]]
            }
            if let performer { observation["performer"] = [performer] }
            entries.append(HygieResources.put(.object(observation)))
        }
        let worst = graded.map(\.2).max() ?? .ok
        var report: JSONObject = [
            "resourceType": "DiagnosticReport", "id": .string(reportID), "status": validate ? "final" : "preliminary",
            "code": ["coding": [["system": .string(Self.qaListSystem), "code": .string(frequency.rawValue), "display": .string(frequency == .daily ? "QA quotidienne" : "QA hebdomadaire")]]],
            "subject": ["reference": .string("Device/\(machineID)")], "effectiveDateTime": .string(when), "issued": .string(when),
            "result": .array(references),
            "conclusion": .string(worst.title.fr),
            "conclusionCode": [["coding": [["system": .string(Self.qaGradeSystem), "code": .string(worst.rawValue)]]]],
        ]
        if let performer {
            report["performer"] = [performer]
            if validate { report["resultsInterpreter"] = [performer] }
        }
        entries.insert(HygieResources.put(.object(report)), at: 0)
        if worst == .action {
            entries += try await qaFailureNotices(machine, frequency: frequency, by: principal, sent: when)
        }
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("create"), action: .create, entities: ["DiagnosticReport/\(reportID)"],
            detail: "machine QA \(frequency.rawValue)")
        _ = try await fhir.transaction(HygieResources.transaction(entries), as: .system(principal.tenant), audit: [record]) { _ in }
        logger.info("machine QA recorded", metadata: ["machine": "\(machineID)", "grade": "\(worst.rawValue)", "validated": "\(validate)"])
        return try await qaSession(reportID, tenant: principal.tenant)
    }

    /// A physicist validates a recorded QA session: the report becomes final.
    public func validateQA(_ machineID: String, report reportID: String, by principal: Principal) async throws -> QASession {
        guard principal.role == .medicalPhysicist else { throw ServiceError(403, "forbidden", "Only a medical physicist validates machine QA.") }
        _ = try await machine(machineID, by: principal)
        guard PrimitiveType.isValidID(reportID), let stored = try? await fhir.read("DiagnosticReport", reportID, as: .system(principal.tenant)),
            var report = try stored.json().objectValue, Self.id(of: report["subject"]?["reference"]?.stringValue, type: "Device") == machineID
        else { throw ServiceError.notFound("QA session \(reportID)") }
        guard report["status"]?.stringValue == "preliminary" else { throw ServiceError.conflict("This QA session is already validated.") }
        report.removeValue(forKey: "meta")
        report["status"] = "final"
        if let practitioner = principal.practitioner { report["resultsInterpreter"] = [["reference": .string("Practitioner/\(practitioner)")]] }
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("update"), action: .update, entities: ["DiagnosticReport/\(reportID)"], detail: "machine QA validated")
        do {
            _ = try await fhir.transaction(
                HygieResources.transaction([HygieResources.put(.object(report), ifMatch: stored.version)]), as: .system(principal.tenant), audit: [record]
            ) { _ in }
        } catch let error where Self.isConflict(error) {
            throw ServiceError(409, "changed-meanwhile", "Someone validated this QA session at the same time.")
        }
        return try await qaSession(reportID, tenant: principal.tenant)
    }

    /// Today's QA state of a machine: the newest daily session of the day decides.
    public func qaStatus(of machineID: String, by principal: Principal) async throws -> QAStatus {
        _ = try await machine(machineID, by: principal)
        return try await qaStatus(of: machineID, tenant: principal.tenant)
    }

    func qaStatus(of machineID: String, tenant: TenantID) async throws -> QAStatus {
        let today = day(of: now())
        let reports = try await fhir.searchAll(
            "DiagnosticReport",
            [
                ("subject", "Device/\(machineID)"), ("code", "\(Self.qaListSystem)|daily"), ("date", "ge\(today.start)"), ("date", "lt\(today.end)"),
            ], tenant: tenant)
        guard let newest = try reports.map({ ($0, try $0.json()) }).max(by: { ($0.1["issued"]?.stringValue ?? "") < ($1.1["issued"]?.stringValue ?? "") })
        else { return QAStatus(machine: machineID, day: today.name, state: .missing) }
        let session = try await qaSession(newest.0.id, tenant: tenant)
        let list = try await qaList(machineID, .daily, tenant: tenant)
        let state: QAStatus.State
        if session.worst == .action {
            state = .failed
        } else if !Set(list.tests.map(\.code)).isSubset(of: Set(session.results.map(\.test))) {
            state = .incomplete
        } else if !session.validated {
            state = .awaitingValidation
        } else {
            state = .ok
        }
        return QAStatus(machine: machineID, day: today.name, state: state, report: session.id, worst: session.worst)
    }

    /// A machine's QA sessions, newest first.
    public func qaHistory(_ machineID: String, limit: Int = 50, by principal: Principal) async throws -> [QASession] {
        _ = try await machine(machineID, by: principal)
        let reports = try await fhir.searchAll("DiagnosticReport", [("subject", "Device/\(machineID)"), ("_sort", "-date")], tenant: principal.tenant, limit: limit)
        var sessions: [QASession] = []
        for report in reports.prefix(limit) { sessions.append(try await qaSession(report.id, tenant: principal.tenant)) }
        return sessions.sorted { $0.recorded > $1.recorded }
    }

    func qaSession(_ reportID: String, tenant: TenantID) async throws -> QASession {
        let report = try await fhir.read("DiagnosticReport", reportID, as: .system(tenant)).json()
        let ids = (report["result"]?.arrayValue ?? []).compactMap { Self.id(of: $0["reference"]?.stringValue, type: "Observation") }
        let observations = ids.isEmpty ? [] : try await fhir.searchAll("Observation", [("_id", ids.joined(separator: ","))], tenant: tenant)
        let results = try observations.map { stored -> QASession.Result in
            let json = try stored.json()
            let test = json["code"]?["coding"]?.arrayValue?.first?["code"]?.stringValue ?? ""
            let grade = json["interpretation"]?.arrayValue?.first?["coding"]?.arrayValue?.first { $0["system"]?.stringValue == Self.qaGradeSystem }?["code"]?
                .stringValue.flatMap(QAGrade.init(rawValue:)) ?? .action
            let value: String =
                json["valueQuantity"]?["value"]?.numberValue?.text ?? json["valueBoolean"]?.boolValue.map { $0 ? "true" : "false" }
                ?? json["valueCodeableConcept"]?["coding"]?.arrayValue?.first?["code"]?.stringValue ?? ""
            return QASession.Result(test: test, value: value, grade: grade)
        }.sorted { $0.test < $1.test }
        return QASession(
            id: reportID, frequency: QATestList.Frequency(rawValue: report["code"]?["coding"]?.arrayValue?.first?["code"]?.stringValue ?? "") ?? .daily,
            recorded: report["issued"]?.stringValue ?? "", validated: report["status"]?.stringValue == "final",
            performer: Self.id(of: report["performer"]?.arrayValue?.first?["reference"]?.stringValue, type: "Practitioner"),
            validator: Self.id(of: report["resultsInterpreter"]?.arrayValue?.first?["reference"]?.stringValue, type: "Practitioner"),
            worst: results.map(\.grade).max() ?? .ok, results: results)
    }

    func qaFailureNotices(_ machine: TreatmentMachine, frequency: QATestList.Frequency, by principal: Principal, sent: String) async throws -> [JSON] {
        var recipients = try await staff(of: machine.hospital, roles: [.radiotherapyTechnologist, .medicalPhysicist, .coordinator], tenant: principal.tenant)
        if let practitioner = principal.practitioner { recipients.remove(practitioner) }
        guard !recipients.isEmpty else { return [] }
        let text = "QA \(frequency == .daily ? "quotidienne" : "hebdomadaire") de \(machine.name) hors niveau d'action : aucune séance ne peut démarrer sur cette machine."
        return [
            HygieResources.put(
                HygieResources.notification(
                    id: ids.makeID(), patient: nil, recipients: recipients.sorted().map { "Practitioner/\($0)" }, sender: principal.reference, sent: sent,
                    code: "machine-qa-failed", text: text, about: "Device/\(machine.id)"))
        ]
    }
}
