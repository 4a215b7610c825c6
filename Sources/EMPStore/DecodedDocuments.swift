import EMPModel
import Foundation
import NIOConcurrencyHelpers

/// Decoded hosts and EVMs, each by its id with the bytes it was decoded from. Decoding a JSON document costs tens
/// of microseconds; at fleet scale every report reads its host's EVMs and every rebalancer pass reads every EVM,
/// mostly unchanged since the last read. An entry is used only when the stored bytes are the same (one memcmp), so
/// it can never be stale; a changed document replaces its entry. One entry per object: the memo is as large as the
/// fleet, no larger.
///
/// - Note: Thread-safe; the lock is held for the lookup or the insert, never for a decode.
final class DecodedDocuments: Sendable {
    private struct State {
        var hosts: [String: (bytes: Data, host: EMPModel.Host)] = [:]
        var evms: [String: (bytes: Data, evm: EVM)] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// `data` decoded as `T`, from the memo when the object `id` was decoded from these very bytes before (hosts
    /// and EVMs only).
    func decode<T: Decodable>(_ type: T.Type, id: String?, from data: Data, with decoder: JSONDecoder) throws -> T {
        guard let id else { return try decoder.decode(T.self, from: data) }
        if T.self == EMPModel.Host.self {
            if let hit = state.withLockedValue({ $0.hosts[id] }), hit.bytes == data { return hit.host as! T }
            let host = try decoder.decode(EMPModel.Host.self, from: data)
            state.withLockedValue { $0.hosts[id] = (data, host) }
            return host as! T
        }
        if T.self == EVM.self {
            if let hit = state.withLockedValue({ $0.evms[id] }), hit.bytes == data { return hit.evm as! T }
            let evm = try decoder.decode(EVM.self, from: data)
            state.withLockedValue { $0.evms[id] = (data, evm) }
            return evm as! T
        }
        return try decoder.decode(T.self, from: data)
    }

    /// Forgets a deleted object.
    func forget(host id: String) { _ = state.withLockedValue { $0.hosts.removeValue(forKey: id) } }
    func forget(evm id: String) { _ = state.withLockedValue { $0.evms.removeValue(forKey: id) } }
}
