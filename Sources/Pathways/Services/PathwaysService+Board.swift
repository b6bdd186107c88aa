import Access
import Core
import FHIR
import FHIRStore
import Foundation

/// A case as the board's card shows it: pseudonymised, with its delays.
public struct CaseCard: Sendable {
    public var pathwayCase: PathwayCase
    public var patientLabel: String
    public var machineName: String?
    public var referringPhysicianName: String?
    public var sessionsDone: Int
    /// Hours since the case entered its stage.
    public var hoursInStage: Double
    /// Past the stage's target delay.
    public var overdue: Bool
}

extension PathwaysService {
    /// The board: the cases the principal may see, with what their cards show.
    public func board(_ filter: CaseFilter, by principal: Principal) async throws -> (definition: PathwayDefinition, cards: [CaseCard]) {
        let definition = try await definition(filter.pathway, tenant: principal.tenant)
        let cases = try await cases(filter, by: principal)
        let tenant = principal.tenant
        let labels = try await patientLabels(cases.map(\.patient), tenant: tenant)
        let sessions = try await sessionCounts(cases.map(\.id), tenant: tenant)
        let machines = Dictionary(uniqueKeysWithValues: try await machines(of: principal.hospital ?? "", tenant: tenant).map { ($0.id, $0.name) })
        let referrers = Set(cases.compactMap(\.referringPhysician))
        let names = try await fhir.displayNames("Practitioner", ids: Array(referrers), tenant: tenant)
        let now = FHIRDateTime.epochMillis(now())
        let cards = cases.map { found in
            let hours = Double(max(0, now - found.stageEntered)) / 3_600_000
            let target = definition.stage(found.stage)?.targetHours
            return CaseCard(
                pathwayCase: found, patientLabel: labels[found.patient] ?? found.patient, machineName: found.machine.flatMap { machines[$0] },
                referringPhysicianName: found.referringPhysician.flatMap { names[$0] }, sessionsDone: sessions[found.id] ?? 0, hoursInStage: hours,
                overdue: !found.closed && target.map { hours > Double($0) } == true)
        }
        return (definition, cards)
    }
}
