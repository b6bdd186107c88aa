import FHIR
import HTTPTypes
import Testing

@Suite struct BundleTests {
    static func entry(_ method: String, _ url: String, resource: JSON? = nil, fullURL: String? = nil, ifNoneExist: String? = nil) -> JSON {
        var object = JSONObject()
        if let fullURL { object["fullUrl"] = .string(fullURL) }
        if let resource { object["resource"] = resource }
        var request: JSONObject = ["method": .string(method), "url": .string(url)]
        if let ifNoneExist { request["ifNoneExist"] = .string(ifNoneExist) }
        object["request"] = .object(request)
        return .object(object)
    }

    static func bundle(_ type: String, _ entries: [JSON]) -> JSON {
        ["resourceType": "Bundle", "type": .string(type), "entry": .array(entries)]
    }

    @Test func transactionResolvesUrnReferencesAndAnswersInOrder() async throws {
        try await withTestApp { fhir in
            let patientURN = "urn:uuid:7f1c6a5e-1111-4a2b-9c3d-000000000001"
            var observation = Fixture.observation(patient: "placeholder").objectValue!
            observation["subject"] = ["reference": .string(patientURN)]
            let response = try await fhir.send(.post, "/fhir", json: Self.bundle("transaction", [
                Self.entry("POST", "Observation", resource: .object(observation)),
                Self.entry("POST", "Patient", resource: Fixture.patient(family: "Urn"), fullURL: patientURN),
            ]))
            #expect(response.status == 200, "\(response.text)")
            #expect(response.json["type"] == "transaction-response")
            let entries = response.json["entry"]?.arrayValue ?? []
            #expect(entries.count == 2)
            #expect(entries.allSatisfy { $0["response"]?["status"]?.stringValue == "201 Created" })
            let patientID = try #require(entries[1]["resource"]?["id"]?.stringValue)
            #expect(entries[0]["resource"]?["subject"]?["reference"]?.stringValue == "Patient/\(patientID)")
            #expect(entries[1]["response"]?["location"]?.stringValue?.hasPrefix("Patient/\(patientID)/_history/1") == true)
        }
    }

    @Test func aFailingEntryRollsBackTheWholeTransaction() async throws {
        try await withTestApp { fhir in
            let response = try await fhir.send(.post, "/fhir", json: Self.bundle("transaction", [
                Self.entry("POST", "Patient", resource: Fixture.patient(family: "Atomique")),
                Self.entry("POST", "Patient", resource: ["resourceType": "Patient", "gender": "robot"]),
            ]))
            #expect(response.status == 400)
            #expect(response.json["resourceType"] == "OperationOutcome")
            #expect(response.diagnostics.contains("Bundle.entry[1]"))
            #expect(try await fhir.search("Patient?family=Atomique").total == 0)
        }
    }

    @Test func aFailureDuringProcessingAlsoRollsBack() async throws {
        try await withTestApp { fhir in
            let existing = try await fhir.create(Fixture.patient(family: "Version"))
            var update = Fixture.patient(family: "Version2").objectValue!
            update["id"] = .string(existing)
            var stale = Self.entry("PUT", "Patient/\(existing)", resource: .object(update)).objectValue!
            stale["request"] = ["method": "PUT", "url": .string("Patient/\(existing)"), "ifMatch": "W/\"9\""]
            let response = try await fhir.send(.post, "/fhir", json: Self.bundle("transaction", [
                Self.entry("POST", "Patient", resource: Fixture.patient(family: "Rollback")), .object(stale),
            ]))
            #expect(response.status == 412)
            #expect(try await fhir.search("Patient?family=Rollback").total == 0)
            #expect(try await fhir.get("/fhir/Patient/\(existing)").json["meta"]?["versionId"] == "1")
        }
    }

    @Test func conditionalEntriesAndConditionalReferencesResolve() async throws {
        try await withTestApp { fhir in
            let existing = try await fhir.create(Fixture.patient(family: "Cond", identifier: ("urn:ins", "111")))
            var observation = Fixture.observation(patient: "x").objectValue!
            observation["subject"] = ["reference": "Patient?identifier=urn:ins|111"]
            let response = try await fhir.send(.post, "/fhir", json: Self.bundle("transaction", [
                Self.entry("POST", "Patient", resource: Fixture.patient(family: "Cond", identifier: ("urn:ins", "111")), ifNoneExist: "identifier=urn:ins|111"),
                Self.entry("PUT", "Patient?identifier=urn:ins|222", resource: Fixture.patient(family: "Nouveau", identifier: ("urn:ins", "222"))),
                Self.entry("POST", "Observation", resource: .object(observation)),
            ]))
            #expect(response.status == 200, "\(response.text)")
            let entries = response.json["entry"]?.arrayValue ?? []
            #expect(entries[0]["response"]?["status"]?.stringValue == "200 OK")
            #expect(entries[0]["resource"]?["id"]?.stringValue == existing)
            #expect(entries[1]["response"]?["status"]?.stringValue == "201 Created")
            #expect(entries[2]["resource"]?["subject"]?["reference"]?.stringValue == "Patient/\(existing)")
            #expect(try await fhir.search("Patient?family=Cond").total == 1)

            var dangling = Fixture.observation(patient: "x").objectValue!
            dangling["subject"] = ["reference": "Patient?identifier=urn:ins|999"]
            let unresolved = try await fhir.send(.post, "/fhir", json: Self.bundle("transaction", [Self.entry("POST", "Observation", resource: .object(dangling))]))
            #expect(unresolved.status == 404)
            var unknownURN = Fixture.observation(patient: "x").objectValue!
            unknownURN["subject"] = ["reference": "urn:uuid:7f1c6a5e-1111-4a2b-9c3d-00000000dead"]
            let orphan = try await fhir.send(.post, "/fhir", json: Self.bundle("transaction", [Self.entry("POST", "Observation", resource: .object(unknownURN))]))
            #expect(orphan.status == 400)
        }
    }

    @Test func processingOrderIsDeletePostPutGet() async throws {
        try await withTestApp { fhir in
            let doomed = try await fhir.create(Fixture.patient(family: "Doomed"))
            var replacement = Fixture.patient(family: "Fixed").objectValue!
            replacement["id"] = "fixed-id"
            let response = try await fhir.send(.post, "/fhir", json: Self.bundle("transaction", [
                Self.entry("GET", "Patient?family=doomed,fixed,posted"),
                Self.entry("PUT", "Patient/fixed-id", resource: .object(replacement)),
                Self.entry("POST", "Patient", resource: Fixture.patient(family: "Posted")),
                Self.entry("DELETE", "Patient/\(doomed)"),
            ]))
            #expect(response.status == 200, "\(response.text)")
            let entries = response.json["entry"]?.arrayValue ?? []
            let search = entries[0]["resource"]
            #expect(search?["type"] == "searchset")
            #expect(search?["total"] == 2, "GET sees the PUT and POST but not the deleted patient")
            #expect(entries[3]["response"]?["status"]?.stringValue == "200 OK")
        }
    }

    @Test func aTransactionMayNotChangeOneResourceTwice() async throws {
        try await withTestApp { fhir in
            var patient = Fixture.patient(family: "Twice").objectValue!
            patient["id"] = "twice"
            let response = try await fhir.send(.post, "/fhir", json: Self.bundle("transaction", [
                Self.entry("PUT", "Patient/twice", resource: .object(patient)),
                Self.entry("DELETE", "Patient/twice"),
            ]))
            #expect(response.status == 400)
        }
    }

    @Test func transactionsMayDeleteARecordWithItsParts() async throws {
        try await withTestApp { fhir in
            let patient = try await fhir.create(Fixture.patient(family: "Parts"))
            let observation = try await fhir.create(Fixture.observation(patient: patient))
            let response = try await fhir.send(.post, "/fhir", json: Self.bundle("transaction", [
                Self.entry("DELETE", "Patient/\(patient)"), Self.entry("DELETE", "Observation/\(observation)"),
            ]))
            #expect(response.status == 200, "\(response.text)")
            let partial = try await fhir.create(Fixture.observation(patient: try await fhir.create(Fixture.patient(family: "Kept"))))
            #expect(!partial.isEmpty)
            let refused = try await fhir.send(.post, "/fhir", json: Self.bundle("transaction", [Self.entry("DELETE", "Patient?family=kept")]))
            #expect(refused.status == 409)
        }
    }

    @Test func batchReportsEachEntryOnItsOwn() async throws {
        try await withTestApp { fhir in
            let existing = try await fhir.create(Fixture.patient(family: "Batch"))
            let response = try await fhir.send(.post, "/fhir", json: Self.bundle("batch", [
                Self.entry("POST", "Patient", resource: Fixture.patient(family: "BatchNew")),
                Self.entry("POST", "Patient", resource: ["resourceType": "Patient", "gender": "robot"]),
                Self.entry("GET", "Patient/\(existing)"),
                Self.entry("GET", "Patient/missing"),
                Self.entry("DELETE", "Patient/\(existing)"),
            ]))
            #expect(response.status == 200)
            #expect(response.json["type"] == "batch-response")
            let statuses = response.json["entry"]?.arrayValue?.compactMap { $0["response"]?["status"]?.stringValue } ?? []
            #expect(statuses == ["201 Created", "400 Bad Request", "200 OK", "404 Not Found", "200 OK"])
            let failed = response.json["entry"]?.arrayValue?[1]["response"]?["outcome"]
            #expect(failed?["resourceType"] == "OperationOutcome")
            #expect(try await fhir.search("Patient?family=BatchNew").total == 1)
        }
    }

    @Test func bundleEntriesMayPatchWithABinary() async throws {
        try await withTestApp { fhir in
            let id = try await fhir.create(Fixture.patient(family: "Patch", gender: "male"))
            let patch = Array(#"[{"op":"replace","path":"/gender","value":"other"}]"#.utf8)
            let binary: JSON = ["resourceType": "Binary", "contentType": "application/json-patch+json", "data": .string(base64(patch))]
            let response = try await fhir.send(.post, "/fhir", json: Self.bundle("transaction", [Self.entry("PATCH", "Patient/\(id)", resource: binary)]))
            #expect(response.status == 200, "\(response.text)")
            #expect(try await fhir.get("/fhir/Patient/\(id)").json["gender"] == "other")
        }
    }

    @Test func onlyBatchesAndTransactionsAreProcessed() async throws {
        try await withTestApp { fhir in
            let collection = try await fhir.send(.post, "/fhir", json: Self.bundle("collection", []))
            #expect(collection.status == 400)
            let notABundle = try await fhir.send(.post, "/fhir", json: Fixture.patient(family: "NotABundle"))
            #expect(notABundle.status == 400)
        }
    }
}

func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    var out = ""
    var index = 0
    while index < bytes.count {
        let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
        let value = (UInt32(chunk[0]) << 16) | (chunk.count > 1 ? UInt32(chunk[1]) << 8 : 0) | (chunk.count > 2 ? UInt32(chunk[2]) : 0)
        for position in 0..<4 {
            out.append(position <= chunk.count ? alphabet[Int((value >> (18 - 6 * position)) & 63)] : "=")
        }
        index += 3
    }
    return out
}
