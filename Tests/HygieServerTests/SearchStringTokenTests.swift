import FHIR
import HTTPTypes
import Testing

@Suite struct SearchStringTokenTests {
    @Test func stringsMatchTheStartIgnoringCaseAndAccents() async throws {
        try await withTestApp { fhir in
            let helene = try await fhir.create(Fixture.patient(family: "Lefèvre", given: "Hélène"))
            let zoe = try await fhir.create(Fixture.patient(family: "Lefebvre", given: "Zoë"))
            try await fhir.create(Fixture.patient(family: "Dupont", given: "Paul"))
            #expect(Set(try await fhir.search("Patient?family=lef").matchIDs) == [helene, zoe])
            #expect(try await fhir.search("Patient?family=LEFÈVRE").matchIDs == [helene])
            #expect(try await fhir.search("Patient?given=helene").matchIDs == [helene])
            #expect(try await fhir.search("Patient?name=zoe").matchIDs == [zoe])
            #expect(try await fhir.search("Patient?family=efe").matchIDs.isEmpty)
        }
    }

    @Test func exactAndContainsModifiers() async throws {
        try await withTestApp { fhir in
            let exact = try await fhir.create(Fixture.patient(family: "Lefèvre"))
            let longer = try await fhir.create(Fixture.patient(family: "Lefèvre-Martin"))
            #expect(try await fhir.search("Patient?family:exact=Lef%C3%A8vre").matchIDs == [exact])
            #expect(try await fhir.search("Patient?family:exact=lefevre").matchIDs.isEmpty)
            #expect(try await fhir.search("Patient?family:contains=MART").matchIDs == [longer])
            #expect(try await fhir.search("Patient?family:contains=%25").matchIDs.isEmpty)
        }
    }

    @Test func commasAreOrAndRepeatsAreAnd() async throws {
        try await withTestApp { fhir in
            let a = try await fhir.create(Fixture.patient(family: "Alpha", given: "Anne"))
            let b = try await fhir.create(Fixture.patient(family: "Beta", given: "Anne"))
            let c = try await fhir.create(Fixture.patient(family: "Gamma", given: "Bruno"))
            #expect(Set(try await fhir.search("Patient?family=Alpha,Beta").matchIDs) == [a, b])
            #expect(try await fhir.search("Patient?given=Anne&family=Beta").matchIDs == [b])
            #expect(try await fhir.search("Patient?family=Gamma&family=Alpha").matchIDs.isEmpty)
            #expect(try await fhir.search("Patient?family=Gamma,Zeta&given=bru").matchIDs == [c])
        }
    }

    @Test func escapedCommasAreLiteral() async throws {
        try await withTestApp { fhir in
            let odd = try await fhir.create(Fixture.patient(family: "Smith,Jones"))
            #expect(try await fhir.search("Patient?family=Smith%5C,Jones").matchIDs == [odd])
        }
    }

    @Test func tokenSystemAndCodeForms() async throws {
        try await withTestApp { fhir in
            let withSystem = try await fhir.create(Fixture.patient(family: "A", identifier: ("urn:oid:1.2.250.1.213.1.4.8", "1")))
            let otherSystem = try await fhir.create(Fixture.patient(family: "B", identifier: ("urn:other", "1")))
            let noSystem = try await fhir.create(["resourceType": "Patient", "identifier": [["value": "1"]]])
            #expect(Set(try await fhir.search("Patient?identifier=1").matchIDs) == [withSystem, otherSystem, noSystem])
            #expect(try await fhir.search("Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|1").matchIDs == [withSystem])
            #expect(try await fhir.search("Patient?identifier=%7C1").matchIDs == [noSystem])
            #expect(try await fhir.search("Patient?identifier=urn:other%7C").matchIDs == [otherSystem])
        }
    }

    @Test func codesBooleansAndNot() async throws {
        try await withTestApp { fhir in
            let female = try await fhir.create(Fixture.patient(family: "F", gender: "female"))
            let male = try await fhir.create(Fixture.patient(family: "M", gender: "male"))
            let unknown = try await fhir.create(["resourceType": "Patient", "active": false])
            #expect(try await fhir.search("Patient?gender=female").matchIDs == [female])
            #expect(Set(try await fhir.search("Patient?gender:not=female").matchIDs) == [male, unknown])
            #expect(try await fhir.search("Patient?active=false").matchIDs == [unknown])
        }
    }

    @Test func textModifierSearchesDisplaysAndText() async throws {
        try await withTestApp { fhir in
            let condition = try await fhir.create([
                "resourceType": "Condition", "subject": ["reference": "Patient/p"],
                "code": ["coding": [["system": "http://hl7.org/fhir/sid/icd-10", "code": "I10", "display": "Hypertension essentielle"]], "text": "HTA"],
            ])
            #expect(try await fhir.search("Condition?code:text=hypertension").matchIDs == [condition])
            #expect(try await fhir.search("Condition?code:text=hta").matchIDs == [condition])
            #expect(try await fhir.search("Condition?code:text=diab").matchIDs.isEmpty)
        }
    }

    @Test func ofTypeMatchesIdentifierTypeAndValue() async throws {
        try await withTestApp { fhir in
            let patient = try await fhir.create([
                "resourceType": "Patient",
                "identifier": [["type": ["coding": [["system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"]]], "system": "urn:h", "value": "IPP42"]],
            ])
            #expect(try await fhir.search("Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203%7CMR%7CIPP42").matchIDs == [patient])
            #expect(try await fhir.search("Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203%7CSS%7CIPP42").matchIDs.isEmpty)
            let incompleteStatus = try await fhir.get("/fhir/Patient?identifier:of-type=MR").status
            #expect(incompleteStatus == 400)
        }
    }

    @Test func telecomSearchesByValue() async throws {
        try await withTestApp { fhir in
            let patient = try await fhir.create(["resourceType": "Patient", "telecom": [["system": "email", "value": "helene@example.fr"], ["system": "phone", "value": "0600000000"]]])
            #expect(try await fhir.search("Patient?email=helene@example.fr").matchIDs == [patient])
            #expect(try await fhir.search("Patient?phone=helene@example.fr").matchIDs.isEmpty)
            #expect(try await fhir.search("Patient?telecom=0600000000").matchIDs == [patient])
        }
    }

    @Test func missingModifierWorksForEveryKind() async throws {
        try await withTestApp { fhir in
            let withBirth = try await fhir.create(Fixture.patient(family: "A", birthDate: "1980-01-01"))
            let without = try await fhir.create(Fixture.patient(family: "B", birthDate: nil))
            #expect(try await fhir.search("Patient?birthdate:missing=true").matchIDs == [without])
            #expect(try await fhir.search("Patient?birthdate:missing=false").matchIDs == [withBirth])
            #expect(try await fhir.search("Patient?identifier:missing=false").matchIDs.isEmpty)
            #expect(Set(try await fhir.search("Patient?organization:missing=true").matchIDs) == [withBirth, without])
            let notBooleanStatus = try await fhir.get("/fhir/Patient?birthdate:missing=maybe").status
            #expect(notBooleanStatus == 400)
        }
    }

    @Test func commonParametersSearchMeta() async throws {
        try await withTestApp { fhir in
            let tagged = try await fhir.create([
                "resourceType": "Patient",
                "meta": [
                    "tag": [["system": "urn:hygie:tag", "code": "vip"]], "profile": ["http://interopsante.org/fhir/StructureDefinition/FrPatient"],
                    "security": [["system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"]], "source": "urn:hl7:adt",
                ],
            ])
            let other = try await fhir.create(Fixture.patient(family: "Plain"))
            #expect(try await fhir.search("Patient?_tag=urn:hygie:tag%7Cvip").matchIDs == [tagged])
            #expect(try await fhir.search("Patient?_profile=http://interopsante.org/fhir/StructureDefinition/FrPatient").matchIDs == [tagged])
            #expect(try await fhir.search("Patient?_security=R").matchIDs == [tagged])
            #expect(try await fhir.search("Patient?_source=urn:hl7:adt").matchIDs == [tagged])
            #expect(Set(try await fhir.search("Patient?_id=\(tagged),\(other)").matchIDs) == [tagged, other])
            #expect(try await fhir.search("Patient?_id=\(other)").matchIDs == [other])
        }
    }
}
