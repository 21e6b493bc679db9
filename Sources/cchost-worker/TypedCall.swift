import CLibFFI
import Glibc
import PluginChannel

/// Calls a typed check through libffi, binding each declared parameter from `arguments` by name.
enum TypedCall {
    struct BindingError: Error, CustomStringConvertible {
        var description: String
    }

    static func call(_ function: @convention(c) () -> Void, check: String, signature: CSignature,
                     arguments: [String: ArgumentValue]) throws -> Int32 {
        // Storage for each argument's bytes; libffi reads from these addresses during the call.
        var slots: [UnsafeMutableRawPointer] = []
        var strings: [UnsafeMutablePointer<CChar>] = []
        defer {
            slots.forEach { $0.deallocate() }
            strings.forEach { free($0) }
        }
        var types: [UnsafeMutablePointer<ffi_type>?] = []
        for parameter in signature.parameters {
            guard let value = arguments[parameter.name] else {
                throw BindingError(description: "parameter \"\(parameter.name)\" (\(parameter.type.rawValue)) of check \"\(check)\" has no value: set it in the recipe configuration under \(check).\(parameter.name)")
            }
            func mismatch() -> BindingError {
                BindingError(description: "parameter \"\(parameter.name)\" of check \"\(check)\" is \(parameter.type.rawValue) but was given \"\(value)\"")
            }
            let slot = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
            slots.append(slot)
            switch (parameter.type, value) {
            case (.int, .integer(let i)), (.int32, .integer(let i)):
                guard let v = Int32(exactly: i) else { throw mismatch() }
                slot.storeBytes(of: v, as: Int32.self)
                types.append(cchost_ffi_sint32())
            case (.int64, .integer(let i)), (.long, .integer(let i)):
                slot.storeBytes(of: i, as: Int64.self)
                types.append(cchost_ffi_sint64())
            case (.double, .double(let d)):
                slot.storeBytes(of: d, as: Double.self)
                types.append(cchost_ffi_double())
            case (.double, .integer(let i)):
                slot.storeBytes(of: Double(i), as: Double.self)
                types.append(cchost_ffi_double())
            case (.bool, .bool(let b)):
                slot.storeBytes(of: b ? 1 : 0, as: UInt8.self)
                types.append(cchost_ffi_uint8())
            case (.string, .string(let s)):
                guard let copy = strdup(s) else { throw BindingError(description: "out of memory") }
                strings.append(copy)
                slot.storeBytes(of: UnsafePointer(copy), as: UnsafePointer<CChar>.self)
                types.append(cchost_ffi_pointer())
            default:
                throw mismatch()
            }
        }
        var cif = ffi_cif()
        let status = types.withUnsafeMutableBufferPointer { typeBuffer in
            ffi_prep_cif(&cif, FFI_DEFAULT_ABI, UInt32(typeBuffer.count), cchost_ffi_sint32(),
                         typeBuffer.baseAddress)
        }
        guard status == FFI_OK else {
            throw BindingError(description: "libffi could not prepare the call to \"\(check)\" (status \(status.rawValue))")
        }
        var result = ffi_arg()
        var values: [UnsafeMutableRawPointer?] = slots.map { $0 }
        values.withUnsafeMutableBufferPointer { valueBuffer in
            ffi_call(&cif, function, &result, valueBuffer.baseAddress)
        }
        // ffi widens small integer returns to ffi_arg; the low 32 bits are the int.
        return Int32(truncatingIfNeeded: result)
    }
}
