import Core
import FHIR
import HTTPTypes
import Testing

/// API requests are limited per hour, per network address and per account.
@Suite struct RateLimitTests {
    @Test func requestsPastTheAddressLimitAreAnswered429WithRetryAfter() async throws {
        try await withTestApp(systemClient: false, configure: { $0.rateLimitPerAddress = 5 }) { http in
            for _ in 0..<5 { #expect(try await http.get("/fhir/metadata").status == 200) }
            let limited = try await http.get("/fhir/metadata")
            #expect(limited.status == 429)
            let wait = Int(limited.header("Retry-After") ?? "") ?? 0
            #expect(wait > 0 && wait <= 3600)
            #expect(try await http.get("/health/live").status == 200)
        }
    }

    @Test func requestsPastTheAccountLimitAreAnswered429() async throws {
        try await withTestApp(configure: { $0.rateLimitPerAccount = 3 }) { http in
            // The harness's client took its token; its own requests count from here.
            for _ in 0..<3 { #expect(try await http.get("/fhir/Patient").status == 200) }
            #expect(try await http.get("/fhir/Patient").status == 429)
            // Another account is not held back by the first one's count.
            let other = try await APITestClient(http: http).call(.get, "/api/v1/auth/me", token: http.superAdminToken)
            #expect(other.status == 200)
        }
    }
}
