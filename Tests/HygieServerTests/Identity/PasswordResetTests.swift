import Core
import FHIR
import Foundation
import HTTPTypes
import Mail
import Testing

/// A forgotten password is reset by its owner with a single-use, expiring link sent by mail.
@Suite struct PasswordResetTests {
    static func token(in body: String) -> String? {
        guard let start = body.range(of: "token=")?.upperBound else { return nil }
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        return String(body[start...].prefix { allowed.contains($0) })
    }

    @Test func theOwnerResetsAForgottenPasswordOnceWithTheMailedLink() async throws {
        let mailer = RecordingMailer()
        try await withTestApp(mailer: mailer) { http in
            let setup = try await TwoHospitals.make(http)
            let api = setup.api
            try await api.create("/api/v1/staff", ["username": "oublieuse", "family": "O", "role": "nurse", "email": "oublieuse@example.org"], token: setup.adminA)
            _ = try await api.firstSignIn("oublieuse")

            #expect(try await api.call(.post, "/api/v1/auth/forgot", ["username": "personne"]).status == 202)
            #expect(mailer.messages.isEmpty)
            #expect(try await api.call(.post, "/api/v1/auth/forgot", ["username": "oublieuse"], token: nil).status == 202)
            let mail = try #require(mailer.messages.first)
            #expect(mail.to == "oublieuse@example.org")
            #expect(mail.subject.contains("mot de passe"))
            let token = try #require(Self.token(in: mail.body))

            let weak = try await api.call(.post, "/api/v1/auth/reset", ["token": .string(token), "new_password": "court"])
            #expect(weak.status == 400)
            #expect(try await api.call(.post, "/api/v1/auth/reset", ["token": .string(token), "new_password": "Retrouve-2026-x"]).status == 204)
            #expect(try await api.login("oublieuse", "Retrouve-2026-x").status == 200)
            #expect(try await api.login("oublieuse", TestPassword.standard).status == 401)
            let again = try await api.call(.post, "/api/v1/auth/reset", ["token": .string(token), "new_password": "Encore-autre-2026"])
            #expect(again.status == 400)
            #expect(again.json["code"]?.stringValue == "reset-invalid")
        }
    }

    @Test func aResetLinkExpiresAfterThirtyMinutes() async throws {
        let mailer = RecordingMailer()
        let clock = FixedWallClockBox.make("2026-05-01T09:00:00Z")
        try await withTestApp(clock: clock, mailer: mailer) { http in
            let setup = try await TwoHospitals.make(http)
            try await setup.api.create("/api/v1/staff", ["username": "lente", "family": "L", "role": "nurse", "email": "lente@example.org"], token: setup.adminA)
            _ = try await setup.api.call(.post, "/api/v1/auth/forgot", ["username": "lente"])
            let token = try #require(mailer.messages.first.flatMap { Self.token(in: $0.body) })
            clock.advance(by: 31 * 60)
            let late = try await setup.api.call(.post, "/api/v1/auth/reset", ["token": .string(token), "new_password": "Trop-tard-2026"])
            #expect(late.status == 400)
        }
    }
}
