import Core
import FHIR
import HTTPTypes
import Testing

@Suite struct SearchDateNumberTests {
    @Test func dateEqualityFollowsThePrecisionOfTheValue() async throws {
        try await withTestApp { fhir in
            let y1980 = try await fhir.create(Fixture.patient(family: "A", birthDate: "1980-06-15"))
            let y1981 = try await fhir.create(Fixture.patient(family: "B", birthDate: "1981-01-01"))
            let monthOnly = try await fhir.create(Fixture.patient(family: "C", birthDate: "1980-06"))
            #expect(Set(try await fhir.search("Patient?birthdate=1980").matchIDs) == [y1980, monthOnly])
            #expect(Set(try await fhir.search("Patient?birthdate=1980-06").matchIDs) == [y1980, monthOnly])
            #expect(try await fhir.search("Patient?birthdate=1980-06-15").matchIDs == [y1980])
            #expect(try await fhir.search("Patient?birthdate=1981-01-01").matchIDs == [y1981])
            #expect(Set(try await fhir.search("Patient?birthdate=ne1980-06-15").matchIDs) == [y1981, monthOnly])
        }
    }

    @Test func comparisonPrefixes() async throws {
        try await withTestApp { fhir in
            let early = try await fhir.create(Fixture.patient(family: "A", birthDate: "1970-01-01"))
            let middle = try await fhir.create(Fixture.patient(family: "B", birthDate: "1980-06-15"))
            let late = try await fhir.create(Fixture.patient(family: "C", birthDate: "1990-12-31"))
            #expect(try await fhir.search("Patient?birthdate=gt1980").matchIDs == [late])
            #expect(try await fhir.search("Patient?birthdate=lt1980").matchIDs == [early])
            #expect(Set(try await fhir.search("Patient?birthdate=ge1980").matchIDs) == [middle, late])
            #expect(Set(try await fhir.search("Patient?birthdate=le1980").matchIDs) == [early, middle])
            #expect(try await fhir.search("Patient?birthdate=sa1980").matchIDs == [late])
            #expect(try await fhir.search("Patient?birthdate=eb1980").matchIDs == [early])
            #expect(try await fhir.search("Patient?birthdate=ge1975&birthdate=le1985").matchIDs == [middle])
            #expect(try await fhir.search("Patient?birthdate=ap1980-06-20").matchIDs == [middle])
        }
    }

    @Test func periodsAreRanges() async throws {
        try await withTestApp { fhir in
            func encounter(_ start: String?, _ end: String?) -> JSON {
                var period = JSONObject()
                if let start { period["start"] = .string(start) }
                if let end { period["end"] = .string(end) }
                return ["resourceType": "Encounter", "status": "finished", "class": ["code": "IMP"], "period": .object(period)]
            }
            let march = try await fhir.create(encounter("2024-03-01T08:00:00Z", "2024-03-05T18:00:00Z"))
            let spanning = try await fhir.create(encounter("2024-02-20T08:00:00Z", "2024-04-02T12:00:00Z"))
            let ongoing = try await fhir.create(encounter("2024-05-01T08:00:00Z", nil))
            #expect(try await fhir.search("Encounter?date=2024-03").matchIDs == [march])
            #expect(Set(try await fhir.search("Encounter?date=gt2024-03-31").matchIDs) == [spanning, ongoing])
            #expect(try await fhir.search("Encounter?date=sa2024-04-30").matchIDs == [ongoing])
            let future = try await fhir.search("Encounter?date=gt2030-01-01").matchIDs
            #expect(future == [ongoing])
            let before = try await fhir.search("Encounter?date=lt2024-03-01").matchIDs
            #expect(before == [spanning])
        }
    }

    @Test func instantsCompareAcrossTimeZones() async throws {
        try await withTestApp { fhir in
            let patient = try await fhir.create(Fixture.patient(family: "T"))
            let observation = try await fhir.create(Fixture.observation(patient: patient, date: "2024-03-01T10:00:00+01:00"))
            #expect(try await fhir.search("Observation?date=2024-03-01T09:00:00Z").matchIDs == [observation])
            #expect(try await fhir.search("Observation?date=gt2024-03-01T09:30:00Z").matchIDs.isEmpty)
            #expect(try await fhir.search("Observation?date=lt2024-03-01T09:30:00Z").matchIDs == [observation])
        }
    }

    @Test func invalidDatesAre400() async throws {
        try await withTestApp { fhir in
            let dayFirstStatus = try await fhir.get("/fhir/Patient?birthdate=01-02-2020").status
            #expect(dayFirstStatus == 400)
            let badPrefixStatus = try await fhir.get("/fhir/Patient?birthdate=xx2020").status
            #expect(badPrefixStatus == 400)
        }
    }

    @Test func quantitiesComparePrefixesAndUnits() async throws {
        try await withTestApp { fhir in
            let patient = try await fhir.create(Fixture.patient(family: "Q"))
            let slow = try await fhir.create(Fixture.observation(patient: patient, value: "55"))
            let fast = try await fhir.create(Fixture.observation(patient: patient, value: "120"))
            let weight = try await fhir.create(Fixture.observation(patient: patient, code: "29463-7", value: "72.5", unit: "kg"))
            #expect(try await fhir.search("Observation?value-quantity=gt100").matchIDs == [fast])
            #expect(Set(try await fhir.search("Observation?value-quantity=lt100").matchIDs) == [slow, weight])
            #expect(try await fhir.search("Observation?value-quantity=72.5%7Chttp://unitsofmeasure.org%7Ckg").matchIDs == [weight])
            #expect(try await fhir.search("Observation?value-quantity=72.5%7C%7Ckg").matchIDs == [weight])
            #expect(try await fhir.search("Observation?value-quantity=72.5%7C%7Cg").matchIDs.isEmpty)
            #expect(try await fhir.search("Observation?value-quantity=72").matchIDs.isEmpty)
            #expect(try await fhir.search("Observation?value-quantity=72.5").matchIDs == [weight])
            #expect(try await fhir.search("Observation?value-quantity=ap72").matchIDs == [weight])
            #expect(try await fhir.search("Observation?value-quantity=le55").matchIDs == [slow])
        }
    }

    @Test func numbersUseTheImpliedPrecision() async throws {
        try await withTestApp { fhir in
            func risk(_ probability: String) -> JSON {
                ["resourceType": "RiskAssessment", "status": "final", "subject": ["reference": "Patient/p"],
                 "prediction": [["probabilityDecimal": .number(JSONNumber(text: probability))]]]
            }
            let low = try await fhir.create(risk("0.12"))
            let high = try await fhir.create(risk("0.81"))
            #expect(try await fhir.search("RiskAssessment?probability=gt0.5").matchIDs == [high])
            #expect(try await fhir.search("RiskAssessment?probability=0.1").matchIDs == [low])
            #expect(try await fhir.search("RiskAssessment?probability=0.10").matchIDs.isEmpty)
            #expect(try await fhir.search("RiskAssessment?probability=le0.12").matchIDs == [low])
            let notANumberStatus = try await fhir.get("/fhir/RiskAssessment?probability=abc").status
            #expect(notANumberStatus == 400)
        }
    }

    @Test func urisMatchExactlyBelowAndAbove() async throws {
        try await withTestApp { fhir in
            func valueSet(_ url: String) -> JSON { ["resourceType": "ValueSet", "status": "active", "url": .string(url)] }
            let root = try await fhir.create(valueSet("http://hygie.fr/fhir/ValueSet"))
            let child = try await fhir.create(valueSet("http://hygie.fr/fhir/ValueSet/specialites"))
            try await fhir.create(valueSet("http://other.org/ValueSet/x"))
            #expect(try await fhir.search("ValueSet?url=http://hygie.fr/fhir/ValueSet/specialites").matchIDs == [child])
            #expect(Set(try await fhir.search("ValueSet?url:below=http://hygie.fr/fhir").matchIDs) == [root, child])
            #expect(Set(try await fhir.search("ValueSet?url:above=http://hygie.fr/fhir/ValueSet/specialites").matchIDs) == [root, child])
        }
    }

    @Test func lastUpdatedIsSearchable() async throws {
        let clock = FixedWallClockBox.make("2024-01-10T10:00:00Z")
        try await withTestApp(clock: clock) { fhir in
            var fhir = fhir
            let old = try await fhir.create(Fixture.patient(family: "Old"))
            clock.advance(by: 86_400 * 30)
            fhir = try await fhir.renewed()
            let recent = try await fhir.create(Fixture.patient(family: "New"))
            #expect(try await fhir.search("Patient?_lastUpdated=lt2024-01-15").matchIDs == [old])
            #expect(try await fhir.search("Patient?_lastUpdated=ge2024-02").matchIDs == [recent])
            #expect(try await fhir.search("Patient?_lastUpdated=2024-01-10").matchIDs == [old])
        }
    }
}
