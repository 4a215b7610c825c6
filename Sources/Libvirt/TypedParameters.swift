import CLibvirt

/// A value of a libvirt typed parameter (`virTypedParameter`), kept with its type.
public enum TypedValue: Sendable, Hashable {
    case int(Int32)
    case uint(UInt32)
    case llong(Int64)
    case ullong(UInt64)
    case double(Double)
    case bool(Bool)
    case string(String)

    /// The value as a signed integer where it is one (unsigned values beyond `Int64.max` clamp).
    public var int64: Int64? {
        switch self {
        case .int(let v): Int64(v)
        case .uint(let v): Int64(v)
        case .llong(let v): v
        case .ullong(let v): Int64(clamping: v)
        case .bool(let v): v ? 1 : 0
        case .double, .string: nil
        }
    }

    /// The value as a double where it is numeric.
    public var double: Double? {
        if case .double(let v) = self { return v }
        return int64.map(Double.init)
    }

    public var string: String? {
        if case .string(let v) = self { return v }
        return nil
    }
}

/// Reads a C array of typed parameters into a dictionary keyed by field name. Does not free them.
func decodeTypedParameters(_ params: UnsafeMutablePointer<virTypedParameter>?, count: Int32) -> [String: TypedValue] {
    guard let params, count > 0 else { return [:] }
    var result: [String: TypedValue] = [:]
    for index in 0..<Int(count) {
        let param = params[index]
        let field = withUnsafeBytes(of: param.field) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let value: TypedValue?
        switch UInt32(bitPattern: param.type) {
        case VIR_TYPED_PARAM_INT.rawValue: value = .int(param.value.i)
        case VIR_TYPED_PARAM_UINT.rawValue: value = .uint(param.value.ui)
        case VIR_TYPED_PARAM_LLONG.rawValue: value = .llong(param.value.l)
        case VIR_TYPED_PARAM_ULLONG.rawValue: value = .ullong(param.value.ul)
        case VIR_TYPED_PARAM_DOUBLE.rawValue: value = .double(param.value.d)
        case VIR_TYPED_PARAM_BOOLEAN.rawValue: value = .bool(param.value.b != 0)
        case VIR_TYPED_PARAM_STRING.rawValue: value = param.value.s.map { .string(String(cString: $0)) }
        default: value = nil
        }
        if let value { result[field] = value }
    }
    return result
}

/// An owned, growable `virTypedParameter` array for calls that take parameters (migration).
///
/// Not Sendable: build it and hand it to libvirt on the same libvirt thread.
final class TypedParameterList {
    private(set) var params: UnsafeMutablePointer<virTypedParameter>? = nil
    private(set) var count: Int32 = 0
    private var capacity: Int32 = 0

    deinit { virTypedParamsFree(params, count) }

    func add(_ name: String, string value: String) throws {
        try libvirtCall("virTypedParamsAddString") { virTypedParamsAddString(&params, &count, &capacity, name, value) }
    }

    func add(_ name: String, uint64 value: UInt64) throws {
        try libvirtCall("virTypedParamsAddULLong") { virTypedParamsAddULLong(&params, &count, &capacity, name, value) }
    }

    func add(_ name: String, int32 value: Int32) throws {
        try libvirtCall("virTypedParamsAddInt") { virTypedParamsAddInt(&params, &count, &capacity, name, value) }
    }
}
