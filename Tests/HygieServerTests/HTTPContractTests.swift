import Core
import FHIR
import HTTPTypes
import Testing

@Suite struct HTTPContractTests {
    @Test func malformedBodiesAre400WithWhereAndWhat() async throws {
        try await withTestApp { fhir in
            let notJSON = try await fhir.send(.post, "/fhir/Patient", body: "{\"resourceType\": \"Patient\",")
            #expect(notJSON.status == 400)
            #expect(notJSON.json["resourceType"] == "OperationOutcome")
            #expect(notJSON.diagnostics.contains("line 1"))
            let array = try await fhir.send(.post, "/fhir/Patient", body: "[]")
            #expect(array.status == 400)
            let wrongType = try await fhir.send(.post, "/fhir/Patient", json: ["resourceType": "Observation", "status": "final", "code": ["text": "x"]])
            #expect(wrongType.status == 400)
            #expect(wrongType.diagnostics.contains("URL names Patient"))
            let invalid = try await fhir.send(.post, "/fhir/Patient", json: ["resourceType": "Patient", "birthDate": "1970-13-01", "nickname": "JJ"])
            #expect(invalid.status == 400)
            #expect(invalid.issueCodes.sorted() == ["structure", "value"])
            #expect(invalid.diagnostics.contains("nickname"))
            let empty = try await fhir.send(.post, "/fhir/Patient", body: "", contentType: "application/fhir+json")
            #expect(empty.status == 400)
        }
    }

    @Test func unknownPathsAre404AndWrongMethodsAre405() async throws {
        try await withTestApp { fhir in
            let unknown = try await fhir.get("/fhir/Patient/1/2/3/4/5")
            #expect(unknown.status == 404)
            let wrong = try await fhir.send(.delete, "/fhir/metadata")
            #expect(wrong.status == 405)
            #expect(wrong.header("Allow") == "GET")
            let postInstance = try await fhir.send(.post, "/fhir/Patient/abc", json: Fixture.patient(family: "X"))
            #expect(postInstance.status == 405)
            #expect(postInstance.header("Allow")?.contains("PUT") == true)
            let badID = try await fhir.get("/fhir/Patient/has%20space")
            #expect(badID.status == 400)
            let unknownOperation = try await fhir.send(.post, "/fhir/Patient/$fly", json: Fixture.patient(family: "X"))
            #expect(unknownOperation.status == 404)
        }
    }

    @Test func xmlIsNotAcceptableAndNotSupported() async throws {
        try await withTestApp { fhir in
            let accept = try await fhir.get("/fhir/metadata", headers: ["Accept": "application/fhir+xml"])
            #expect(accept.status == 406)
            #expect(accept.json["resourceType"] == "OperationOutcome")
            let format = try await fhir.get("/fhir/Patient?_format=xml")
            #expect(format.status == 406)
            let json = try await fhir.get("/fhir/Patient?_format=json")
            #expect(json.status == 200)
            let browser = try await fhir.get("/fhir/metadata", headers: ["Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"])
            #expect(browser.status == 200)
            let xmlBody = try await fhir.send(.post, "/fhir/Patient", body: "<Patient xmlns=\"http://hl7.org/fhir\"/>", contentType: "application/fhir+xml")
            #expect(xmlBody.status == 415)
            let noType = try await fhir.send(.post, "/fhir/Patient", body: "{\"resourceType\":\"Patient\"}", contentType: nil)
            #expect(noType.status == 415)
            let text = try await fhir.send(.post, "/fhir/Patient", body: "{}", contentType: "text/plain")
            #expect(text.status == 415)
        }
    }

    @Test func oversizedBodiesAre413() async throws {
        try await withTestApp(configure: { $0.maxRequestBodySize = 2048 }) { fhir in
            let big = Fixture.patient(family: String(repeating: "x", count: 4000))
            let response = try await fhir.send(.post, "/fhir/Patient", json: big)
            #expect(response.status == 413)
            #expect(response.json["resourceType"] == "OperationOutcome")
            #expect(try await fhir.send(.post, "/fhir/Patient", json: Fixture.patient(family: "small")).status == 201)
        }
    }

    @Test func prettyPrintingOnRequest() async throws {
        try await withTestApp { fhir in
            let id = try await fhir.create(Fixture.patient(family: "Pretty"))
            #expect(try await fhir.get("/fhir/Patient/\(id)?_pretty=true").text.contains("\n  \"id\""))
            #expect(!(try await fhir.get("/fhir/Patient/\(id)").text.contains("\n")))
        }
    }

    @Test func everyResponseCarriesARequestID() async throws {
        try await withTestApp { fhir in
            let generated = try await fhir.get("/fhir/metadata")
            #expect(generated.header("X-Request-ID")?.isEmpty == false)
            let echoed = try await fhir.get("/fhir/metadata", headers: ["X-Request-ID": "abc-123"])
            #expect(echoed.header("X-Request-ID") == "abc-123")
        }
    }

    @Test func healthEndpoints() async throws {
        try await withTestApp { fhir in
            let live = try await fhir.get("/health/live")
            #expect(live.status == 200)
            let ready = try await fhir.get("/health/ready")
            #expect(ready.text.contains("ready"))
        }
    }
}

@Suite struct CapabilityAndValidateTests {
    @Test func capabilityStatementListsWhatWorks() async throws {
        try await withTestApp { fhir in
            let metadata = try await fhir.get("/fhir/metadata")
            #expect(metadata.status == 200)
            let statement = metadata.json
            #expect(statement["resourceType"] == "CapabilityStatement")
            #expect(statement["fhirVersion"] == "4.0.1")
            #expect(ResourceValidator().validate(statement) == [])
            let resources = statement["rest"]?.arrayValue?.first?["resource"]?.arrayValue ?? []
            #expect(resources.count == ElementModel.r4.resourceTypes.count)
            let patient = try #require(resources.first { $0["type"] == "Patient" })
            let names = Set(patient["searchParam"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
            #expect(names.isSuperset(of: ["name", "family", "identifier", "birthdate", "gender", "_id", "_lastUpdated", "_tag"]))
            #expect(!names.contains("shoe-size"))
            let operations = patient["operation"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(operations.contains("everything") && operations.contains("validate"))
            let observation = try #require(resources.first { $0["type"] == "Observation" })
            #expect(observation["searchParam"]?.arrayValue?.contains { $0["name"] == "code-value-quantity" } == false, "composite parameters are not announced")
            let system = statement["rest"]?.arrayValue?.first?["interaction"]?.arrayValue?.compactMap { $0["code"]?.stringValue } ?? []
            #expect(Set(system) == ["transaction", "batch", "search-system", "history-system"])
        }
    }

    @Test func validateAnswersAnOutcomeWithoutStoring() async throws {
        try await withTestApp { fhir in
            let valid = try await fhir.send(.post, "/fhir/Patient/$validate", json: Fixture.patient(family: "Valid"))
            #expect(valid.status == 200)
            #expect(valid.json["issue"]?.arrayValue?.first?["severity"] == "information")
            let invalid = try await fhir.send(.post, "/fhir/Patient/$validate", json: ["resourceType": "Patient", "gender": "x"])
            #expect(invalid.status == 200)
            #expect(invalid.issueCodes == ["code-invalid"])
            let wrapped: JSON = ["resourceType": "Parameters", "parameter": [["name": "resource", "resource": ["resourceType": "Patient", "birthDate": "nope"]]]]
            let parameters = try await fhir.send(.post, "/fhir/Patient/$validate", json: wrapped)
            #expect(parameters.issueCodes == ["value"])
            #expect(try await fhir.search("Patient").total == 0)
            let unparseable = try await fhir.send(.post, "/fhir/Patient/$validate", body: "{oops")
            #expect(unparseable.status == 400)
        }
    }
}
