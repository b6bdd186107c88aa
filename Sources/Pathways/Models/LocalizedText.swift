/// A text shown to people, in French (the default) and English.
public struct LocalizedText: Codable, Sendable, Equatable, Hashable {
    public var fr: String
    public var en: String

    public init(fr: String, en: String) {
        self.fr = fr
        self.en = en
    }

    /// The text in `language` ("fr" or "en"); French for anything else.
    public func text(_ language: String) -> String { language.hasPrefix("en") ? en : fr }
}
