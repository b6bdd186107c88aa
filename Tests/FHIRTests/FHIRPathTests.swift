import Testing

@testable import FHIR

@Suite struct FHIRPathTests {
    let evaluator = FHIRPathEvaluator()

    func evaluate(_ expression: String, _ resource: String) throws -> [FHIRPathNode] {
        evaluator.evaluate(try FHIRPathParser.parse(expression), on: try JSONParser.parse(resource))
    }

    @Test func choiceTypesAreFoundByTheirSuffix() throws {
        let observation = #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":5}}"#
        #expect(try evaluate("(Observation.value as Quantity)", observation).first?.type == "Quantity")
        #expect(try evaluate("Observation.value as CodeableConcept", observation).isEmpty)
        #expect(try evaluate("Observation.value.as(Quantity).value", observation).first?.value == 5)
    }

    @Test func whereResolveIsFiltersReferencesByTargetType() throws {
        let appointment = #"{"resourceType":"Appointment","participant":[{"actor":{"reference":"Patient/1"}},{"actor":{"reference":"Practitioner/2"}}]}"#
        let nodes = try evaluate("Appointment.participant.actor.where(resolve() is Patient)", appointment)
        #expect(nodes.map { $0.value["reference"] } == ["Patient/1"])
    }

    @Test func whereWithAnEqualityFilters() throws {
        let patient = #"{"resourceType":"Patient","telecom":[{"system":"phone","value":"1"},{"system":"email","value":"a@b.c"}]}"#
        #expect(try evaluate("Patient.telecom.where(system='email')", patient).map { $0.value["value"] } == ["a@b.c"])
    }

    @Test func unionsOfOtherTypesYieldNothing() throws {
        let plan = #"{"resourceType":"CarePlan","subject":{"reference":"Patient/1"}}"#
        let nodes = try evaluate("AllergyIntolerance.patient | CarePlan.subject.where(resolve() is Patient)", plan)
        #expect(nodes.count == 1)
    }

    @Test func existsAndInequality() throws {
        let expression = "Patient.deceased.exists() and Patient.deceased != false"
        #expect(try evaluate(expression, #"{"resourceType":"Patient","deceasedDateTime":"2020"}"#).first?.value == true)
        #expect(try evaluate(expression, #"{"resourceType":"Patient","deceasedBoolean":false}"#).first?.value == false)
        #expect(try evaluate(expression, #"{"resourceType":"Patient"}"#).first?.value == false)
    }

    @Test func resourceLevelPathsApplyToEveryType() throws {
        #expect(try evaluate("Resource.meta.tag", #"{"resourceType":"Patient","meta":{"tag":[{"code":"a"}]}}"#).first?.type == "Coding")
    }

    @Test func unsupportedFunctionsAreRejectedAtParse() {
        #expect(throws: FHIRPathSyntaxError.self) { try FHIRPathParser.parse("Patient.name.select(given)") }
    }
}
