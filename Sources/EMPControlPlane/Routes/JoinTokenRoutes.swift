import EMPModel
import EMPStore
import Foundation
import Hummingbird
import ServerGuard

/// `/v1/pools/{id}/tokens` and `/v1/tokens`: one-time join tokens with an expiry; list; revoke.
struct JoinTokenRoutes<Context: RequestContext>: Sendable {
    let store: any StateStore
    let now: @Sendable () -> Date
    let configuration: ControlPlaneConfiguration

    func register(on group: RecordingRoutes<Context>) {
        group.post("pools/{id}/tokens") { request, context in
            let poolID = try context.parameters.require("id")
            let body = try await StrictJSON.decode(TokenCreateRequest.self, from: request, maxBytes: configuration.maxBodyBytes)
            let ttl = body.ttlSeconds ?? 3600
            guard (1...TokenCreateRequest.maxTTL).contains(ttl) else {
                throw APIError.invalid("must be between 1 and \(TokenCreateRequest.maxTTL) seconds (got \(ttl))", field: "ttlSeconds")
            }
            if let hostID = body.hostID {
                do { try HostName.validate(hostID) } catch let error as ValidationError { throw APIError(error) }
            }
            let time = now()
            let id = String(Secrets.random().prefix(12))
            let secret = Secrets.random()
            let token = JoinToken(
                id: id, poolID: poolID, secretHash: Secrets.hash(secret), expiresAt: time + Double(ttl), createdAt: time,
                hostID: body.hostID)
            try await store.write { tx in
                guard try tx.pool(poolID) != nil else { throw APIError.notFound("pool \(poolID)") }
                try tx.save(token)
                try tx.append(
                    Event(
                        time: time, object: ObjectRef(.pool, poolID), reason: "JoinTokenCreated",
                        message: "join token \(id) valid for \(ttl) s" + (body.hostID.map { " for host \($0) only" } ?? ""))
                )
            }
            return JSONResponse(
                TokenCreated(id: id, poolID: poolID, token: "\(id).\(secret)", expiresAt: token.expiresAt), status: .created)
        }
        group.get("tokens") { request, _ in
            let pool = request.uri.queryParameters.get("pool")
            let page = try Page(request)
            return page.response(try await store.read { try $0.joinTokens(pool: pool) }.map(TokenView.init), key: \.id, request: request)
        }
        group.delete("tokens/{id}") { _, context in
            let id = try context.parameters.require("id")
            let time = now()
            let token = try await store.write { tx -> JoinToken in
                guard var token = try tx.joinToken(id) else { throw APIError.notFound("join token \(id)") }
                token.revoked = true
                try tx.save(token)
                try tx.append(
                    Event(
                        time: time, object: ObjectRef(.pool, token.poolID), reason: "JoinTokenRevoked", message: "join token \(id) revoked")
                )
                return token
            }
            return JSONResponse(TokenView(token))
        }
    }

}
