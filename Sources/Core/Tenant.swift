/// Tag for tenant identifiers: every row of every table belongs to one tenant.
public enum TenantTag {}

/// The tenant a row or a request belongs to. A deployment holds one or more tenants; the
/// default one is used until the identity layer assigns others.
public typealias TenantID = Tagged<TenantTag, String>

extension Tagged where Tag == TenantTag, RawValue == String {
    /// The tenant every deployment starts with.
    public static let `default` = TenantID("default")
}
