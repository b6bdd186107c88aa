import Foundation

/// Does a drug clash with a recorded allergy? By ATC code when both carry one (a class such as
/// J01C, penicillins, covers every drug under it), by name otherwise (accents and case
/// ignored, one name inside the other).
public enum AllergyCheck {
    public struct Allergy: Sendable, Equatable {
        public var name: String
        public var atc: String?

        public init(name: String, atc: String?) {
            self.name = name
            self.atc = atc
        }
    }

    /// The allergies the drug clashes with.
    public static func conflicts(drug: String, atc: String?, allergies: [Allergy]) -> [Allergy] {
        let drugName = normalized(drug)
        return allergies.filter { allergy in
            if let code = atc?.uppercased(), let allergen = allergy.atc?.uppercased(), !code.isEmpty, !allergen.isEmpty {
                if code.hasPrefix(allergen) || allergen.hasPrefix(code) { return true }
            }
            let allergen = normalized(allergy.name)
            guard allergen.count >= 3, drugName.count >= 3 else { return false }
            return drugName.contains(allergen) || allergen.contains(drugName)
        }
    }

    static func normalized(_ text: String) -> String {
        text.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: Locale(identifier: "fr_FR"))
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
