import ArgumentParser
import Core
import Foundation

/// Hygie's DICOM application entity, the peers it knows (for `serve` and `pacs`), and how
/// studies open in a viewer.
struct DICOMOptions: ParsableArguments {
    @Option(name: .customLong("dicom-port"), help: "TCP port of the DIMSE service (C-ECHO, C-STORE, C-FIND, C-MOVE); without it DIMSE is off [env: HYGIE_DICOM_PORT].")
    var port: Int?

    @Option(name: .customLong("dicom-ae-title"), help: "Hygie's DICOM application entity title [env: HYGIE_DICOM_AE_TITLE] (default: HYGIE).")
    var aeTitle: String?

    @Option(
        name: .customLong("dicom-peers"),
        help: """
            JSON file listing the DICOM peers: [{"aeTitle": "CT1", "host": "10.0.0.5", "port": 104, "account": "ct1"}]; \
            each calls in as the named service account [env: HYGIE_DICOM_PEERS].
            """)
    var peersFile: String?

    @Option(name: .customLong("ohif-url"), help: "URL of an OHIF viewer's /viewer page that viewer links open instead of the built-in viewer [env: HYGIE_OHIF_URL].")
    var ohifURL: String?

    @Option(name: .customLong("viewer-session-lifetime"), help: "Seconds a viewer session opens its study [env: HYGIE_VIEWER_SESSION_LIFETIME] (default: 3600).")
    var viewerSessionLifetime: Int?

    @Option(name: .customLong("viewer-sessions"), help: "Viewer sessions an account may hold at once; the oldest closes past it [env: HYGIE_VIEWER_SESSIONS] (default: 5).")
    var viewerSessions: Int?

    func apply(to configuration: inout HygieConfiguration) throws {
        let environment = ProcessInfo.processInfo.environment
        if let value = try integer(port, "HYGIE_DICOM_PORT", environment) {
            guard (0...65535).contains(value) else { throw ValidationError("The DICOM port must be between 0 and 65535.") }
            configuration.dicomPort = value
        }
        if let title = aeTitle ?? environment["HYGIE_DICOM_AE_TITLE"] {
            try Self.check(title)
            configuration.dicomAETitle = title
        }
        configuration.ohifViewerURL = ohifURL ?? environment["HYGIE_OHIF_URL"]
        if let value = try integer(viewerSessionLifetime, "HYGIE_VIEWER_SESSION_LIFETIME", environment) {
            guard value > 0 else { throw ValidationError("The viewer session lifetime must be positive.") }
            configuration.viewerSessionLifetime = value
        }
        if let value = try integer(viewerSessions, "HYGIE_VIEWER_SESSIONS", environment) {
            guard value > 0 else { throw ValidationError("At least one viewer session per account is needed.") }
            configuration.viewerSessionsPerAccount = value
        }
        if let path = peersFile ?? environment["HYGIE_DICOM_PEERS"] {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw ValidationError("Cannot read the DICOM peers file \(path).") }
            do {
                configuration.dicomPeers = try JSONDecoder().decode([DICOMPeer].self, from: data)
            } catch {
                throw ValidationError("The DICOM peers file \(path) is not a JSON list of {aeTitle, host, port, account}.")
            }
            for peer in configuration.dicomPeers { try Self.check(peer.aeTitle) }
            let titles = configuration.dicomPeers.map(\.aeTitle)
            guard Set(titles).count == titles.count else { throw ValidationError("Two DICOM peers share an AE title.") }
        }
    }

    /// An AE title: 1 to 16 characters of the default repertoire, no backslash or control
    /// character, not only spaces (PS3.5 §6.2, VR AE).
    static func check(_ title: String) throws {
        let trimmed = title.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, title.utf8.count <= 16, title.allSatisfy({ $0.isASCII && !$0.isNewline && $0 != "\\" && $0.asciiValue! >= 0x20 }) else {
            throw ValidationError("\"\(title)\" is not a valid AE title (1 to 16 ASCII characters, no backslash).")
        }
    }
}
