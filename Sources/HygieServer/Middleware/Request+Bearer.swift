import Core
import Hummingbird

extension Request {
    /// The token of an `Authorization: Bearer …` header (RFC 6750 §2.1; the scheme is
    /// case-insensitive), without the spaces around it; nil without such a header.
    var bearerToken: String? {
        guard let header = headers[.authorization] else { return nil }
        let scheme = header.utf8.prefix(7)
        guard scheme.count == 7, scheme.elementsEqual("bearer ".utf8, by: { (0x41...0x5A).contains($0) ? $0 | 0x20 == $1 : $0 == $1 }) else { return nil }
        return String(header.dropFirst(7).trimmingASCII())
    }
}
