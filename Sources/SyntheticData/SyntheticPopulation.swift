import FHIR

/// Synthetic patients, all invented, with what a French hospital record holds: INS-NIR and
/// local identifiers, encounters, conditions (ICD-10) and observations (LOINC vital signs and
/// labs). Each patient comes as one FHIR transaction Bundle whose entries refer to each other
/// by `urn:uuid:`.
public struct SyntheticPopulation: Sendable {
    public var seed: UInt64
    public var encountersPerPatient: Int
    public var conditionsPerPatient: ClosedRange<Int>
    public var observationsPerPatient: Int
    /// Practitioner and Organization the records refer to (`Practitioner/…`), if any.
    public var practitionerReferences: [String]
    public var organizationReference: String?

    public init(
        seed: UInt64 = 2026, encountersPerPatient: Int = 2, conditionsPerPatient: ClosedRange<Int> = 1...3,
        observationsPerPatient: Int = 8, practitionerReferences: [String] = [], organizationReference: String? = nil
    ) {
        self.seed = seed
        self.encountersPerPatient = encountersPerPatient
        self.conditionsPerPatient = conditionsPerPatient
        self.observationsPerPatient = observationsPerPatient
        self.practitionerReferences = practitionerReferences
        self.organizationReference = organizationReference
    }

    static let familyNames = [
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent",
        "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Lefebvre",
        "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc",
        "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont",
    ]
    static let femaleNames = ["Hélène", "Camille", "Léa", "Chloé", "Manon", "Inès", "Zoé", "Élise", "Anaïs", "Margaux", "Céline", "Agnès", "Noémie", "Françoise", "Solène"]
    static let maleNames = ["Jérôme", "Lucas", "Hugo", "Théo", "Noé", "Mathéo", "Raphaël", "Gaël", "Loïc", "François", "Étienne", "Benoît", "Clément", "Aurélien", "Joël"]
    static let cities = [
        ("Lyon", "69003"), ("Marseille", "13005"), ("Toulouse", "31000"), ("Nantes", "44000"), ("Bordeaux", "33000"), ("Lille", "59000"),
        ("Rennes", "35000"), ("Grenoble", "38000"), ("Dijon", "21000"), ("Angers", "49000"), ("Nîmes", "30000"), ("Besançon", "25000"),
    ]
    static let conditions = [
        ("I10", "Hypertension essentielle (primitive)"), ("E11.9", "Diabète sucré de type 2, sans complication"),
        ("J45.9", "Asthme, sans précision"), ("E78.0", "Hypercholestérolémie essentielle"), ("C50.9", "Tumeur maligne du sein, sans précision"),
        ("C61", "Tumeur maligne de la prostate"), ("I48.9", "Fibrillation auriculaire, sans précision"), ("N18.3", "Maladie rénale chronique, stade 3"),
        ("M17.1", "Gonarthrose primaire, unilatérale"), ("F32.1", "Épisode dépressif moyen"),
    ]
    /// LOINC code, display, UCUM unit, typical range.
    static let measurements: [(String, String, String, ClosedRange<Double>, Int)] = [
        ("8867-4", "Fréquence cardiaque", "/min", 52...110, 0), ("8310-5", "Température corporelle", "Cel", 36.1...38.9, 1),
        ("29463-7", "Poids corporel", "kg", 48...112, 1), ("8302-2", "Taille", "cm", 150...195, 0),
        ("2339-0", "Glucose [Masse/Volume] Sang", "g/L", 0.7...2.4, 2), ("4548-4", "Hémoglobine A1c/Hémoglobine totale Sang", "%", 4.8...9.5, 1),
        ("2160-0", "Créatinine [Masse/Volume] Sérum", "mg/dL", 0.6...2.1, 2), ("718-7", "Hémoglobine [Masse/Volume] Sang", "g/dL", 10.5...17.5, 1),
    ]

    /// The transaction Bundle for patient number `index`.
    public func patientBundle(_ index: Int) -> JSON {
        var random = SeededGenerator(seed: seed &+ UInt64(index) &* 0x9E37_79B9)
        let female = Bool.random(using: &random)
        let family = random.pick(Self.familyNames)
        let given = random.pick(female ? Self.femaleNames : Self.maleNames)
        let birthYear = Int.random(in: 1935...2015, using: &random)
        let birthDate = "\(birthYear)-\(Self.two(Int.random(in: 1...12, using: &random)))-\(Self.two(Int.random(in: 1...28, using: &random)))"
        let (city, postalCode) = random.pick(Self.cities)
        let nir = "\(female ? 2 : 1)\(String(birthYear).suffix(2))\(Self.two(Int.random(in: 1...12, using: &random)))\(postalCode.prefix(2))\(Self.digits(8, &random))"
        let patientURN = Self.urn(index, 0)

        var patient = JSONObject()
        patient["resourceType"] = "Patient"
        patient["identifier"] = [
            [
                "use": "official", "system": "urn:oid:1.2.250.1.213.1.4.8", "value": .string(nir),
                "type": ["coding": [["system": "http://interopsante.org/CodeSystem/v2-0203", "code": "INS-NIR"]]],
            ],
            [
                "use": "usual", "system": "urn:oid:1.2.250.1.999.1.1", "value": .string("IPP\(Self.pad(index, 7))"),
                "type": ["coding": [["system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"]]],
            ],
        ]
        patient["active"] = true
        patient["name"] = [["use": "official", "family": .string(family), "given": [.string(given)]]]
        patient["telecom"] = [["system": "phone", "value": .string("+33 6 \(Self.digits(2, &random)) \(Self.digits(2, &random)) \(Self.digits(2, &random)) \(Self.digits(2, &random))"), "use": "mobile"]]
        patient["gender"] = female ? "female" : "male"
        patient["birthDate"] = .string(birthDate)
        patient["address"] = [["line": .array([.string("\(Int.random(in: 1...120, using: &random)) rue \(random.pick(["Victor Hugo", "de la République", "Pasteur", "Jean Jaurès", "des Lilas"]))")]), "city": .string(city), "postalCode": .string(postalCode), "country": "FR"]]
        if let organization = organizationReference { patient["managingOrganization"] = ["reference": .string(organization)] }
        if let doctor = practitionerReferences.first { patient["generalPractitioner"] = [["reference": .string(doctor)]] }

        var entries: [JSON] = [entry(patientURN, .object(patient), type: "Patient")]
        let subject: JSON = ["reference": .string(patientURN)]
        var encounterURNs: [String] = []
        for number in 0..<encountersPerPatient {
            let urn = Self.urn(index, 100 + number)
            encounterURNs.append(urn)
            let start = Self.date(&random, fromYear: 2019)
            var encounter = JSONObject()
            encounter["resourceType"] = "Encounter"
            encounter["status"] = "finished"
            encounter["class"] = ["system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"]
            encounter["type"] = [["text": .string(random.pick(["Consultation de suivi", "Consultation initiale", "Hôpital de jour"]))]]
            encounter["subject"] = subject
            if !practitionerReferences.isEmpty {
                encounter["participant"] = [["individual": ["reference": .string(random.pick(practitionerReferences))]]]
            }
            encounter["period"] = ["start": .string("\(start)T09:00:00+01:00"), "end": .string("\(start)T09:30:00+01:00")]
            if let organization = organizationReference { encounter["serviceProvider"] = ["reference": .string(organization)] }
            entries.append(entry(urn, .object(encounter), type: "Encounter"))
        }
        for number in 0..<Int.random(in: conditionsPerPatient, using: &random) {
            let (code, display) = random.pick(Self.conditions)
            var condition = JSONObject()
            condition["resourceType"] = "Condition"
            condition["clinicalStatus"] = ["coding": [["system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"]]]
            condition["verificationStatus"] = ["coding": [["system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"]]]
            condition["category"] = [["coding": [["system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"]]]]
            condition["code"] = ["coding": [["system": "http://hl7.org/fhir/sid/icd-10", "code": .string(code), "display": .string(display)]], "text": .string(display)]
            condition["subject"] = subject
            if let encounter = encounterURNs.first { condition["encounter"] = ["reference": .string(encounter)] }
            condition["onsetDateTime"] = .string(Self.date(&random, fromYear: 2010))
            if let doctor = practitionerReferences.first { condition["asserter"] = ["reference": .string(doctor)] }
            entries.append(entry(Self.urn(index, 200 + number), .object(condition), type: "Condition"))
        }
        for number in 0..<observationsPerPatient {
            let (code, display, unit, range, decimals) = random.pick(Self.measurements)
            let value = Double.random(in: range, using: &random)
            var observation = JSONObject()
            observation["resourceType"] = "Observation"
            observation["status"] = "final"
            let category = ["8867-4", "8310-5", "29463-7", "8302-2"].contains(code) ? "vital-signs" : "laboratory"
            observation["category"] = [["coding": [["system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": .string(category)]]]]
            observation["code"] = ["coding": [["system": "http://loinc.org", "code": .string(code), "display": .string(display)]], "text": .string(display)]
            observation["subject"] = subject
            if !encounterURNs.isEmpty { observation["encounter"] = ["reference": .string(random.pick(encounterURNs))] }
            observation["effectiveDateTime"] = .string("\(Self.date(&random, fromYear: 2019))T\(Self.two(Int.random(in: 8...18, using: &random))):\(Self.two(Int.random(in: 0...59, using: &random))):00+01:00")
            observation["valueQuantity"] = [
                "value": .number(JSONNumber(text: Self.decimal(value, decimals))), "unit": .string(unit),
                "system": "http://unitsofmeasure.org", "code": .string(unit),
            ]
            entries.append(entry(Self.urn(index, 1000 + number), .object(observation), type: "Observation"))
        }
        return ["resourceType": "Bundle", "type": "transaction", "entry": .array(entries)]
    }

    func entry(_ urn: String, _ resource: JSON, type: String) -> JSON {
        ["fullUrl": .string(urn), "resource": resource, "request": ["method": "POST", "url": .string(type)]]
    }

    static func urn(_ patient: Int, _ item: Int) -> String {
        let hex = String(UInt64(patient) &* 1_000_003 &+ UInt64(item), radix: 16)
        let tail = String(repeating: "0", count: max(0, 12 - hex.count)) + hex
        return "urn:uuid:5e7a1d1c-0000-4000-8000-\(tail.suffix(12))"
    }

    static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    static func digits(_ count: Int, _ random: inout SeededGenerator) -> String {
        (0..<count).map { _ in String(Int.random(in: 0...9, using: &random)) }.joined()
    }

    static func date(_ random: inout SeededGenerator, fromYear: Int) -> String {
        "\(Int.random(in: fromYear...2026, using: &random))-\(two(Int.random(in: 1...10, using: &random)))-\(two(Int.random(in: 1...28, using: &random)))"
    }

    static func decimal(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if decimals == 0 { return String(Int(rounded)) }
        let whole = Int(rounded.rounded(.towardZero))
        let fraction = Int(((rounded - Double(whole)) * scale).rounded())
        return "\(whole).\(pad(abs(fraction), decimals))"
    }
}
