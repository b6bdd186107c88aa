import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// Renders the web app's pages: swift-mustache templates inside one layout, every string
/// from the localisation files (French by default, English on request).
struct WebRenderer: Sendable {
    static let languages = ["fr", "en"]

    let library: MustacheLibrary
    let strings: [String: [String: String]]
    let assets: [String: (type: String, bytes: [UInt8])]
    /// Origins, besides Hygie's, a form may lead to (the object store a download form
    /// redirects to).
    var formTargets: [String] = []

    static func load() async throws -> WebRenderer {
        guard let root = Bundle.module.resourceURL else { throw HTTPError(.internalServerError) }
        let library = try await MustacheLibrary(directory: root.appendingPathComponent("Templates").path)
        var strings: [String: [String: String]] = [:]
        for language in languages {
            let data = try Data(contentsOf: root.appendingPathComponent("Localization/\(language).json"))
            strings[language] = try JSONDecoder().decode([String: String].self, from: data)
        }
        var assets: [String: (String, [UInt8])] = [:]
        for (name, type) in [
            ("app.css", "text/css; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8"), ("imaging.js", "text/javascript; charset=utf-8"),
            ("viewer.js", "text/javascript; charset=utf-8"), ("viewer.css", "text/css; charset=utf-8"), ("pathways.js", "text/javascript; charset=utf-8"),
        ] {
            assets[name] = (type, Array(try Data(contentsOf: root.appendingPathComponent("Static/\(name)"))))
        }
        return WebRenderer(library: library, strings: strings, assets: assets)
    }

    /// The language of a request: `?lang=`, then the `lang` cookie, then Accept-Language.
    static func language(_ request: Request) -> String {
        if let asked = request.uri.queryParameters["lang"].map(String.init), languages.contains(asked) { return asked }
        if let chosen = request.cookies["lang"]?.value, languages.contains(chosen) { return chosen }
        for part in (request.headers[.acceptLanguage] ?? "").split(separator: ",") {
            let tag = part.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            if let language = languages.first(where: { tag == $0 || tag.hasPrefix($0 + "-") }) { return language }
        }
        return "fr"
    }

    func text(_ key: String, _ language: String) -> String {
        strings[language]?[key] ?? strings["fr"]?[key] ?? key
    }

    /// A whole page: `template` rendered with `context`, inside the layout.
    func page(_ template: String, title: String, context: [String: Any], language: String, status: HTTPResponse.Status = .ok) -> Response {
        var context = context
        context["t"] = strings[language] ?? [:]
        context["lang"] = language
        let content = library.render(context, withTemplate: template) ?? ""
        context["content"] = content
        context["title"] = text(title, language)
        let html = library.render(context, withTemplate: "layout") ?? content
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'; form-action \((["'self'"] + formTargets).joined(separator: " ")); base-uri 'none'",
            HTTPField.Name("X-Frame-Options")!: "DENY", HTTPField.Name("Referrer-Policy")!: "no-referrer",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ]
        headers[.contentLanguage] = language
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func asset(_ name: String) -> Response {
        guard let asset = assets[name] else { return Response(status: .notFound) }
        return Response(
            status: .ok, headers: [.contentType: asset.type, .cacheControl: "public, max-age=3600", HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
            body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }
}
