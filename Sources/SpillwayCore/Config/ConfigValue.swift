/// A value read from the config file, before validation: the TOML types the keys use, and
/// the rest kept only to be named in an error.
enum ConfigValue: Hashable, Sendable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    /// A table, array, date or time: never valid for a key; `rendered` is its TOML text.
    case other(typeName: String, rendered: String)

    /// The value as it would be written in TOML, for error messages.
    var rendered: String {
        switch self {
        case .string(let text): Self.quoted(text)
        case .integer(let value): String(value)
        case .float(let value): value.isNaN ? "nan" : String(value)
        case .boolean(let value): String(value)
        case .other(_, let rendered): rendered
        }
    }

    /// What the value is, for "is a string"-style messages.
    var typeName: String {
        switch self {
        case .string: "a string"
        case .integer: "a whole number"
        case .float: "a decimal number"
        case .boolean: "a boolean"
        case .other(let typeName, _): typeName
        }
    }

    /// `text` as a TOML basic string, with `"`, `\` and control characters escaped.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
