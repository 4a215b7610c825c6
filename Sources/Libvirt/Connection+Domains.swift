import CLibvirt
import Foundation

extension Connection {
    // MARK: Domains

    /// `virDomainDefineXML`: defines (or redefines) a persistent domain; does not start it.
    public func defineDomain(xml: String) async throws -> Domain {
        try await withConnection { conn in
            Domain(owning: try libvirtCall("virDomainDefineXML") { virDomainDefineXML(conn, xml) }, connection: self)
        }
    }

    /// `virDomainLookupByName`; throws with code ``LibvirtError/Code/noDomain`` when absent.
    public func domain(named name: String) async throws -> Domain {
        try await withConnection { conn in
            Domain(
                owning: try libvirtCall("virDomainLookupByName") { virDomainLookupByName(conn, name) },
                connection: self
            )
        }
    }

    /// `virDomainLookupByUUIDString`.
    public func domain(uuid: String) async throws -> Domain {
        try await withConnection { conn in
            Domain(
                owning: try libvirtCall("virDomainLookupByUUIDString") { virDomainLookupByUUIDString(conn, uuid) },
                connection: self
            )
        }
    }

    /// Like ``domain(named:)`` but nil when there is no such domain.
    public func domainIfExists(named name: String) async throws -> Domain? {
        do {
            return try await domain(named: name)
        } catch let error as LibvirtError where error.code == .noDomain {
            return nil
        }
    }

    /// `virConnectListAllDomains` (active and inactive) with each domain's state, sorted by name.
    public func listDomains() async throws -> [DomainListing] {
        try await withConnection { conn in
            var list: UnsafeMutablePointer<OpaquePointer?>? = nil
            let count = try libvirtCall("virConnectListAllDomains") { virConnectListAllDomains(conn, &list, 0) }
            defer { free(list) }
            var result: [DomainListing] = []
            result.reserveCapacity(Int(count))
            for index in 0..<Int(count) {
                guard let pointer = list?[index] else { continue }
                var state: Int32 = 0
                var reason: Int32 = 0
                let domain = Domain(owning: pointer, connection: self)
                // A domain can vanish between the list and this call; skip it rather than fail the listing.
                guard virDomainGetState(pointer, &state, &reason, 0) == 0 else {
                    virResetLastError()
                    continue
                }
                result.append(DomainListing(domain: domain, state: DomainState(rawValue: state)))
            }
            return result.sorted { $0.domain.name < $1.domain.name }
        }
    }
}

/// A domain and the state it was in when listed.
public struct DomainListing: Sendable {
    public let domain: Domain
    public let state: DomainState
}
