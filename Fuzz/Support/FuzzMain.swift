#if FUZZING
import CLibFuzzer
#endif
import Foundation

/// The input check a fuzz target runs; it traps (`preconditionFailure`) when a rule is broken.
nonisolated(unsafe) private var currentCheck: ([UInt8]) -> Void = { _ in }

/// Runs `check` on inputs, as a fuzz target (DICOM PS3.10 files, DIMSE PDUs: bytes from peers
/// nobody vouches for).
///
/// Built with `-sanitize=fuzzer -D FUZZING` (Fuzz/run), libFuzzer drives it: coverage-guided
/// mutations of a corpus, with libFuzzer's own options (`-max_total_time=60 corpus/`). Built
/// as usual, it replays the files and directories named as arguments, so that a crash libFuzzer
/// found stays reproducible without the sanitizer build.
public func fuzzMain(_ check: @escaping ([UInt8]) -> Void) -> Never {
    currentCheck = check
    #if FUZZING
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        currentCheck(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    })
    #else
    var replayed = 0
    for argument in CommandLine.arguments.dropFirst() {
        for path in inputFiles(argument) {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
                exit(2)
            }
            check([UInt8](data))
            replayed += 1
        }
    }
    print("\(replayed) input(s) replayed without a failure")
    exit(0)
    #endif
}

/// The regular files at `path`: the file itself, or those below it when it is a directory.
private func inputFiles(_ path: String) -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [path] }
    guard isDirectory.boolValue else { return [path] }
    let below = FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []
    return below.sorted().map { path + "/" + $0 }.filter { candidate in
        var nested: ObjCBool = false
        return FileManager.default.fileExists(atPath: candidate, isDirectory: &nested) && !nested.boolValue
    }
}
