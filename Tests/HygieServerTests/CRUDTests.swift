import FHIR
import HTTPTypes
import Testing

@testable import HygieServer

@Suite struct CRUDTests {
    @Test func createAssignsIdVersionAndHeaders() async throws {
        try await withTestApp { fhir in
            let response = try await fhir.send(.post, "/fhir/Patient", json: Fixture.patient(family: "Lefèvre"))
            #expect(response.status == 201)
            let id = try #require(response.json["id"]?.stringValue)
            #expect(response.json["meta"]?["versionId"] == "1")
            #expect(response.json["meta"]?["lastUpdated"]?.stringValue?.hasSuffix("Z") == true)
            #expect(response.header("ETag") == "W/\"1\"")
            #expect(response.header("Location") == "http://hygie.test/fhir/Patient/\(id)/_history/1")
            #expect(response.header("Last-Modified")?.hasSuffix("GMT") == true)
            #expect(response.header("Content-Type")?.hasPrefix("application/fhir+json") == true)
        }
    }

    @Test func createIgnoresAClientSuppliedId() async throws {
        try await withTestApp { fhir in
            var patient = Fixture.patient(family: "Martin").objectValue!
            patient["id"] = "chosen-by-client"
            let response = try await fhir.send(.post, "/fhir/Patient", json: .object(patient))
            #expect(response.status == 201)
            #expect(response.json["id"]?.stringValue != "chosen-by-client")
        }
    }

    @Test func readReturnsWhatWasStoredWithDecimalsIntact() async throws {
        try await withTestApp { fhir in
            let patient = try await fhir.create(Fixture.patient(family: "Durand"))
            let id = try await fhir.create(Fixture.observation(patient: patient, value: "37.50", unit: "Cel"))
            let read = try await fhir.get("/fhir/Observation/\(id)")
            #expect(read.status == 200)
            #expect(read.text.contains("\"value\":37.50"))
            #expect(read.header("ETag") == "W/\"1\"")
        }
    }

    @Test func unknownIdIs404AndUnknownTypeIs404() async throws {
        try await withTestApp { fhir in
            let unknownIDStatus = try await fhir.get("/fhir/Patient/does-not-exist").status
            #expect(unknownIDStatus == 404)
            let unknownType = try await fhir.get("/fhir/Patientt/1")
            #expect(unknownType.status == 404)
            #expect(unknownType.json["resourceType"] == "OperationOutcome")
        }
    }

    @Test func updateMakesANewVersionAndVreadReturnsEach() async throws {
        try await withTestApp { fhir in
            let id = try await fhir.create(Fixture.patient(family: "Petit"))
            var patient = Fixture.patient(family: "Petit-Durand").objectValue!
            patient["id"] = .string(id)
            let updated = try await fhir.send(.put, "/fhir/Patient/\(id)", json: .object(patient))
            #expect(updated.status == 200)
            #expect(updated.json["meta"]?["versionId"] == "2")
            #expect(updated.header("ETag") == "W/\"2\"")
            let first = try await fhir.get("/fhir/Patient/\(id)/_history/1")
            #expect(first.json["name"]?.arrayValue?.first?["family"] == "Petit")
            let second = try await fhir.get("/fhir/Patient/\(id)/_history/2")
            #expect(second.json["name"]?.arrayValue?.first?["family"] == "Petit-Durand")
            #expect(try await fhir.get("/fhir/Patient/\(id)/_history/3").status == 404)
        }
    }

    @Test func putWithANewIdCreatesTheResource() async throws {
        try await withTestApp { fhir in
            var patient = Fixture.patient(family: "Roux").objectValue!
            patient["id"] = "ins-roux-1"
            let response = try await fhir.send(.put, "/fhir/Patient/ins-roux-1", json: .object(patient))
            #expect(response.status == 201)
            let createdStatus = try await fhir.get("/fhir/Patient/ins-roux-1").status
            #expect(createdStatus == 200)
        }
    }

    @Test func putNeedsTheSameIdInBodyAndURL() async throws {
        try await withTestApp { fhir in
            var patient = Fixture.patient(family: "Roux").objectValue!
            patient["id"] = "a"
            let mismatch = try await fhir.send(.put, "/fhir/Patient/b", json: .object(patient))
            #expect(mismatch.status == 400)
            let missing = try await fhir.send(.put, "/fhir/Patient/b", json: Fixture.patient(family: "Roux"))
            #expect(missing.status == 400)
        }
    }

    @Test func ifMatchOnAStaleVersionIs412() async throws {
        try await withTestApp { fhir in
            let id = try await fhir.create(Fixture.patient(family: "Blanc"))
            var patient = Fixture.patient(family: "Blanc").objectValue!
            patient["id"] = .string(id)
            #expect(try await fhir.send(.put, "/fhir/Patient/\(id)", json: .object(patient), headers: ["If-Match": "W/\"1\""]).status == 200)
            let stale = try await fhir.send(.put, "/fhir/Patient/\(id)", json: .object(patient), headers: ["If-Match": "W/\"1\""])
            #expect(stale.status == 412)
            #expect(stale.issueCodes == ["conflict"])
        }
    }

    @Test func ifNoneMatchAndIfModifiedSinceAnswer304() async throws {
        try await withTestApp { fhir in
            let id = try await fhir.create(Fixture.patient(family: "Garnier"))
            #expect(try await fhir.get("/fhir/Patient/\(id)", headers: ["If-None-Match": "W/\"1\""]).status == 304)
            #expect(try await fhir.get("/fhir/Patient/\(id)", headers: ["If-None-Match": "W/\"2\""]).status == 200)
            let modified = try await fhir.get("/fhir/Patient/\(id)").header("Last-Modified")!
            #expect(try await fhir.get("/fhir/Patient/\(id)", headers: ["If-Modified-Since": modified]).status == 304)
            #expect(try await fhir.get("/fhir/Patient/\(id)", headers: ["If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"]).status == 200)
        }
    }

    @Test func preferReturnControlsTheBody() async throws {
        try await withTestApp { fhir in
            let minimal = try await fhir.send(.post, "/fhir/Patient", json: Fixture.patient(family: "A"), headers: ["Prefer": "return=minimal"])
            #expect(minimal.status == 201)
            #expect(minimal.body.isEmpty)
            #expect(minimal.header("Location") != nil)
            let outcome = try await fhir.send(.post, "/fhir/Patient", json: Fixture.patient(family: "B"), headers: ["Prefer": "return=OperationOutcome"])
            #expect(outcome.json["resourceType"] == "OperationOutcome")
            let full = try await fhir.send(.post, "/fhir/Patient", json: Fixture.patient(family: "C"), headers: ["Prefer": "return=representation"])
            #expect(full.json["resourceType"] == "Patient")
        }
    }

    @Test func deleteIsLogicalAndLaterReadsAre410() async throws {
        try await withTestApp { fhir in
            let id = try await fhir.create(Fixture.patient(family: "Faure"))
            let deleted = try await fhir.send(.delete, "/fhir/Patient/\(id)")
            #expect(deleted.status == 200)
            #expect(deleted.header("ETag") == "W/\"2\"")
            #expect(try await fhir.get("/fhir/Patient/\(id)").status == 410)
            #expect(try await fhir.get("/fhir/Patient/\(id)/_history/1").status == 200)
            #expect(try await fhir.get("/fhir/Patient/\(id)/_history/2").status == 410)
            #expect(try await fhir.search("Patient?family=Faure").total == 0)
            #expect(try await fhir.send(.delete, "/fhir/Patient/\(id)").status == 204)
            #expect(try await fhir.send(.delete, "/fhir/Patient/never-existed").status == 204)
        }
    }

    @Test func updatingADeletedResourceRecreatesIt() async throws {
        try await withTestApp { fhir in
            let id = try await fhir.create(Fixture.patient(family: "Morin"))
            try await fhir.send(.delete, "/fhir/Patient/\(id)")
            var patient = Fixture.patient(family: "Morin").objectValue!
            patient["id"] = .string(id)
            let revived = try await fhir.send(.put, "/fhir/Patient/\(id)", json: .object(patient))
            #expect(revived.status == 201)
            #expect(revived.json["meta"]?["versionId"] == "3")
        }
    }

    @Test func deletingAReferencedResourceIs409() async throws {
        try await withTestApp { fhir in
            let patient = try await fhir.create(Fixture.patient(family: "Henry"))
            let observation = try await fhir.create(Fixture.observation(patient: patient))
            let refused = try await fhir.send(.delete, "/fhir/Patient/\(patient)")
            #expect(refused.status == 409)
            #expect(refused.diagnostics.contains("Observation/\(observation)"))
            #expect(try await fhir.get("/fhir/Patient/\(patient)").status == 200)
            #expect(try await fhir.send(.delete, "/fhir/Observation/\(observation)").status == 200)
            #expect(try await fhir.send(.delete, "/fhir/Patient/\(patient)").status == 200)
        }
    }

    @Test func conditionalCreateFindsTheExistingResource() async throws {
        try await withTestApp { fhir in
            let patient = Fixture.patient(family: "Lambert", identifier: ("urn:oid:1.2.250.1.213.1.4.8", "180017512345678"))
            let first = try await fhir.send(.post, "/fhir/Patient", json: patient, headers: ["If-None-Exist": "identifier=urn:oid:1.2.250.1.213.1.4.8|180017512345678"])
            #expect(first.status == 201)
            let second = try await fhir.send(.post, "/fhir/Patient", json: patient, headers: ["If-None-Exist": "identifier=urn:oid:1.2.250.1.213.1.4.8|180017512345678"])
            #expect(second.status == 200)
            #expect(second.json["id"] == first.json["id"])
            #expect(try await fhir.search("Patient?family=Lambert").total == 1)
            try await fhir.create(patient)
            let ambiguous = try await fhir.send(.post, "/fhir/Patient", json: patient, headers: ["If-None-Exist": "family=Lambert"])
            #expect(ambiguous.status == 412)
        }
    }

    @Test func conditionalUpdateCreatesUpdatesOrRefuses() async throws {
        try await withTestApp { fhir in
            let patient = Fixture.patient(family: "Mercier", identifier: ("urn:h", "42"))
            let created = try await fhir.send(.put, "/fhir/Patient?identifier=urn:h|42", json: patient)
            #expect(created.status == 201)
            let updated = try await fhir.send(.put, "/fhir/Patient?identifier=urn:h|42", json: Fixture.patient(family: "Mercier", given: "Paul", identifier: ("urn:h", "42")))
            #expect(updated.status == 200)
            #expect(updated.json["id"] == created.json["id"])
            #expect(updated.json["meta"]?["versionId"] == "2")
            try await fhir.create(Fixture.patient(family: "Mercier", identifier: ("urn:h", "42")))
            #expect(try await fhir.send(.put, "/fhir/Patient?identifier=urn:h|42", json: patient).status == 412)
            #expect(try await fhir.send(.put, "/fhir/Patient?unknownparam=1", json: patient).status == 400)
        }
    }

    @Test func conditionalDeleteRemovesOneOrRefusesMany() async throws {
        try await withTestApp { fhir in
            try await fhir.create(Fixture.patient(family: "Gauthier", identifier: ("urn:h", "1")))
            try await fhir.create(Fixture.patient(family: "Gauthier", identifier: ("urn:h", "2")))
            #expect(try await fhir.send(.delete, "/fhir/Patient?family=Gauthier").status == 412)
            #expect(try await fhir.send(.delete, "/fhir/Patient?identifier=urn:h|1").status == 200)
            #expect(try await fhir.search("Patient?family=Gauthier").total == 1)
            #expect(try await fhir.send(.delete, "/fhir/Patient?identifier=urn:h|1").status == 204)
        }
    }

    @Test func jsonPatchChangesTheResourceAsANewVersion() async throws {
        try await withTestApp { fhir in
            let id = try await fhir.create(Fixture.patient(family: "Perrin", gender: "male"))
            let patch = #"[{"op":"replace","path":"/gender","value":"female"},{"op":"add","path":"/name/0/given/-","value":"Marie"}]"#
            let patched = try await fhir.send(.patch, "/fhir/Patient/\(id)", body: patch, contentType: "application/json-patch+json")
            #expect(patched.status == 200, "\(patched.text)")
            #expect(patched.json["gender"] == "female")
            #expect(patched.json["name"]?.arrayValue?.first?["given"] == ["Jean", "Marie"])
            #expect(patched.json["meta"]?["versionId"] == "2")
            let failedTest = #"[{"op":"test","path":"/gender","value":"male"}]"#
            #expect(try await fhir.send(.patch, "/fhir/Patient/\(id)", body: failedTest, contentType: "application/json-patch+json").status == 422)
            let invalid = #"[{"op":"replace","path":"/gender","value":"femme"}]"#
            #expect(try await fhir.send(.patch, "/fhir/Patient/\(id)", body: invalid, contentType: "application/json-patch+json").status == 422)
            let stale = try await fhir.send(.patch, "/fhir/Patient/\(id)", body: patch, contentType: "application/json-patch+json", headers: ["If-Match": "W/\"1\""])
            #expect(stale.status == 412)
        }
    }

    @Test func headReturnsHeadersWithoutBody() async throws {
        try await withTestApp { fhir in
            let id = try await fhir.create(Fixture.patient(family: "Clément"))
            let head = try await fhir.send(.head, "/fhir/Patient/\(id)")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.header("ETag") == "W/\"1\"")
        }
    }

    @Test func everyOtherR4TypeIsAcceptedForCRUD() async throws {
        try await withTestApp { fhir in
            let id = try await fhir.create(["resourceType": "Basic", "code": ["text": "note"]])
            #expect(try await fhir.get("/fhir/Basic/\(id)").status == 200)
            let tagged = try await fhir.create(["resourceType": "Flag", "status": "active", "code": ["text": "allergy"], "subject": ["reference": "Patient/x"], "meta": ["tag": [["system": "urn:t", "code": "vip"]]]])
            #expect(try await fhir.search("Flag?_tag=urn:t|vip").matchIDs == [tagged])
        }
    }
}
