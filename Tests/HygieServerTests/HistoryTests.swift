import Core
import FHIR
import HTTPTypes
import Testing

@Suite struct HistoryTests {
    @Test func instanceHistoryListsEveryVersionNewestFirst() async throws {
        try await withTestApp { fhir in
            let id = try await fhir.create(Fixture.patient(family: "H1"))
            var patient = Fixture.patient(family: "H2").objectValue!
            patient["id"] = .string(id)
            try await fhir.send(.put, "/fhir/Patient/\(id)", json: .object(patient))
            try await fhir.send(.delete, "/fhir/Patient/\(id)")
            let history = try await fhir.get("/fhir/Patient/\(id)/_history")
            #expect(history.status == 200)
            #expect(history.json["type"] == "history")
            #expect(history.total == 3)
            let entries = history.json["entry"]?.arrayValue ?? []
            #expect(entries.map { $0["request"]?["method"]?.stringValue ?? "" } == ["DELETE", "PUT", "POST"])
            #expect(entries[0]["resource"] == nil)
            #expect(entries[1]["resource"]?["meta"]?["versionId"] == "2")
            #expect(entries[2]["response"]?["etag"]?.stringValue == "W/\"1\"")
            #expect(try await fhir.get("/fhir/Patient/nobody/_history").status == 404)
        }
    }

    @Test func typeAndSystemHistoryWithSinceAndPaging() async throws {
        let clock = FixedWallClockBox.make("2024-05-01T00:00:00Z")
        try await withTestApp(clock: clock) { fhir in
            // System history also lists the first super admin's Practitioner and
            // PractitionerRole, and the AuditEvents every request leaves.
            func recorded(_ fhir: FHIRTestClient) async throws -> [String] {
                let page = try await fhir.get("/fhir/_history?_count=1000")
                return (page.json["entry"]?.arrayValue ?? []).compactMap { $0["resource"]?["resourceType"]?.stringValue }
                    .filter { $0 != "AuditEvent" }
            }
            let existing = try await recorded(fhir).count
            try await fhir.create(Fixture.patient(family: "Before"))
            clock.advance(by: 3600)
            let fhir = try await fhir.renewed()
            for index in 0..<4 {
                try await fhir.create(Fixture.patient(family: "After\(index)"))
                clock.advance(by: 1)
            }
            try await fhir.create(["resourceType": "Organization", "name": "Org"])
            #expect(try await fhir.get("/fhir/Patient/_history").total == 5)
            let after = try await recorded(fhir)
            #expect(after.count == existing + 6, "\(after)")
            let since = try await fhir.get("/fhir/Patient/_history?_since=2024-05-01T00:30:00Z")
            #expect(since.total == 4)
            var seen: [String] = []
            var link: String? = "/fhir/Patient/_history?_since=2024-05-01T00:30:00Z&_count=3"
            while let next = link {
                let page = try await fhir.get(next)
                seen += page.json["entry"]?.arrayValue?.compactMap { $0["resource"]?["name"]?.arrayValue?.first?["family"]?.stringValue } ?? []
                link = page.json["link"]?.arrayValue?.first { $0["relation"] == "next" }?["url"]?.stringValue.map { String($0.dropFirst("http://hygie.test".count)) }
            }
            #expect(seen == ["After3", "After2", "After1", "After0"])
            let badSince = try await fhir.get("/fhir/_history?_since=yesterday")
            #expect(badSince.status == 400)
        }
    }
}

@Suite struct EverythingTests {
    @Test func everythingReturnsTheCompartmentAndWhatItRefersTo() async throws {
        try await withTestApp { fhir in
            let doctor = try await fhir.create(["resourceType": "Practitioner", "name": [["family": "Morel"]]])
            var patientJSON = Fixture.patient(family: "Tout").objectValue!
            patientJSON["generalPractitioner"] = [["reference": .string("Practitioner/\(doctor)")]]
            let patient = try await fhir.create(.object(patientJSON))
            let other = try await fhir.create(Fixture.patient(family: "Autre"))
            var observations: [String] = []
            for _ in 0..<3 { observations.append(try await fhir.create(Fixture.observation(patient: patient))) }
            try await fhir.create(Fixture.observation(patient: other))
            var encounter: JSON = ["resourceType": "Encounter", "status": "finished", "class": ["code": "AMB"], "subject": ["reference": .string("Patient/\(patient)")]]
            encounter = .object({ var object = encounter.objectValue!; object["participant"] = [["individual": ["reference": .string("Practitioner/\(doctor)")]]]; return object }())
            try await fhir.create(encounter)

            let everything = try await fhir.get("/fhir/Patient/\(patient)/$everything")
            #expect(everything.status == 200, "\(everything.text)")
            #expect(everything.total == 5)
            let ids = Set(everything.json["entry"]?.arrayValue?.compactMap { $0["resource"]?["id"]?.stringValue } ?? [])
            #expect(ids.isSuperset(of: Set(observations + [patient, doctor])))
            #expect(!ids.contains(other))

            let typed = try await fhir.get("/fhir/Patient/\(patient)/$everything?_type=Observation")
            #expect(typed.total == 3, "\(typed.text)")
            let paged = try await fhir.get("/fhir/Patient/\(patient)/$everything?_count=2")
            #expect(paged.matches.count == 2)
            let next = paged.json["link"]?.arrayValue?.first { $0["relation"] == "next" }?["url"]?.stringValue
            #expect(next?.contains("_cursor=") == true)
            let since = try await fhir.get("/fhir/Patient/\(patient)/$everything?_since=2999-01-01T00:00:00Z")
            #expect(since.total == 0)
            #expect(try await fhir.get("/fhir/Patient/nobody/$everything").status == 404)
        }
    }
}
