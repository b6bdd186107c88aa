import FHIR
import HTTPTypes
import Testing

@Suite struct SearchReferenceTests {
    @Test func referencesByTypeAndIdByIdAloneAndByAbsoluteURL() async throws {
        try await withTestApp { fhir in
            let patient = try await fhir.create(Fixture.patient(family: "Ref"))
            let other = try await fhir.create(Fixture.patient(family: "Other"))
            let observation = try await fhir.create(Fixture.observation(patient: patient))
            try await fhir.create(Fixture.observation(patient: other))
            #expect(try await fhir.search("Observation?subject=Patient/\(patient)").matchIDs == [observation])
            #expect(try await fhir.search("Observation?subject=\(patient)").matchIDs == [observation])
            #expect(try await fhir.search("Observation?subject:Patient=\(patient)").matchIDs == [observation])
            #expect(try await fhir.search("Observation?patient=\(patient)").matchIDs == [observation])
            #expect(try await fhir.search("Observation?subject=http://hygie.test/fhir/Patient/\(patient)").matchIDs == [observation])
            #expect(try await fhir.search("Observation?subject:Group=\(patient)").matchIDs.isEmpty)
        }
    }

    @Test func absoluteReferencesToThisServerAreStoredAsLocal() async throws {
        try await withTestApp { fhir in
            let patient = try await fhir.create(Fixture.patient(family: "Abs"))
            var observation = Fixture.observation(patient: patient).objectValue!
            observation["subject"] = ["reference": .string("http://hygie.test/fhir/Patient/\(patient)")]
            let id = try await fhir.create(.object(observation))
            #expect(try await fhir.search("Observation?subject=Patient/\(patient)").matchIDs == [id])
        }
    }

    @Test func externalReferencesMatchByURL() async throws {
        try await withTestApp { fhir in
            var observation = Fixture.observation(patient: "x").objectValue!
            observation["subject"] = ["reference": "https://other.example/fhir/Patient/9"]
            let id = try await fhir.create(.object(observation))
            #expect(try await fhir.search("Observation?subject=https://other.example/fhir/Patient/9").matchIDs == [id])
        }
    }

    @Test func chainsFollowReferencesSeveralLevels() async throws {
        try await withTestApp { fhir in
            let hospital = try await fhir.create(["resourceType": "Organization", "name": "CHU de Lyon"])
            let clinic = try await fhir.create(["resourceType": "Organization", "name": "Clinique du Parc"])
            var inLyon = Fixture.patient(family: "Lyonnais").objectValue!
            inLyon["managingOrganization"] = ["reference": .string("Organization/\(hospital)")]
            var elsewhere = Fixture.patient(family: "Parisien").objectValue!
            elsewhere["managingOrganization"] = ["reference": .string("Organization/\(clinic)")]
            let lyonPatient = try await fhir.create(.object(inLyon))
            let otherPatient = try await fhir.create(.object(elsewhere))
            let lyonObservation = try await fhir.create(Fixture.observation(patient: lyonPatient))
            try await fhir.create(Fixture.observation(patient: otherPatient))
            #expect(try await fhir.search("Observation?subject:Patient.name=lyonnais").matchIDs == [lyonObservation])
            #expect(try await fhir.search("Observation?patient.family=lyon").matchIDs == [lyonObservation])
            #expect(try await fhir.search("Observation?subject:Patient.organization.name=chu").matchIDs == [lyonObservation])
            #expect(try await fhir.search("Observation?subject:Patient.organization:Organization.name:exact=CHU de Lyon").matchIDs == [lyonObservation])
            #expect(try await fhir.search("Observation?subject:Patient.organization.name=nowhere").matchIDs.isEmpty)
            let notReference = try await fhir.get("/fhir/Observation?status.name=x")
            #expect(notReference.status == 400)
        }
    }

    @Test func reverseChainingWithHas() async throws {
        try await withTestApp { fhir in
            let hypertensive = try await fhir.create(Fixture.patient(family: "HTA"))
            let healthy = try await fhir.create(Fixture.patient(family: "Sain"))
            try await fhir.create([
                "resourceType": "Condition", "subject": ["reference": .string("Patient/\(hypertensive)")],
                "code": ["coding": [["system": "http://hl7.org/fhir/sid/icd-10", "code": "I10"]]],
            ])
            let observation = try await fhir.create(Fixture.observation(patient: healthy, value: "130"))
            #expect(try await fhir.search("Patient?_has:Condition:patient:code=I10").matchIDs == [hypertensive])
            #expect(try await fhir.search("Patient?_has:Condition:subject:code=http://hl7.org/fhir/sid/icd-10%7CI10").matchIDs == [hypertensive])
            #expect(try await fhir.search("Patient?_has:Observation:subject:value-quantity=gt100").matchIDs == [healthy])
            #expect(try await fhir.search("Patient?_has:Condition:patient:code=E11").matchIDs.isEmpty)
            let audit = try await fhir.create([
                "resourceType": "Provenance", "target": [["reference": .string("Observation/\(observation)")]],
                "recorded": "2024-01-01T00:00:00Z", "agent": [["who": ["display": "Dr Morel"]]],
            ])
            #expect(!audit.isEmpty)
            #expect(try await fhir.search("Patient?_has:Observation:subject:_has:Provenance:target:recorded=2024").matchIDs == [healthy])
            let badHas = try await fhir.get("/fhir/Patient?_has:Condition=x")
            #expect(badHas.status == 400)
        }
    }
}
