import Testing

@testable import FHIR

@Suite struct DateTimeTests {
    static let jan2020 = FHIRDateTime.epochMillis(year: 2020, month: 1, day: 1)

    @Test func yearCoversTheWholeYear() throws {
        let value = try #require(FHIRDateTime.parse("2020", grammar: .dateTime))
        #expect(value.range.lowerBound == Self.jan2020)
        #expect(value.range.upperBound == FHIRDateTime.epochMillis(year: 2021, month: 1, day: 1) - 1)
    }

    @Test func monthHandlesLeapYears() throws {
        let value = try #require(FHIRDateTime.parse("2020-02", grammar: .date))
        #expect(value.range.upperBound == FHIRDateTime.epochMillis(year: 2020, month: 3, day: 1) - 1)
        #expect(FHIRDateTime.parse("2021-02-29", grammar: .date) == nil)
        #expect(FHIRDateTime.parse("2020-02-29", grammar: .date) != nil)
    }

    @Test func timeZonesShiftToUTC() throws {
        let value = try #require(FHIRDateTime.parse("2020-01-01T01:00:00+01:00", grammar: .dateTime))
        #expect(value.range.lowerBound == Self.jan2020)
        #expect(value.range.upperBound == Self.jan2020 + 999)
    }

    @Test func fractionsNarrowTheRange() throws {
        let value = try #require(FHIRDateTime.parse("2020-01-01T00:00:00.5Z", grammar: .instant))
        #expect(value.range == (Self.jan2020 + 500)...(Self.jan2020 + 599))
    }

    @Test(arguments: ["2020-13", "2020-01-32", "20", "2020-1-01", "2020-01-01T10:00:00", "2020-01-01T25:00:00Z", "0000"])
    func invalidDateTimesAreRejected(_ text: String) {
        #expect(FHIRDateTime.parse(text, grammar: .dateTime) == nil)
    }

    @Test func instantsNeedSecondsAndZone() {
        #expect(FHIRDateTime.parse("2020-01-01", grammar: .instant) == nil)
        #expect(FHIRDateTime.parse("2020-01-01T10:00Z", grammar: .instant) == nil)
        #expect(FHIRDateTime.parse("2020-01-01T10:00:00Z", grammar: .instant) != nil)
    }

    @Test func searchValuesMayOmitTheZoneAndSeconds() throws {
        let value = try #require(FHIRDateTime.parse("2020-01-01T10:30", grammar: .search))
        #expect(value.precision == .minute)
        #expect(value.range.lowerBound == Self.jan2020 + (10 * 3600 + 30 * 60) * 1000)
    }

    @Test func civilDatesRoundTrip() {
        for millis: Int64 in [0, 951_782_400_000, 1_709_164_800_123, -86_400_000] {
            let text = FHIRDateTime.instantString(epochMillis: millis)
            let parsed = FHIRDateTime.parse(text, grammar: .instant)
            #expect(parsed?.range.lowerBound == millis, "\(text)")
        }
        #expect(FHIRDateTime.httpDate(epochMillis: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(FHIRDateTime.parseHTTPDate("Thu, 01 Jan 1970 00:00:10 GMT") == 10_000)
    }
}

@Suite struct PrimitiveTypeTests {
    @Test func lexicalRules() {
        #expect(PrimitiveType.id.problem(with: .string("abc-1.2")) == nil)
        #expect(PrimitiveType.id.problem(with: .string("a_b")) != nil)
        #expect(PrimitiveType.id.problem(with: .string(String(repeating: "a", count: 65))) != nil)
        #expect(PrimitiveType.integer.problem(with: .number(JSONNumber(text: "1.0"))) != nil)
        #expect(PrimitiveType.integer.problem(with: .number(JSONNumber(text: "3000000000"))) != nil)
        #expect(PrimitiveType.positiveInt.problem(with: 0) != nil)
        #expect(PrimitiveType.unsignedInt.problem(with: 0) == nil)
        #expect(PrimitiveType.decimal.problem(with: .string("1.0")) != nil)
        #expect(PrimitiveType.boolean.problem(with: .string("true")) != nil)
        #expect(PrimitiveType.code.problem(with: .string(" male")) != nil)
        #expect(PrimitiveType.uri.problem(with: .string("http://a b")) != nil)
        #expect(PrimitiveType.string.problem(with: .string("")) != nil)
        #expect(PrimitiveType.base64Binary.problem(with: .string("aGVsbG8=")) == nil)
        #expect(PrimitiveType.base64Binary.problem(with: .string("aGVsbG8")) != nil)
        #expect(PrimitiveType.oid.problem(with: .string("urn:oid:1.2.250.1.213.1.4.8")) == nil)
        #expect(PrimitiveType.uuid.problem(with: .string("urn:uuid:c757873d-ec9a-4326-a141-556f43239520")) == nil)
        #expect(PrimitiveType.time.problem(with: .string("10:00:00")) == nil)
        #expect(PrimitiveType.time.problem(with: .string("10:00")) != nil)
    }
}
