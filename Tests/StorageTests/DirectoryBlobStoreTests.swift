import Foundation
import NIOPosix
import Synchronization
import Testing

@testable import Storage

@Suite struct DirectoryBlobStoreTests {
    private static func withRoot(_ body: (String) async throws -> Void) async throws {
        let root = NSTemporaryDirectory() + "hygie-blobs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await body(root)
    }

    /// A new key's file is created where it belongs, its missing directories made on the way;
    /// a key written again (a replaced instance), or left half written by a crash before the
    /// index named it, gets the new bytes whole and no temporary file is left behind.
    @Test func aKeyWrittenAgainOrLeftHalfWrittenGetsTheNewBytes() async throws {
        try await Self.withRoot { root in
            let store = DirectoryBlobStore(root: root)
            try await store.put("patients/p1/studies/1.2/series/1.2.3/a.dcm", [1, 2, 3])
            #expect(try await store.get("patients/p1/studies/1.2/series/1.2.3/a.dcm") == [1, 2, 3])
            try await store.put("patients/p1/studies/1.2/series/1.2.3/a.dcm", [4, 5])
            #expect(try await store.get("patients/p1/studies/1.2/series/1.2.3/a.dcm") == [4, 5])
            let crashed = root + "/patients/p1/studies/1.2/series/1.2.3/b.dcm"
            #expect(FileManager.default.createFile(atPath: crashed, contents: Data([9, 9, 9, 9, 9, 9])))
            try await store.put("patients/p1/studies/1.2/series/1.2.3/b.dcm", [6, 7, 8])
            #expect(try await store.get("patients/p1/studies/1.2/series/1.2.3/b.dcm") == [6, 7, 8])
            let names = try FileManager.default.contentsOfDirectory(atPath: root + "/patients/p1/studies/1.2/series/1.2.3")
            #expect(names.sorted() == ["a.dcm", "b.dcm"])
            await #expect(throws: BlobStoreError.notFound("patients/p1/c.dcm")) { try await store.get("patients/p1/c.dcm") }
        }
    }

    /// A write says when its file reads whole, before flushing it, so that an index may commit
    /// meanwhile: once for a new key, once for a key written again (renamed into place).
    @Test func aWriteSaysWhenItsFileReadsWhole() async throws {
        try await Self.withRoot { root in
            let store = DirectoryBlobStore(root: root)
            let key = "patients/p1/studies/1.2/series/1.2.3/a.dcm"
            for bytes in [[UInt8](repeating: 7, count: 300_000), [1, 2, 3]] {
                let seen = Mutex<[Data?]>([])
                try await store.put(key, bytes) {
                    seen.withLock { $0.append(FileManager.default.contents(atPath: root + "/" + key)) }
                }
                #expect(seen.withLock { $0 } == [Data(bytes)])
            }
        }
    }

    /// Stores of one new series arrive together (an association's C-STOREs, a STOW batch): each
    /// may find a directory made by another a moment before, and every blob is kept.
    @Test func concurrentPutsIntoOneNewDirectoryAllLand() async throws {
        try await Self.withRoot { root in
            let store = DirectoryBlobStore(root: root)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        try await store.put("patients/p2/studies/9.8/series/9.8.7/\(index).dcm", [UInt8(index), 1, 2, 3])
                    }
                }
                try await group.waitForAll()
            }
            for index in 0..<16 {
                #expect(try await store.get("patients/p2/studies/9.8/series/9.8.7/\(index).dcm") == [UInt8(index), 1, 2, 3])
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: root + "/patients/p2/studies/9.8/series/9.8.7")
                .filter { $0.contains(".tmp-") }
            #expect(leftovers.isEmpty)
        }
    }
}

extension DirectoryBlobStoreTests {
    /// Password hashing runs on NIO's shared thread pool; files must not queue behind it.
    @Test func filesAreWrittenWhileTheSharedThreadPoolIsBusy() async throws {
        try await Self.withRoot { root in
            let release = DispatchSemaphore(value: 0)
            let busy = 16
            let blockers = (0..<busy).map { _ in Task { try await NIOThreadPool.singleton.runIfActive { release.wait() } } }
            let store = DirectoryBlobStore(root: root)
            let written = Task { try await store.put("patients/p3/a.dcm", [1, 2, 3]) }
            var landed = false
            for _ in 0..<100 where !landed {
                try await Task.sleep(for: .milliseconds(100))
                landed = FileManager.default.fileExists(atPath: root + "/patients/p3/a.dcm")
            }
            for _ in 0..<busy { release.signal() }
            for blocker in blockers { try await blocker.value }
            try await written.value
            #expect(landed, "the file was written while every thread of the shared pool was taken")
        }
    }
}
