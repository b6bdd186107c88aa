import Core
import FHIR
import FHIRStore
import Foundation
import HygieServer
import Identity
import Logging
import SQLKit
import Storage
import Testing

/// Token-signing keys: published in the JWKS, rotatable, earlier keys keep verifying.
@Suite struct SigningKeyTests {
    @Test func aRotatedKeySignsNewTokensAndEarlierTokensStillVerify() async throws {
        try await withPlatforms(count: 2) { platforms, _ in
            let (first, second) = (platforms[0].identity.signer, platforms[1].identity.signer)
            let before = try first.sign(["sub": "a", "exp": .number(JSONNumber(Int(Date().timeIntervalSince1970) + 60))])
            let kid = try await first.rotate()
            let after = try first.sign(["sub": "b", "exp": .number(JSONNumber(Int(Date().timeIntervalSince1970) + 60))])
            #expect(first.jwks()["keys"]?.arrayValue?.count == 2)
            #expect(first.jwks()["keys"]?.arrayValue?.contains { $0["kid"]?.stringValue == kid } == true)
            #expect(first.verify(before)?["sub"]?.stringValue == "a")
            // The other process learns the new key when it meets a token signed with it.
            #expect(second.verify(after) == nil)
            #expect(try await second.verifyReloading(after)?["sub"]?.stringValue == "b")
            // A tampered token verifies nowhere.
            let tampered = after.dropLast(2) + (after.hasSuffix("AA") ? "BB" : "AA")
            #expect(try await second.verifyReloading(String(tampered)) == nil)
        }
    }

    /// Verified tokens are remembered (a client sends the same one with every request), but a
    /// remembered token is refused once it expires, and once its key is no longer loaded.
    @Test func aTokenVerifiedBeforeIsRefusedOnceExpiredOrOnceItsKeyIsRetired() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let clock = SteppedClock(Date())
            let signer = TokenSigner(
                store: platform.fhir.database, keyRing: platform.keyRing, clock: clock, ids: UUIDv7Generator(clock: clock), tenant: configuration.defaultTenant)
            try await signer.load()
            func expiring(in seconds: Int, _ subject: String) throws -> String {
                try signer.sign(["sub": .string(subject), "exp": .number(JSONNumber(Int(clock.now().timeIntervalSince1970) + seconds))])
            }
            let short = try expiring(in: 60, "short")
            #expect(signer.verify(short)?["sub"]?.stringValue == "short")
            #expect(signer.verify(short)?["sub"]?.stringValue == "short")
            clock.advance(hours: 61.0 / 3600)
            #expect(signer.verify(short) == nil)
            let long = try expiring(in: 3600, "long")
            #expect(signer.verify(long)?["sub"]?.stringValue == "long")
            try await platform.fhir.database.transaction { database in
                try await database.raw("UPDATE signing_keys SET retired_at = 1").run()
            }
            try await signer.load()  // a new key is made, the retired one is no longer loaded
            #expect(signer.verify(long) == nil)
            #expect(signer.verify(try expiring(in: 60, "new"))?["sub"]?.stringValue == "new")
        }
    }

    /// Base64url without padding, both ways, for every length modulo 3 and the two characters
    /// that differ from base64.
    @Test func base64URLRoundTrips() {
        for bytes in [[], [0xFB], [0xFB, 0xFF], [0xFB, 0xFF, 0xBF], [0x00, 0x10, 0x83, 0xFF], Array(0...255)] as [[UInt8]] {
            let text = Base64URL.encode(Data(bytes))
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == Data(bytes))
        }
        #expect(Base64URL.encode(Data([0xFB, 0xFF])) == "-_8")
        #expect(Base64URL.decode("not base64!") == nil)
    }
}
