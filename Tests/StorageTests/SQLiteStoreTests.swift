import Foundation
import Logging
import SQLKit
import Storage
import Synchronization
import Testing

@Suite struct SQLiteStoreTests {
    /// A background task (a scheduled ImagingStudy rewrite) may still hold a connection when
    /// the server stops: closing waits for it instead of dropping the connection open.
    @Test func closingWaitsForConnectionsInUseAndRefusesNewWork() async throws {
        let directory = NSTemporaryDirectory() + "hygie-storage-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteStore.open(path: directory + "/test.sqlite", readers: 2, logger: Logger(label: "test"))
        let finished = Atomic(false)
        let started = AsyncStream<Void>.makeStream()
        let reading = Task {
            try await store.transaction { database in
                started.continuation.yield()
                try await Task.sleep(for: .milliseconds(300))
                try await database.raw("CREATE TABLE t (x INTEGER)").run()
                finished.store(true, ordering: .sequentiallyConsistent)
            }
        }
        for await _ in started.stream { break }
        await store.close()
        let finishedBeforeClose = finished.load(ordering: .sequentiallyConsistent)
        #expect(finishedBeforeClose)
        try await reading.value
        await #expect(throws: StorageError.self) {
            try await store.read { try await $0.raw("SELECT 1").run() }
        }
        await store.close()
    }
}
