import Logging
import SQLKit
import Storage
import Synchronization

/// Keeps PostgreSQL's planner statistics in step with fast-growing FHIR tables.
///
/// Right after a bulk load, autovacuum may not yet have re-analysed the index tables; the
/// planner then believes they are nearly empty and picks nested loops that scan them whole
/// (seen here: a 5-minute query that takes a millisecond once analysed). The store counts the
/// resources it writes and analyses its tables once they grew by a fifth since the last time.
/// SQLite plans without statistics here, so nothing is done for it.
final class StatisticsKeeper: Sendable {
    static let tables = [
        "fhir_resources", "fhir_versions", "fhir_idx_string", "fhir_idx_token", "fhir_idx_date", "fhir_idx_reference",
        "fhir_idx_number", "fhir_idx_quantity", "fhir_idx_uri", "fhir_compartments",
    ]

    private struct State {
        var writtenSinceAnalyze = 0
        var sizeAtAnalyze = 0
        var analyzing = false
    }

    private let state = Mutex(State())
    let minimumGrowth: Int

    init(minimumGrowth: Int = 2000) {
        self.minimumGrowth = minimumGrowth
    }

    /// Counts written resources; returns true when the caller should analyse now.
    func recordWrites(_ count: Int) -> Bool {
        state.withLock { state in
            state.writtenSinceAnalyze += count
            let threshold = max(minimumGrowth, state.sizeAtAnalyze / 5)
            guard !state.analyzing, state.writtenSinceAnalyze >= threshold else { return false }
            state.analyzing = true
            return true
        }
    }

    func analyze(_ store: any SQLStore) async {
        guard store.dialect == .postgres else {
            state.withLock { $0.analyzing = false; $0.writtenSinceAnalyze = 0 }
            return
        }
        var size = 0
        do {
            size = try await store.read { database in
                try await database.raw("ANALYZE \(unsafeRaw: Self.tables.joined(separator: ", "))").run()
                let row = try await database.raw("SELECT reltuples::bigint AS n FROM pg_class WHERE relname = 'fhir_resources'").first()
                return max(0, try row?.decode(column: "n", as: Int.self) ?? 0)
            }
        } catch {
            store.logger.warning("ANALYZE of the FHIR tables failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
        state.withLock { state in
            state.analyzing = false
            state.writtenSinceAnalyze = 0
            state.sizeAtAnalyze = max(state.sizeAtAnalyze, size)
        }
    }
}
