import Core
import FHIR
import Foundation
import HTTPTypes
import HummingbirdOTP
import Testing

/// The optional TOTP second factor, and an admin requiring it for a role.
@Suite struct TOTPTests {
    /// The current code for a base32 secret, as an authenticator app computes it.
    static func code(_ base32: String, at date: Date = Date()) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var bits = 0, value = 0
        var bytes: [UInt8] = []
        for character in base32 {
            guard let index = alphabet.firstIndex(of: character) else { continue }
            value = (value << 5) | index
            bits += 5
            if bits >= 8 {
                bytes.append(UInt8((value >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        let secret = String(decoding: bytes, as: UTF8.self)
        return String(format: "%06d", TOTP(secret: secret).compute(date: date))
    }

    @Test func onceTurnedOnTheSecondFactorIsAskedAtEverySignIn() async throws {
        try await withTestApp { http in
            let setup = try await TwoHospitals.make(http)
            let api = setup.api
            let (_, token) = try await setup.staff("inf.totp", role: "nurse", by: setup.adminA)
            let enrolment = try await api.call(.post, "/api/v1/auth/totp/setup", token: token)
            let secret = enrolment.json["secret"]?.stringValue ?? ""
            #expect(enrolment.json["otpauth_url"]?.stringValue?.hasPrefix("otpauth://totp/") == true)
            #expect(try await api.call(.post, "/api/v1/auth/totp/confirm", ["code": "000000"], token: token).status == 400)
            #expect(try await api.call(.post, "/api/v1/auth/totp/confirm", ["code": .string(Self.code(secret))], token: token).status == 204)

            let withoutCode = try await api.login("inf.totp", TestPassword.standard)
            #expect(withoutCode.status == 401)
            #expect(withoutCode.json["code"]?.stringValue == "totp-required")
            let wrong = try await api.call(
                .post, "/api/v1/auth/login", ["username": "inf.totp", "password": .string(TestPassword.standard), "totp": "123456"])
            #expect(wrong.status == 401)
            let right = try await api.call(
                .post, "/api/v1/auth/login", ["username": "inf.totp", "password": .string(TestPassword.standard), "totp": .string(Self.code(secret))])
            #expect(right.status == 200)
        }
    }

    @Test func anAdminRequiresTheSecondFactorForARoleOfTheirHospital() async throws {
        try await withTestApp { http in
            let setup = try await TwoHospitals.make(http)
            let api = setup.api
            let (_, nurseA) = try await setup.staff("inf.a.totp", role: "nurse", by: setup.adminA)
            let (_, nurseB) = try await setup.staff("inf.b.totp", role: "nurse", by: setup.adminB)
            let (_, physician) = try await setup.staff("dr.totp", role: "physician", by: setup.adminA)
            #expect(try await api.call(.put, "/api/v1/admin/totp-requirements", ["role": "nurse", "required": true], token: physician).status == 403)
            #expect(try await api.call(.put, "/api/v1/admin/totp-requirements", ["role": "nurse", "required": true], token: setup.adminA).status == 204)

            let blocked = try await http.get("/fhir/Patient", headers: ["Authorization": "Bearer \(nurseA)"])
            #expect(blocked.status == 403)
            let me = try await api.call(.get, "/api/v1/staff", token: nurseA)
            #expect(me.json["code"]?.stringValue == "totp-enrolment-required")
            #expect(try await http.get("/fhir/Patient", headers: ["Authorization": "Bearer \(nurseB)"]).status == 200)
            #expect(try await http.get("/fhir/Patient", headers: ["Authorization": "Bearer \(physician)"]).status == 200)

            let secret = try await api.call(.post, "/api/v1/auth/totp/setup", token: nurseA).json["secret"]?.stringValue ?? ""
            #expect(try await api.call(.post, "/api/v1/auth/totp/confirm", ["code": .string(Self.code(secret))], token: nurseA).status == 204)
            #expect(try await http.get("/fhir/Patient", headers: ["Authorization": "Bearer \(nurseA)"]).status == 200)
            let off = try await api.call(.post, "/api/v1/auth/totp/disable", ["password": .string(TestPassword.standard)], token: nurseA)
            #expect(off.status == 403)
        }
    }
}
