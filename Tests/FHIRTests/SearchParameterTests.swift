import Foundation
import Testing

@testable import FHIR

@Suite struct SearchParameterTests {
    static let requiredTypes = [
        "Patient", "Practitioner", "PractitionerRole", "Organization", "Location", "Encounter", "EpisodeOfCare",
        "Observation", "Condition", "Procedure", "AllergyIntolerance", "MedicationRequest", "Immunization",
        "DiagnosticReport", "DocumentReference", "Binary", "ImagingStudy", "Appointment", "Schedule", "Slot", "CareTeam",
        "CarePlan", "Task", "Questionnaire", "QuestionnaireResponse", "Provenance", "Communication", "Consent",
        "AuditEvent", "Device", "ServiceRequest", "Composition", "CodeSystem", "ValueSet", "ConceptMap", "Subscription",
    ]

    /// The official R4 bundle sits next to the repository (never inside it).
    static var officialBundleURL: URL? {
        var directory = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { directory.deleteLastPathComponent() }
        let url = directory.deletingLastPathComponent().appendingPathComponent("shared/fhir/search-parameters.json")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    @Test func everyRequiredTypeHasItsStandardParameters() {
        for type in Self.requiredTypes {
            #expect(!SearchParameterRegistry.r4.parameters(for: type).isEmpty, "\(type)")
        }
        #expect(SearchParameterRegistry.r4.parameter("Patient", "name")?.type == .string)
        #expect(SearchParameterRegistry.r4.parameter("Observation", "code")?.type == .token)
        #expect(SearchParameterRegistry.r4.parameter("Observation", "_tag")?.type == .token)
    }

    @Test(.enabled(if: officialBundleURL != nil))
    func definitionsMatchTheOfficialR4Bundle() throws {
        let data = try Data(contentsOf: try #require(Self.officialBundleURL))
        let bundle = try JSONParser.parse(Array(data))
        var checked = 0
        for entry in bundle["entry"]?.arrayValue ?? [] {
            guard let parameter = entry["resource"], let code = parameter["code"]?.stringValue,
                let type = parameter["type"]?.stringValue, !["composite", "special"].contains(type),
                let expression = parameter["expression"]?.stringValue
            else { continue }
            let bases = parameter["base"]?.arrayValue?.compactMap(\.stringValue) ?? []
            for base in bases where Self.requiredTypes.contains(base) {
                let ours = try #require(SearchParameterRegistry.r4.parameter(base, code), "\(base).\(code)")
                #expect(ours.type.rawValue == type, "\(base).\(code)")
                #expect(ours.expressionText == expression, "\(base).\(code)")
                #expect(ours.url == parameter["url"]?.stringValue)
                #expect(Set(ours.targets) == Set(parameter["target"]?.arrayValue?.compactMap(\.stringValue) ?? []), "\(base).\(code)")
                checked += 1
            }
        }
        #expect(checked > 400)
    }

    @Test func patientCompartmentNamesRealReferenceParameters() {
        for (type, codes) in PatientCompartment.parameters {
            for code in codes {
                #expect(SearchParameterRegistry.r4.parameter(type, code)?.type == .reference, "\(type).\(code)")
            }
        }
    }
}

@Suite struct IndexerTests {
    let indexer = ResourceIndexer(baseURL: "http://localhost:8080/fhir")

    func entries(_ text: String) throws -> [IndexEntry] {
        indexer.index(try JSONParser.parse(text))
    }

    @Test func namesAreFoldedForSearch() throws {
        let found = try entries(#"{"resourceType":"Patient","name":[{"family":"Lefèvre","given":["Hélène","Zoë"]}]}"#)
        #expect(found.contains(IndexEntry(code: "family", value: .string(normalized: "lefevre", exact: "Lefèvre"))))
        #expect(found.contains(IndexEntry(code: "name", value: .string(normalized: "helene", exact: "Hélène"))))
        #expect(StringNormalizer.normalize("Cœur") == "coeur")
    }

    @Test func identifiersGiveTokensAndTypeRows() throws {
        let found = try entries(
            #"{"resourceType":"Patient","identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"urn:h","value":"42"}]}"#)
        #expect(found.contains(IndexEntry(code: "identifier", value: .token(system: "urn:h", code: "42", text: nil))))
        #expect(found.contains(IndexEntry(code: "identifier:of-type", value: .token(system: "http://terminology.hl7.org/CodeSystem/v2-0203|MR", code: "42", text: nil))))
    }

    @Test func periodsAndOpenEndsBecomeRanges() throws {
        let found = try entries(#"{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"period":{"start":"2020-01-01"}}"#)
        let date = found.first { $0.code == "date" }
        #expect(date?.value == .date(low: FHIRDateTime.epochMillis(year: 2020, month: 1, day: 1), high: Int64.max))
    }

    @Test func referencesToThisServerAreLocal() throws {
        let found = try entries(#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"http://localhost:8080/fhir/Patient/p1"}}"#)
        #expect(found.contains(IndexEntry(code: "subject", value: .reference(type: "Patient", id: "p1", url: nil))))
        #expect(found.contains(IndexEntry(code: "patient", value: .reference(type: "Patient", id: "p1", url: nil))))
    }

    @Test func quantitiesKeepTheirUnits() throws {
        let found = try entries(
            #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":72,"system":"http://unitsofmeasure.org","code":"/min","unit":"bpm"}}"#)
        #expect(found.contains(IndexEntry(code: "value-quantity", value: .quantity(low: 72, high: 72, system: "http://unitsofmeasure.org", code: "/min", unit: "bpm"))))
    }

    @Test func compartmentsFollowTheDefinition() throws {
        let observation = try JSONParser.parse(#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"performer":[{"reference":"Practitioner/d1"}]}"#)
        let found = indexer.index(observation)
        #expect(indexer.patientCompartments(of: observation, type: "Observation", id: "o1", entries: found) == ["p1"])
    }
}
