import Access
import Core
import Crypto
import FHIR
import FHIRStore
import Foundation
import Logging
import Storage

/// Signed validations: each transition's Provenance carries a JWS (RFC 7515, compact form,
/// EdDSA over Ed25519, RFC 8037) whose payload names the exact Task version moved, a SHA-256
/// of that version's content, the signer's account, practitioner and role, the transition and
/// the comment. Changing any of them, or the Task version, breaks the signature.
///
/// The signing key is derived from the master key per tenant (never stored); its public half
/// is published with the case so that anyone can check a validation.
extension PathwaysService {
    static let signatureType = "1.2.840.10065.1.12.1.5"
    static let signatureTypeSystem = "urn:iso-astm:E1762-95:2013"

    func signingKey(_ tenant: TenantID) throws -> Curve25519.Signing.PrivateKey {
        try Curve25519.Signing.PrivateKey(rawRepresentation: keyRing.derivedSecret(purpose: "pathway-signature", tenant: tenant))
    }

    /// The tenant's validation-signing public key as a JWK (RFC 8037 §2).
    public func signingPublicKey(tenant: TenantID) throws -> [String: String] {
        let key = try signingKey(tenant).publicKey
        return ["kty": "OKP", "crv": "Ed25519", "x": Self.base64URL(key.rawRepresentation), "kid": Self.keyID(key), "use": "sig", "alg": "EdDSA"]
    }

    static func keyID(_ key: Curve25519.Signing.PublicKey) -> String { base64URL(Data(SHA256.hash(data: key.rawRepresentation)).prefix(12)) }

    /// The content of a Task version as signed: every member but `meta`, keys sorted.
    static func taskDigest(_ task: JSON) -> String {
        var object = task.objectValue ?? [:]
        object.removeValue(forKey: "meta")
        let bytes = JSONWriter.bytes(canonical(.object(object)))
        return base64URL(Data(SHA256.hash(data: bytes)))
    }

    static func canonical(_ json: JSON) -> JSON {
        switch json {
        case .object(let object):
            return .object(JSONObject(object.keys.sorted().map { (key: $0, value: canonical(object[$0]!)) }))
        case .array(let array):
            return .array(array.map(canonical))
        default:
            return json
        }
    }

    /// The Provenance of a transition (or of the opening, `from` nil) of Task version `version`.
    func signedProvenance(
        task: JSON, taskID: String, version: Int, definition: PathwayDefinition, from: PathwayDefinition.Stage?, to: PathwayDefinition.Stage,
        comment: String?, by principal: Principal, when: String
    ) throws -> JSON {
        let target = "Task/\(taskID)/_history/\(version)"
        var payload: [String: String] = [
            "target": target, "digest": Self.taskDigest(task), "account": principal.account, "role": principal.role.rawValue, "when": when,
            "to": to.code, "policy": "\(Self.policyBase)/\(definition.code)/v\(definition.version)",
        ]
        if let from { payload["from"] = from.code }
        if let practitioner = principal.practitioner { payload["who"] = "Practitioner/\(practitioner)" }
        if let comment { payload["comment"] = comment }
        let key = try signingKey(principal.tenant)
        let header = try Self.encoder.encode(["alg": "EdDSA", "kid": Self.keyID(key.publicKey), "typ": "JOSE"])
        let body = try Self.encoder.encode(payload)
        let signingInput = Self.base64URL(header) + "." + Self.base64URL(body)
        let signature = try key.signature(for: Data(signingInput.utf8))
        let jws = signingInput + "." + Self.base64URL(signature)
        let who: JSON = principal.practitioner.map { ["reference": .string("Practitioner/\($0)")] } ?? ["display": .string(principal.account)]
        var provenance: JSONObject = [
            "resourceType": "Provenance", "id": .string(ids.makeID()),
            "target": [["reference": .string(target)]],
            "occurredDateTime": .string(when), "recorded": .string(when),
            "policy": [.string("\(Self.policyBase)/\(definition.code)/v\(definition.version)")],
            "activity": [
                "coding": [["system": .string(Self.stageSystem), "code": .string(to.code), "display": .string(to.title.fr)]],
                "text": .string(from.map { "\($0.title.fr) → \(to.title.fr)" } ?? to.title.fr),
            ],
            "agent": [
                [
                    "type": ["coding": [["system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "verifier"]]],
                    "role": [["coding": [["system": .string(Role.codeSystem), "code": .string(principal.role.code)]]]],
                    "who": who,
                ]
            ],
            "signature": [
                [
                    "type": [["system": .string(Self.signatureTypeSystem), "code": .string(Self.signatureType), "display": "Verification Signature"]],
                    "when": .string(when), "who": who, "sigFormat": "application/jose", "data": .string(Data(jws.utf8).base64EncodedString()),
                ]
            ],
        ]
        if let from, version > 1 {
            provenance["entity"] = [["role": "revision", "what": ["reference": .string("Task/\(taskID)/_history/\(version - 1)"), "display": .string(from.code)]]]
        }
        if let comment { provenance["reason"] = [["text": .string(comment)]] }
        return .object(provenance)
    }

    /// Whether a Provenance's signature is intact and matches the Task version it names.
    func verify(_ provenance: JSON, task: JSON, tenant: TenantID) -> Bool {
        guard let encoded = provenance["signature"]?.arrayValue?.first?["data"]?.stringValue, let data = Data(base64Encoded: encoded),
            let jws = String(data: data, encoding: .utf8)
        else { return false }
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let body = Self.base64URLDecoded(String(parts[1])), let signature = Self.base64URLDecoded(String(parts[2])),
            let key = try? signingKey(tenant).publicKey,
            key.isValidSignature(signature, for: Data("\(parts[0]).\(parts[1])".utf8)),
            let payload = try? JSONDecoder().decode([String: String].self, from: body)
        else { return false }
        return payload["digest"] == Self.taskDigest(task)
            && payload["target"] == provenance["target"]?.arrayValue?.first?["reference"]?.stringValue
            && payload["when"] == provenance["recorded"]?.stringValue
            && payload["role"] == provenance["agent"]?.arrayValue?.first?["role"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue
            && payload["comment"] == provenance["reason"]?.arrayValue?.first?["text"]?.stringValue
    }

    static func base64URL(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecoded(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
