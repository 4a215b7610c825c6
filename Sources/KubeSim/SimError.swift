import Kube

/// A failed API call, answered as a `Status` object with the code and reason the real API server uses.
struct SimError: Error, Sendable {
    var code: Int
    var reason: String
    var message: String
    var details: JSONObject?

    static func notFound(_ resource: SimResource, _ name: String) -> SimError {
        SimError(
            code: 404, reason: "NotFound", message: "\(resource.key) \"\(name)\" not found",
            details: ["name": .string(name), "group": .string(resource.type.group), "kind": .string(resource.type.plural)])
    }

    static func alreadyExists(_ resource: SimResource, _ name: String) -> SimError {
        SimError(
            code: 409, reason: "AlreadyExists", message: "\(resource.key) \"\(name)\" already exists",
            details: ["name": .string(name), "group": .string(resource.type.group), "kind": .string(resource.type.plural)])
    }

    static func conflict(_ resource: SimResource, _ name: String, _ why: String) -> SimError {
        SimError(
            code: 409, reason: "Conflict", message: "Operation cannot be fulfilled on \(resource.key) \"\(name)\": \(why)",
            details: ["name": .string(name), "group": .string(resource.type.group), "kind": .string(resource.type.plural)])
    }

    static func stale(_ resource: SimResource, _ name: String) -> SimError {
        conflict(resource, name, "the object has been modified; please apply your changes to the latest version and try again")
    }

    /// 422 with field causes, as validation failures are reported.
    static func invalid(_ resource: SimResource, _ name: String, _ causes: [(field: String, message: String)]) -> SimError {
        let text = causes.map { "\($0.field): \($0.message)" }.joined(separator: ", ")
        return SimError(
            code: 422, reason: "Invalid", message: "\(resource.type.kind) \"\(name)\" is invalid: \(text)",
            details: [
                "name": .string(name), "group": .string(resource.type.group), "kind": .string(resource.type.kind),
                "causes": .array(
                    causes.map {
                        .object(["field": .string($0.field), "message": .string($0.message), "reason": .string("FieldValueInvalid")])
                    }),
            ])
    }

    static func badRequest(_ message: String) -> SimError { SimError(code: 400, reason: "BadRequest", message: message) }
    static func gone(_ message: String) -> SimError { SimError(code: 410, reason: "Expired", message: message) }
    static func unauthorized() -> SimError { SimError(code: 401, reason: "Unauthorized", message: "Unauthorized") }
    static func methodNotAllowed(_ message: String) -> SimError {
        SimError(code: 405, reason: "MethodNotAllowed", message: message)
    }
    static func internalError(_ message: String) -> SimError {
        SimError(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)")
    }

    var status: JSONObject {
        var object: JSONObject = [
            "kind": .string("Status"), "apiVersion": .string("v1"), "metadata": .object([:]), "status": .string("Failure"),
            "message": .string(message), "reason": .string(reason), "code": .int(Int64(code)),
        ]
        if let details { object["details"] = .object(details) }
        return object
    }
}
