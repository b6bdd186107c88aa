import Core
import FHIR
import FHIRStore
import SyntheticData

/// The demonstration data set of `hygie serve --demo`: one hospital, its physicians, and
/// synthetic patients with encounters, conditions and observations. Later features add
/// their own demonstration records here.
public enum DemoData {
    public static let patientCount = 24

    /// Loads the data set when the tenant holds no resource yet; returns the number of
    /// resources written.
    @discardableResult
    public static func loadIfEmpty(into store: FHIRStore, tenant: TenantID) async throws -> Int {
        var probe = SearchQuery(resourceType: nil)
        probe.count = 1
        probe.total = TotalMode.none
        guard try await store.search(probe, as: .system(tenant)).matches.isEmpty else { return 0 }
        return try await load(into: store, tenant: tenant)
    }

    @discardableResult
    public static func load(into store: FHIRStore, tenant: TenantID) async throws -> Int {
        var written = 0
        let staff = try await store.process(bundle: staffBundle(), as: .system(tenant), preference: .minimal)
        let locations = staff.json?["entry"]?.arrayValue?.compactMap { $0["response"]?["location"]?.stringValue } ?? []
        let references = locations.map { location in location.split(separator: "/").prefix(2).joined(separator: "/") }
        written += references.count
        let population = SyntheticPopulation(
            seed: 2026, practitionerReferences: references.filter { $0.hasPrefix("Practitioner/") },
            organizationReference: references.first { $0.hasPrefix("Organization/") })
        for index in 0..<patientCount {
            let bundle = population.patientBundle(index)
            _ = try await store.process(bundle: bundle, as: .system(tenant), preference: .minimal)
            written += bundle["entry"]?.arrayValue?.count ?? 0
        }
        return written
    }

    static func staffBundle() -> JSON {
        let hospital: JSON = [
            "resourceType": "Organization", "active": true, "name": "Centre Hospitalier Hygie",
            "identifier": [["system": "urn:oid:1.2.250.1.71.4.2.2", "value": "690000001"]],
            "type": [["coding": [["system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov"]]]],
            "address": [["line": ["1 place de l'Hôpital"], "city": "Lyon", "postalCode": "69003", "country": "FR"]],
        ]
        func practitioner(_ family: String, _ given: String, _ rpps: String) -> JSON {
            [
                "resourceType": "Practitioner", "active": true,
                "identifier": [["system": "urn:oid:1.2.250.1.71.4.2.1", "value": .string(rpps)]],
                "name": [["family": .string(family), "given": [.string(given)], "prefix": ["Dr"]]],
            ]
        }
        let entries: [JSON] = [
            ["fullUrl": "urn:uuid:0d6f3a52-1b7e-4c2a-9f00-000000000001", "resource": hospital, "request": ["method": "POST", "url": "Organization"]],
            ["resource": practitioner("Morel", "Claire", "10001234567"), "request": ["method": "POST", "url": "Practitioner"]],
            ["resource": practitioner("Nguyen", "Antoine", "10001234568"), "request": ["method": "POST", "url": "Practitioner"]],
            ["resource": practitioner("Benali", "Sarah", "10001234569"), "request": ["method": "POST", "url": "Practitioner"]],
        ]
        return ["resourceType": "Bundle", "type": "transaction", "entry": .array(entries)]
    }
}
