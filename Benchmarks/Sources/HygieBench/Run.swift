import ArgumentParser
import FHIR
import Foundation
import NIOHTTP1

/// Runs one or more request scenarios against a server already holding data (`generate`).
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure request scenarios against a loaded server.")

    @Option(help: "FHIR base URL.") var url = "http://127.0.0.1:8080/fhir"
    @Option(help: "Scenarios: create, read, update, search-name, search-identifier, search-observation, search-include, or all.")
    var scenario = "all"
    @Option(help: "Seconds per scenario.") var duration = 15.0
    @Option(help: "Requests in flight at once.") var concurrency = 16
    @Option(help: "Patients sampled for the reads and searches.") var sample = 2000

    static let all = ["read", "search-name", "search-identifier", "search-observation", "search-include", "create", "update"]

    func run() async throws {
        let client = FHIRHTTPClient(base: url, connections: concurrency)
        let targets = try await Targets.load(client, sample: sample)
        print("sampled \(targets.patients.count) patients; \(concurrency) requests in flight; \(Int(duration)) s per scenario")
        print(Measurement.header)
        for name in scenario == "all" ? Self.all : scenario.split(separator: ",").map(String.init) {
            let measurement = try await measure(name, client: client, targets: targets)
            print(measurement.line(name))
        }
        try await client.shutdown()
    }

    func measure(_ name: String, client: FHIRHTTPClient, targets: Targets) async throws -> Measurement {
        let began = now()
        let deadline = began + duration
        var total = Measurement()
        try await withThrowingTaskGroup(of: Measurement.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var measurement = Measurement()
                    var random = SystemRandomNumberGenerator()
                    var sequence = 0
                    while now() < deadline {
                        sequence += 1
                        let (method, path, body) = try targets.request(name, worker: worker, sequence: sequence, random: &random)
                        let sent = now()
                        let (status, response) = try await client.send(method, path, body: body)
                        measurement.latencies.append(now() - sent)
                        if status >= 400 {
                            measurement.errors += 1
                            if measurement.errors == 1 { print("\(name) error \(status): \(String(decoding: response.prefix(200), as: UTF8.self))") }
                        }
                    }
                    return measurement
                }
            }
            for try await measurement in group { total.merge(measurement) }
        }
        total.elapsed = now() - began
        return total
    }
}

/// Ids and values taken from the loaded data, to build realistic requests.
struct Targets: Sendable {
    struct Patient: Sendable {
        let id: String
        let family: String
        let given: String
        let identifier: String
    }

    let patients: [Patient]

    static func load(_ client: FHIRHTTPClient, sample: Int) async throws -> Targets {
        var patients: [Patient] = []
        var path: String? = "/Patient?_count=\(min(sample, 1000))&_elements=identifier,name&_total=none"
        while let next = path, patients.count < sample {
            let bundle = try await client.json(next)
            for entry in bundle["entry"]?.arrayValue ?? [] {
                guard let resource = entry["resource"], let id = resource["id"]?.stringValue,
                    let family = resource["name"]?.arrayValue?.first?["family"]?.stringValue,
                    let given = resource["name"]?.arrayValue?.first?["given"]?.arrayValue?.first?.stringValue,
                    let identifier = resource["identifier"]?.arrayValue?.first,
                    let system = identifier["system"]?.stringValue, let value = identifier["value"]?.stringValue
                else { continue }
                patients.append(Patient(id: id, family: family, given: given, identifier: "\(system)|\(value)"))
            }
            path = bundle["link"]?.arrayValue?.first { $0["relation"]?.stringValue == "next" }?["url"]?.stringValue
                .map { String($0.dropFirst(client.base.count)) }
        }
        guard !patients.isEmpty else { throw BenchError.noData("the server holds no patients: run `hygie-bench generate` first") }
        return Targets(patients: patients)
    }

    static let codes = ["8867-4", "8310-5", "29463-7", "2339-0", "4548-4", "718-7"]

    func request(_ scenario: String, worker: Int, sequence: Int, random: inout SystemRandomNumberGenerator) throws -> (HTTPMethod, String, [UInt8]?) {
        let patient = patients[Int.random(in: 0..<patients.count, using: &random)]
        switch scenario {
        case "read":
            return (.GET, "/Patient/\(patient.id)", nil)
        case "create":
            let body: JSON = [
                "resourceType": "Patient", "name": [["family": .string("Bench\(worker)"), "given": [.string("N\(sequence)")]]],
                "gender": "female", "birthDate": "1980-01-01",
                "identifier": [["system": "urn:hygie:bench", "value": .string("\(worker)-\(sequence)-\(Int.random(in: 0..<1_000_000_000, using: &random))")]],
            ]
            return (.POST, "/Patient", JSONWriter.bytes(body))
        case "update":
            let id = patients[worker % patients.count].id
            let body: JSON = [
                "resourceType": "Patient", "id": .string(id), "name": [["family": .string(patient.family), "given": [.string("Mis à jour \(sequence)")]]],
                "identifier": [["system": "urn:hygie:bench-update", "value": .string(id)]],
            ]
            return (.PUT, "/Patient/\(id)", JSONWriter.bytes(body))
        case "search-name":
            // As a clerk types it: the family name and the start of the given name.
            let family = patient.family.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let given = String(patient.given.prefix(3)).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            return (.GET, "/Patient?family=\(family)&given=\(given)&_count=20", nil)
        case "search-identifier":
            return (.GET, "/Patient?identifier=\(patient.identifier.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")", nil)
        case "search-observation":
            let code = Self.codes[Int.random(in: 0..<Self.codes.count, using: &random)]
            return (.GET, "/Observation?patient=\(patient.id)&code=http://loinc.org%7C\(code)&date=ge2022-01-01", nil)
        case "search-include":
            return (.GET, "/Observation?patient=\(patient.id)&_include=Observation:subject&_count=20", nil)
        default:
            throw BenchError.noData("unknown scenario \(scenario)")
        }
    }
}
