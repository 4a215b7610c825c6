/// A raw libvirt pointer that may cross threads.
///
/// `@unchecked Sendable`: libvirt's public objects (`virConnectPtr`, `virDomainPtr`) are reference counted
/// and documented thread-safe since 0.6.0; the owning Swift class decides when the reference is dropped.
struct Handle: @unchecked Sendable {
    let raw: OpaquePointer
}
