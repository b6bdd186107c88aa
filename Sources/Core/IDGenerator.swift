import Foundation
import Synchronization

/// Makes identifiers for new resources and rows. Injected so that tests get stable ids.
public protocol IDGenerator: Sendable {
    func makeID() -> String
}

/// UUID version 7 (RFC 9562 §5.7): a 48-bit millisecond timestamp followed by random bits.
/// Ids created close in time sort close together, which keeps B-tree inserts at the end of
/// the index instead of scattered across it.
public struct UUIDv7Generator: IDGenerator {
    private let clock: any WallClock

    public init(clock: any WallClock = SystemWallClock()) {
        self.clock = clock
    }

    public func makeID() -> String {
        let millis = UInt64(max(0, clock.now().timeIntervalSince1970 * 1000))
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 {
            bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - index)))
        }
        var generator = SystemRandomNumberGenerator()
        for index in 6..<16 {
            bytes[index] = UInt8.random(in: 0...255, using: &generator)
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return Self.format(bytes)
    }

    static func format(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Ids `prefix-1`, `prefix-2`, … for tests that assert on ids.
public final class SequentialIDGenerator: IDGenerator {
    private let counter = Mutex(0)
    private let prefix: String

    public init(prefix: String = "id") {
        self.prefix = prefix
    }

    public func makeID() -> String {
        let next = counter.withLock { value -> Int in
            value += 1
            return value
        }
        return "\(prefix)-\(next)"
    }
}
