import Core
import FHIR
import Foundation
import HygieServer
import Identity
import Logging
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
}
