/// What a write did.
public struct WriteOutcome: Sendable {
    public enum Kind: Sendable, Equatable {
        /// A new resource, or a new version of a deleted one (201).
        case created
        /// A new version of a live resource (200).
        case updated
        /// A conditional create found the resource already there (200, nothing written).
        case matchedExisting
        case deleted
        /// A delete found nothing live to delete (nothing written).
        case nothingToDelete
    }

    public let kind: Kind
    /// The version written (or found, or the deletion); nil when nothing was there.
    public let resource: StoredResource?

    public var status: Int {
        switch kind {
        case .created: 201
        case .nothingToDelete: 204
        case .updated, .matchedExisting, .deleted: 200
        }
    }
}
