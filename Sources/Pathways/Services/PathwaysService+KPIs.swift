import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import Storage

/// The coordinator's indicators of a pathway, computed from the signed transitions and the
/// sessions of the hospital's cases.
public struct PathwayKPIs: Sendable {
    public struct StageFigures: Sendable, Equatable {
        public var stage: String
        /// Mean hours a case spent in the stage before leaving it (completed stays only).
        public var meanHours: Double?
        public var stays: Int
        /// Share of moves out of the stage that went backward.
        public var rollbackRate: Double?
        public var casesNow: Int
    }

    public struct DelayFigures: Sendable, Equatable {
        public var code: String
        public var title: LocalizedText
        public var hours: Int
        public var measured: Int
        public var met: Int
    }

    public var stages: [StageFigures]
    /// Mean hours from entering the prescription stage to the first session.
    public var prescriptionToFirstSessionHours: Double?
    public var blockedByRole: [Role: Int]
    public var blockedByMachine: [String: Int]
    public var delays: [DelayFigures]
    /// Cases in the same stage for more than `stalledAfterHours`, longest first.
    public var stalled: [CaseCard]
    public var stalledAfterHours: Int
}

extension PathwaysService {
    /// Hours after which a case waiting in one stage counts as stalled (and its team is told).
    public static let stalledAfterHours = 24

    public func kpis(pathway: String = "radiotherapy", by principal: Principal) async throws -> PathwayKPIs {
        guard Self.worksOnCases(principal) else { throw ServiceError.forbidden }
        let tenant = principal.tenant
        let (definition, cards) = try await board(CaseFilter(pathway: pathway), by: principal)
        let ids = cards.map(\.pathwayCase.id)
        var steps: [String: [(from: String?, to: String, at: Int64)]] = [:]
        for chunk in ids.chunks(of: 100) {
            let provenances = try await fhir.searchAll("Provenance", [("target", chunk.map { "Task/\($0)" }.joined(separator: ","))], tenant: tenant)
            for stored in provenances {
                let json = try stored.json()
                guard let target = json["target"]?.arrayValue?.first?["reference"]?.stringValue, let caseID = Self.id(of: target, type: "Task"),
                    let to = json["activity"]?["coding"]?.arrayValue?.first?["code"]?.stringValue, let at = Self.millis(json["recorded"]?.stringValue)
                else { continue }
                steps[caseID, default: []].append((json["entity"]?.arrayValue?.first?["what"]?["display"]?.stringValue, to, at))
            }
        }
        var firstSession: [String: Int64] = [:]
        for chunk in ids.chunks(of: 100) {
            let identifiers = chunk.map { "\(Self.caseSystem)|\($0)" }.joined(separator: ",")
            for stored in try await fhir.searchAll("Procedure", [("identifier", identifiers), ("status", "completed")], tenant: tenant) {
                let json = try stored.json()
                guard let caseID = json["identifier"]?.arrayValue?.first?["value"]?.stringValue, let at = Self.millis(json["performedDateTime"]?.stringValue) else { continue }
                firstSession[caseID] = min(firstSession[caseID] ?? at, at)
            }
        }
        var stayHours: [String: [Double]] = [:]
        var leftForward: [String: Int] = [:]
        var leftBackward: [String: Int] = [:]
        var entered: [String: [String: Int64]] = [:]
        for (caseID, history) in steps {
            let ordered = history.sorted { $0.at < $1.at }
            for (index, step) in ordered.enumerated() {
                if entered[caseID]?[step.to] == nil { entered[caseID, default: [:]][step.to] = step.at }
                guard index > 0 else { continue }
                let previous = ordered[index - 1]
                stayHours[previous.to, default: []].append(Double(step.at - previous.at) / 3_600_000)
                if definition.isBackward(from: previous.to, to: step.to) { leftBackward[previous.to, default: 0] += 1 } else { leftForward[previous.to, default: 0] += 1 }
            }
        }
        let stages = definition.stages.map { stage -> PathwayKPIs.StageFigures in
            let stays = stayHours[stage.code] ?? []
            let out = (leftForward[stage.code] ?? 0) + (leftBackward[stage.code] ?? 0)
            return PathwayKPIs.StageFigures(
                stage: stage.code, meanHours: stays.isEmpty ? nil : stays.reduce(0, +) / Double(stays.count), stays: stays.count,
                rollbackRate: out == 0 ? nil : Double(leftBackward[stage.code] ?? 0) / Double(out),
                casesNow: cards.filter { $0.pathwayCase.stage == stage.code && !$0.pathwayCase.closed }.count)
        }
        let prescriptionStage = definition.regulatoryDelays.first?.to ?? definition.stages.dropFirst().first?.code ?? ""
        let waits = ids.compactMap { id -> Double? in
            guard let start = entered[id]?[prescriptionStage], let session = firstSession[id] else { return nil }
            return Double(session - start) / 3_600_000
        }
        let delays = definition.regulatoryDelays.map { delay -> PathwayKPIs.DelayFigures in
            let spans = ids.compactMap { id -> Double? in
                guard let from = entered[id]?[delay.from], let to = entered[id]?[delay.to] else { return nil }
                return Double(to - from) / 3_600_000
            }
            return PathwayKPIs.DelayFigures(
                code: delay.code, title: delay.title, hours: delay.hours, measured: spans.count, met: spans.filter { $0 <= Double(delay.hours) }.count)
        }
        // Blocked: past the stage's target, or ready for treatment on a machine not OK today.
        var blockedByRole: [Role: Int] = [:]
        var blockedByMachine: [String: Int] = [:]
        var machineOK: [String: Bool] = [:]
        for card in cards where !card.pathwayCase.closed {
            let found = card.pathwayCase
            var blocked = card.overdue
            if let machine = found.machine, definition.transitions.contains(where: { $0.from == found.stage && $0.rules.contains { $0.kind == .machineQAOK } }) {
                if machineOK[machine] == nil { machineOK[machine] = try await qaStatus(of: machine, tenant: tenant).okToday }
                blocked = blocked || machineOK[machine] == false
            }
            guard blocked else { continue }
            let forward = definition.transitions.filter { $0.from == found.stage && !definition.isBackward(from: $0.from, to: $0.to) }
            for role in Set(forward.flatMap { definition.roles(for: $0) }) { blockedByRole[role, default: 0] += 1 }
            blockedByMachine[card.machineName ?? "—", default: 0] += 1
        }
        let stalled = cards.filter { !$0.pathwayCase.closed && $0.hoursInStage > Double(Self.stalledAfterHours) }.sorted { $0.hoursInStage > $1.hoursInStage }
        return PathwayKPIs(
            stages: stages, prescriptionToFirstSessionHours: waits.isEmpty ? nil : waits.reduce(0, +) / Double(waits.count), blockedByRole: blockedByRole,
            blockedByMachine: blockedByMachine, delays: delays, stalled: stalled, stalledAfterHours: Self.stalledAfterHours)
    }

    /// The scheduled reminder: each case waiting more than `stalledAfterHours` in one stage is
    /// reported once per stay to the staff of its hospital who may move it on. Returns how
    /// many notices were written.
    @discardableResult
    public func notifyStalledCases(tenant: TenantID, pathway: String = "radiotherapy") async throws -> Int {
        let definition = try await definition(pathway, tenant: tenant)
        let tasks = try await fhir.searchAll("Task", [("code", "\(Self.pathwaySystem)|\(pathway)"), ("status:not", "completed")], tenant: tenant)
        let now = FHIRDateTime.epochMillis(now())
        var written = 0
        for stored in tasks {
            guard let found = PathwayCase(task: try stored.json(), version: stored.version),
                Double(now - found.stageEntered) / 3_600_000 > Double(Self.stalledAfterHours)
            else { continue }
            // One notice per stay: its id names the Task version that entered the stage.
            let noticeID = "stalled-\(found.id)-\(found.version)"
            if (try? await fhir.read("Communication", noticeID, as: .system(tenant))) != nil { continue }
            let forward = definition.transitions.filter { $0.from == found.stage && !definition.isBackward(from: $0.from, to: $0.to) }
            let roles = Set(forward.flatMap { definition.roles(for: $0) } + (definition.stage(found.stage)?.roles ?? []))
            let recipients = try await staff(of: found.hospital, roles: roles.union([.coordinator]), tenant: tenant)
            guard !recipients.isEmpty, let stage = definition.stage(found.stage) else { continue }
            let label = try await patientLabel(found.patient, tenant: tenant)
            let days = Double(now - found.stageEntered) / 86_400_000
            let notice = HygieResources.notification(
                id: noticeID, patient: nil, recipients: recipients.sorted().map { "Practitioner/\($0)" }, sender: nil, sent: Self.instant(self.now()),
                code: "pathway-stalled", text: "Dossier \(label) en « \(stage.title.fr) » depuis \(String(format: "%.1f", days)) jours.", about: "Task/\(found.id)")
            _ = try await fhir.transaction(HygieResources.transaction([HygieResources.put(notice)]), as: .system(tenant)) { _ in }
            written += 1
        }
        if written > 0 { logger.info("stalled pathway cases notified", metadata: ["cases": "\(written)"]) }
        return written
    }
}
