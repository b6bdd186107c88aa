import FHIR
import HTTPTypes
import Testing

@Suite struct SearchResultTests {
    @Test func sortsOnSeveralKeysInBothDirections() async throws {
        try await withTestApp { fhir in
            let anneOld = try await fhir.create(Fixture.patient(family: "Martin", given: "Anne", birthDate: "1950-01-01"))
            let anneYoung = try await fhir.create(Fixture.patient(family: "Martin", given: "Anne", birthDate: "1990-01-01"))
            let bruno = try await fhir.create(Fixture.patient(family: "Martin", given: "Bruno", birthDate: "1970-01-01"))
            let noBirth = try await fhir.create(Fixture.patient(family: "Abel", given: "Zed", birthDate: nil))
            #expect(try await fhir.search("Patient?_sort=given,-birthdate").matchIDs == [anneYoung, anneOld, bruno, noBirth])
            #expect(try await fhir.search("Patient?_sort=birthdate").matchIDs == [anneOld, bruno, anneYoung, noBirth])
            #expect(try await fhir.search("Patient?_sort=-birthdate").matchIDs == [anneYoung, bruno, anneOld, noBirth])
            #expect(try await fhir.search("Patient?_sort=family,given&_count=2").matchIDs == [noBirth, anneOld])
            let unknownSort = try await fhir.get("/fhir/Patient?_sort=shoe-size")
            #expect(unknownSort.status == 400)
        }
    }

    @Test func countDefaultsTo20AndIsCappedAt1000() async throws {
        try await withTestApp { fhir in
            var entries: [JSON] = []
            for index in 0..<25 {
                entries.append(["resource": Fixture.patient(family: "P\(index)"), "request": ["method": "POST", "url": "Patient"]])
            }
            let bundle: JSON = ["resourceType": "Bundle", "type": "transaction", "entry": .array(entries)]
            #expect(try await fhir.send(.post, "/fhir", json: bundle).status == 200)
            let page = try await fhir.search("Patient")
            #expect(page.matches.count == 20)
            #expect(page.total == 25)
            let capped = try await fhir.search("Patient?_count=5000")
            #expect(capped.matches.count == 25)
            #expect(try await fhir.search("Patient?_count=0").matches.isEmpty)
        }
    }

    @Test func pagesFollowNextLinksAndStayCorrectWhileOthersWrite() async throws {
        try await withTestApp { fhir in
            var created: [String] = []
            for index in 0..<7 { created.append(try await fhir.create(Fixture.patient(family: "Page\(index)"))) }
            var seen: [String] = []
            var next: String? = "/fhir/Patient?family=page&_count=3&_sort=family"
            var pages = 0
            while let link = next {
                let page = try await fhir.get(link)
                #expect(page.status == 200, "\(page.text)")
                seen += page.matchIDs
                pages += 1
                if pages == 1 {
                    // Writes between pages: a new resource sorting first, one sorting last, a deletion.
                    try await fhir.create(Fixture.patient(family: "Page0a"))
                    try await fhir.create(Fixture.patient(family: "Page9"))
                    try await fhir.send(.delete, "/fhir/Patient/\(created[6])")
                }
                let url = page.json["link"]?.arrayValue?.first { $0["relation"] == "next" }?["url"]?.stringValue
                next = url.map { String($0.dropFirst("http://hygie.test".count)) }
            }
            #expect(Set(seen).count == seen.count, "no resource twice")
            #expect(Array(seen.prefix(3)) == Array(created.prefix(3)))
            #expect(Set(created.prefix(6)).isSubset(of: Set(seen)), "no existing resource skipped")
            #expect(!seen.contains(created[6]))
            let damaged = try await fhir.get("/fhir/Patient?family=page&_count=3&_sort=family&_cursor=garbage")
            #expect(damaged.status == 400)
        }
    }

    @Test func totalModes() async throws {
        try await withTestApp { fhir in
            for index in 0..<3 { try await fhir.create(Fixture.patient(family: "T\(index)")) }
            #expect(try await fhir.search("Patient?_total=accurate&_count=1").total == 3)
            #expect(try await fhir.search("Patient?_total=estimate&_count=1").total == 3)
            #expect(try await fhir.search("Patient?_total=none").total == nil)
            let invalid = try await fhir.get("/fhir/Patient?_total=lots")
            #expect(invalid.status == 400)
        }
    }

    @Test func summaryAndElementsReduceResourcesAndMarkThem() async throws {
        try await withTestApp { fhir in
            var patient = Fixture.patient(family: "Summary").objectValue!
            patient["maritalStatus"] = ["text": "Marié"]
            patient["text"] = ["status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Summary</div>"]
            let id = try await fhir.create(.object(patient))
            let count = try await fhir.search("Patient?_summary=count")
            #expect(count.total == 1)
            #expect(count.json["entry"] == nil)
            let summary = try await fhir.search("Patient?_summary=true").matches.first
            #expect(summary?["name"] != nil)
            #expect(summary?["maritalStatus"] == nil)
            #expect(summary?["meta"]?["tag"]?.arrayValue?.contains { $0["code"] == "SUBSETTED" } == true)
            let text = try await fhir.search("Patient?_summary=text").matches.first
            #expect(text?["text"] != nil && text?["name"] == nil)
            let data = try await fhir.search("Patient?_summary=data").matches.first
            #expect(data?["text"] == nil && data?["maritalStatus"] != nil)
            let elements = try await fhir.search("Patient?_elements=birthDate").matches.first
            #expect(elements?["birthDate"] != nil && elements?["name"] == nil && elements?["id"]?.stringValue == id)
            let read = try await fhir.get("/fhir/Patient/\(id)?_elements=gender")
            #expect(read.json["gender"] != nil && read.json["name"] == nil)
            let both = try await fhir.get("/fhir/Patient?_summary=true&_elements=gender")
            #expect(both.status == 400)
        }
    }

    @Test func includeRevincludeAndIterate() async throws {
        try await withTestApp { fhir in
            let organization = try await fhir.create(["resourceType": "Organization", "name": "CH"])
            var patientJSON = Fixture.patient(family: "Inc").objectValue!
            patientJSON["managingOrganization"] = ["reference": .string("Organization/\(organization)")]
            let patient = try await fhir.create(.object(patientJSON))
            let observation = try await fhir.create(Fixture.observation(patient: patient))
            let included = try await fhir.search("Observation?_id=\(observation)&_include=Observation:subject")
            let includedIDs = (included.json["entry"]?.arrayValue ?? []).filter { $0["search"]?["mode"] == "include" }.compactMap { $0["resource"]?["id"]?.stringValue }
            #expect(includedIDs == [patient])
            let iterated = try await fhir.search("Observation?_id=\(observation)&_include=Observation:subject&_include:iterate=Patient:organization")
            #expect(iterated.json["entry"]?.arrayValue?.count == 3)
            let typed = try await fhir.search("Observation?_id=\(observation)&_include=Observation:subject:Group")
            #expect(typed.json["entry"]?.arrayValue?.count == 1)
            let reverse = try await fhir.search("Patient?_id=\(patient)&_revinclude=Observation:subject")
            #expect(reverse.json["entry"]?.arrayValue?.compactMap { $0["resource"]?["id"]?.stringValue } == [patient, observation])
            let wildcard = try await fhir.search("Patient?_id=\(patient)&_include=Patient:*")
            #expect(wildcard.json["entry"]?.arrayValue?.count == 2)
            let badInclude = try await fhir.get("/fhir/Observation?_include=Observation:status")
            #expect(badInclude.status == 400)
        }
    }

    @Test func unknownParametersAreIgnoredLenientlyAndRefusedStrictly() async throws {
        try await withTestApp { fhir in
            try await fhir.create(Fixture.patient(family: "Handling"))
            let lenient = try await fhir.search("Patient?shoe-size=42")
            #expect(lenient.total == 1)
            let outcome = lenient.json["entry"]?.arrayValue?.first { $0["search"]?["mode"] == "outcome" }
            #expect(outcome?["resource"]?["issue"]?.arrayValue?.first?["diagnostics"]?.stringValue?.contains("shoe-size") == true)
            let explicit = try await fhir.get("/fhir/Patient?shoe-size=42", headers: ["Prefer": "handling=lenient"])
            #expect(explicit.status == 200)
            let strict = try await fhir.get("/fhir/Patient?shoe-size=42", headers: ["Prefer": "handling=strict"])
            #expect(strict.status == 400)
            #expect(strict.diagnostics.contains("shoe-size"))
            let badModifier = try await fhir.get("/fhir/Patient?family:below=x")
            #expect(badModifier.status == 400)
        }
    }

    @Test func postSearchTakesAFormBody() async throws {
        try await withTestApp { fhir in
            let id = try await fhir.create(Fixture.patient(family: "Posté"))
            let response = try await fhir.send(.post, "/fhir/Patient/_search", body: "family=post%C3%A9&_count=5", contentType: "application/x-www-form-urlencoded")
            #expect(response.status == 200)
            #expect(response.matchIDs == [id])
            let mixed = try await fhir.send(.post, "/fhir/Patient/_search?gender=male", body: "family=poste", contentType: "application/x-www-form-urlencoded")
            #expect(mixed.matchIDs == [id])
        }
    }

    @Test func searchAcrossTypes() async throws {
        try await withTestApp { fhir in
            let patient = try await fhir.create(["resourceType": "Patient", "meta": ["tag": [["system": "urn:s", "code": "study"]]]])
            let observation = try await fhir.create([
                "resourceType": "Observation", "status": "final", "code": ["text": "x"], "meta": ["tag": [["system": "urn:s", "code": "study"]]],
            ])
            #expect(Set(try await fhir.search("?_tag=urn:s%7Cstudy").matchIDs) == [patient, observation])
            #expect(try await fhir.search("?_tag=urn:s%7Cstudy&_type=Observation").matchIDs == [observation])
        }
    }
}
