import ArgumentParser

/// Benchmarks for Hygie's FHIR API. They drive a running server over HTTP and print figures;
/// nothing here asserts a duration. See docs/benchmarks.md for the commands and results.
/// `null-server` is the do-nothing peer Benchmarks/client_floor.py measures clients against.
@main
struct HygieBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hygie-bench",
        abstract: "Load and data generator for Hygie's FHIR API, and a null HTTP server for client floors.",
        subcommands: [Generate.self, Run.self, NullServer.self])
}
