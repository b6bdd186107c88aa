import ArgumentParser
import FHIR
import Foundation
import NIOHTTP1
import SyntheticData

/// Loads synthetic patients (with encounters, conditions and observations) through
/// transaction Bundles of about `--bundle-size` entries, and reports the ingest rate.
struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ingest synthetic patients through transaction Bundles.")

    @Option(help: "FHIR base URL.") var url = "http://127.0.0.1:8080/fhir"
    @Option(help: "Number of patients.") var patients = 1000
    @Option(help: "Observations per patient.") var observations = 10
    @Option(help: "Encounters per patient.") var encounters = 1
    @Option(help: "Entries per transaction Bundle (whole patients are never split).") var bundleSize = 100
    @Option(help: "Bundles sent at once.") var concurrency = 2
    @Option(help: "First patient number (to add to an existing data set).") var start = 0
    @Option(help: "Seed of the synthetic data.") var seed: UInt64 = 7

    func run() async throws {
        let client = FHIRHTTPClient(base: url, connections: concurrency)
        let population = SyntheticPopulation(
            seed: seed, encountersPerPatient: encounters, conditionsPerPatient: 1...1, observationsPerPatient: observations)
        let perPatient = 1 + encounters + 1 + observations
        let patientsPerBundle = max(1, bundleSize / perPatient)
        let bundles = (patients + patientsPerBundle - 1) / patientsPerBundle
        print("ingesting \(patients) patients (\(patients * perPatient) resources) in \(bundles) bundles of \(patientsPerBundle * perPatient) entries, \(concurrency) at once")
        let counter = Counter()
        let began = now()
        var total = Measurement()
        try await withThrowingTaskGroup(of: Measurement.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var measurement = Measurement()
                    while let bundle = await counter.next(limit: bundles) {
                        let first = start + bundle * patientsPerBundle
                        let last = min(start + patients, first + patientsPerBundle)
                        var entries: [JSON] = []
                        for index in first..<last {
                            entries += population.patientBundle(index)["entry"]?.arrayValue ?? []
                        }
                        let body = JSONWriter.bytes(["resourceType": "Bundle", "type": "transaction", "entry": .array(entries)])
                        let sent = now()
                        let (status, response) = try await client.send(.POST, "", body: body, prefer: "return=minimal")
                        measurement.latencies.append(now() - sent)
                        if status == 200 {
                            measurement.items += entries.count
                        } else {
                            measurement.errors += 1
                            if measurement.errors < 3 { print("error \(status): \(String(decoding: response.prefix(300), as: UTF8.self))") }
                        }
                        let done = await counter.completed()
                        if done % max(1, bundles / 20) == 0 {
                            let elapsed = now() - began
                            print(String(format: "… %d/%d bundles, %.0f s", done, bundles, elapsed))
                        }
                    }
                    return measurement
                }
            }
            for try await measurement in group { total.merge(measurement) }
        }
        total.elapsed = now() - began
        print(Measurement.header)
        print(total.line("ingest (bundles)"))
        print(String(format: "ingested %d resources in %.1f s: %.0f resources/s", total.items, total.elapsed, Double(total.items) / total.elapsed))
        try await client.shutdown()
    }
}

actor Counter {
    var issued = 0
    var done = 0

    func next(limit: Int) -> Int? {
        guard issued < limit else { return nil }
        defer { issued += 1 }
        return issued
    }

    func completed() -> Int {
        done += 1
        return done
    }
}
