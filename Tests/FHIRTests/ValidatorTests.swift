import Testing

@testable import FHIR

@Suite struct ValidatorTests {
    let validator = ResourceValidator()

    func issues(_ text: String) throws -> [OutcomeIssue] {
        validator.validate(try JSONParser.parse(text))
    }

    @Test func aWellFormedPatientIsValid() throws {
        let text = #"""
            {"resourceType":"Patient","id":"p1","active":true,"name":[{"family":"Dupont","given":["Hélène"]}],
             "gender":"female","birthDate":"1970-03-04","deceasedBoolean":false,
             "identifier":[{"system":"urn:oid:1.2.250.1.213.1.4.8","value":"1700355001001"}],
             "managingOrganization":{"reference":"Organization/o1"},
             "_birthDate":{"extension":[{"url":"http://example.org/x","valueString":"approx"}]},
             "meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00Z","tag":[{"system":"s","code":"c"}]},
             "text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}
            """#
        #expect(try issues(text) == [])
    }

    @Test func unknownResourceTypeIsReported() throws {
        let found = try issues(#"{"resourceType":"Patientt"}"#)
        #expect(found.first?.code == .notSupported)
    }

    @Test func unknownElementsAreReportedWithTheirPath() throws {
        let found = try issues(#"{"resourceType":"Patient","name":[{"famly":"x"}]}"#)
        #expect(found.map(\.expression) == [["Patient.name[0].famly"]])
    }

    @Test func choiceElementsNeedTheirTypeSuffixAndOnlyOne() throws {
        #expect(try issues(#"{"resourceType":"Patient","deceased":true}"#).first?.diagnostics.contains("deceasedBoolean") == true)
        #expect(try !issues(#"{"resourceType":"Patient","deceasedBoolean":true,"deceasedDateTime":"2020"}"#).isEmpty)
    }

    @Test func repeatingElementsMustBeArraysAndSingleOnesMustNot() throws {
        #expect(try issues(#"{"resourceType":"Patient","name":{"family":"x"}}"#).count == 1)
        #expect(try issues(#"{"resourceType":"Patient","gender":["male"]}"#).count == 1)
    }

    @Test func emptyValuesAreRejected() throws {
        #expect(try issues(#"{"resourceType":"Patient","name":[]}"#).count == 1)
        #expect(try issues(#"{"resourceType":"Patient","name":[{}]}"#).count == 1)
        #expect(try issues(#"{"resourceType":"Patient","gender":""}"#).count == 1)
        #expect(try issues(#"{"resourceType":"Patient","gender":null}"#).count == 1)
    }

    @Test func primitiveFormatsAreChecked() throws {
        let found = try issues(#"{"resourceType":"Patient","birthDate":"04/03/1970","active":"yes","id":"a b"}"#)
        #expect(found.count == 3)
        #expect(found.allSatisfy { $0.code == .value })
    }

    @Test func requiredBindingsAreChecked() throws {
        let found = try issues(#"{"resourceType":"Patient","gender":"femme"}"#)
        #expect(found.first?.code == .codeInvalid)
    }

    @Test func requiredElementsAreChecked() throws {
        let found = try issues(#"{"resourceType":"Observation","status":"final"}"#)
        #expect(found.map(\.code) == [.required])
        #expect(found.first?.expression == ["Observation.code"])
    }

    @Test func referencesAreCheckedForFormAndTarget() throws {
        #expect(try issues(#"{"resourceType":"Patient","managingOrganization":{"reference":"Organization/"}}"#).count == 1)
        #expect(try issues(#"{"resourceType":"Patient","managingOrganization":{"reference":"Patient/p1"}}"#).count == 1)
        #expect(try issues(#"{"resourceType":"Patient","managingOrganization":{"reference":"http://x.org/fhir/Organization/1"}}"#) == [])
        #expect(try issues(#"{"resourceType":"Patient","managingOrganization":{"reference":"Organization?identifier=x"}}"#).count == 1)
        let conditional = ResourceValidator(options: .init(allowConditionalReferences: true))
        #expect(conditional.validate(try JSONParser.parse(#"{"resourceType":"Patient","managingOrganization":{"reference":"Organization?identifier=x"}}"#)) == [])
    }

    @Test func containedResourcesAndBundleEntriesAreValidatedToo() throws {
        #expect(try issues(#"{"resourceType":"Patient","contained":[{"resourceType":"Organization","nme":"x"}]}"#).count == 1)
        #expect(try issues(#"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","gender":"x"}}]}"#).count == 1)
    }

    @Test func primitiveArraysMayHoldNullsOnlyWhereExtensionsStand() throws {
        #expect(try issues(#"{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"extension":[{"url":"u","valueString":"v"}]}]}]}"#) == [])
        #expect(try issues(#"{"resourceType":"Patient","name":[{"given":["A",null]}]}"#).count == 1)
    }
}
