import TOMLKit

extension DaemonConfiguration {
    /// Reads a configuration from the text of a TOML file.
    ///
    /// Every key is top-level (`key = value`, no tables). Keys that are not set take their
    /// defaults. Values are checked one by one (in the order of ``ConfigurationKey``), then
    /// against each other (`drain_below` below `spill_threshold`; the socket path's length;
    /// a loopback `metrics_listen` unless `metrics_allow_remote`).
    ///
    /// - Throws: ``InputError`` for the first problem: not valid TOML (with line and
    ///   column), an unknown key (with the closest known one), or a bad value, in the form
    ///   `spill_threshold = 1.5 is out of range; use a number greater than 0 and at most 1,
    ///   e.g. 0.9 for 90 % (default 0.90)`.
    public init(toml text: String) throws(InputError) {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let position = error.source.begin
            throw InputError("the config file is not valid TOML: line \(position.line), column \(position.column): \(error.description)")
        } catch {
            throw InputError("the config file is not valid TOML: \(error)")
        }
        var values: [(ConfigurationKey, ConfigValue)] = []
        for name in table.keys.sorted() {
            guard let value = table[name] else { continue }
            guard let key = ConfigurationKey(rawValue: name) else {
                throw Self.unknownKey(name, isTable: value.type == .table)
            }
            values.append((key, ConfigValue(value)))
        }
        try self.init(values: values)
    }

    /// Validates already-typed values (the part of ``init(toml:)`` after TOML parsing).
    init(values: [(ConfigurationKey, ConfigValue)]) throws(InputError) {
        self.init()
        let given = Dictionary(values, uniquingKeysWith: { _, last in last })
        for key in ConfigurationKey.allCases {
            guard let value = given[key] else { continue }
            try apply(key, value)
        }
        try checkTogether(given)
    }

    private static func unknownKey(_ name: String, isTable: Bool) -> InputError {
        let what = isTable ? "unknown table [\(name)]; the configuration has only top-level keys (key = value)" : "unknown key '\(name)'"
        if let suggestion = ConfigurationKey.suggestion(for: name) {
            return InputError("\(what); did you mean '\(suggestion)'?")
        }
        return InputError("\(what); the keys are: \(ConfigurationKey.allCases.map(\.rawValue).joined(separator: ", "))")
    }

    private mutating func apply(_ key: ConfigurationKey, _ value: ConfigValue) throws(InputError) {
        switch key {
        case .subDisk: subDisk = try Self.path(key, value)
        case .subDiskReserve: subDiskReserve = try Self.reserve(key, value)
        case .stateDir: stateDir = try Self.path(key, value)
        case .runDir: runDir = try Self.path(key, value)
        case .socket: socket = try Self.path(key, value, maxBytes: Self.maxSocketPathBytes)
        case .libDir: libDir = try Self.path(key, value)
        case .spillThreshold:
            let number = try Self.number(key, value)
            guard number > 0, number <= 1 else { throw Self.bad(key, value, "is out of range") }
            policy.spillThreshold = number
        case .drainBelow:
            let number = try Self.number(key, value)
            guard number >= 0, number <= 1 else { throw Self.bad(key, value, "is out of range") }
            policy.drainBelow = number
        case .drainConfirmSamples:
            let count = try Self.wholeNumber(key, value)
            guard (1...Self.maxDrainConfirmSamples).contains(count) else { throw Self.bad(key, value, "is out of range") }
            policy.drainConfirmSamples = count
        case .drainMinDwell:
            let seconds = try Self.number(key, value)
            guard seconds >= 0, seconds <= Self.maxDrainMinDwellSeconds else { throw Self.bad(key, value, "is out of range") }
            policy.drainMinimumDwell = .seconds(seconds)
        case .pollInterval:
            let seconds = try Self.number(key, value)
            guard seconds >= Self.minPollIntervalSeconds, seconds <= Self.maxPollIntervalSeconds else {
                throw Self.bad(key, value, "is out of range")
            }
            pollInterval = .seconds(seconds)
        case .partitionMinContainers:
            switch value {
            case .string("auto"):
                partitionMinContainers = .auto
            case .string:
                throw Self.bad(key, value, "is not \"auto\"")
            case .integer(let count):
                guard (1...Self.maxPartitionMinContainers).contains(count) else { throw Self.bad(key, value, "is out of range") }
                partitionMinContainers = .count(count)
            default:
                throw Self.bad(key, value, "is \(value.typeName)")
            }
        case .partitionAutoShare:
            let bytes = try Self.size(key, value)
            guard bytes >= PartitionPlanner.alignmentBytes else { throw Self.bad(key, value, "is smaller than 1M") }
            partitionAutoShareBytes = bytes
        case .partitionBackend:
            let name = try Self.string(key, value)
            guard let backend = PartitionBackendSetting(rawValue: name) else { throw Self.bad(key, value, "is not a partition backend") }
            partitionBackend = backend
        case .dockerSocket:
            dockerSocket = try Self.string(key, value).isEmpty ? nil : Self.path(key, value, maxBytes: Self.maxSocketPathBytes)
        case .webhookURL:
            let text = try Self.string(key, value)
            do {
                webhookURL = text.isEmpty ? nil : try WebhookURL(parsing: text)
            } catch {
                throw Self.bad(key, value, error.message)
            }
        case .metricsListen:
            let text = try Self.string(key, value)
            do {
                metricsListen = text.isEmpty ? nil : try ListenAddress(parsing: text)
            } catch {
                throw Self.bad(key, value, error.message)
            }
        case .metricsAllowRemote:
            guard case .boolean(let allowed) = value else { throw Self.bad(key, value, "is \(value.typeName)") }
            metricsAllowRemote = allowed
        }
    }

    private mutating func checkTogether(_ given: [ConfigurationKey: ConfigValue]) throws(InputError) {
        if policy.drainBelow >= policy.spillThreshold {
            let threshold = given[.spillThreshold].map { "spill_threshold = \($0.rendered)" } ?? "spill_threshold (default \(ConfigurationKey.spillThreshold.defaultValue))"
            if let drain = given[.drainBelow] {
                throw Self.bad(.drainBelow, drain, "is not below \(threshold)")
            }
            throw InputError("drain_below (default \(ConfigurationKey.drainBelow.defaultValue)) is not below \(threshold); set drain_below to \(ConfigurationKey.drainBelow.allowed)")
        }
        if given[.socket] == nil {
            socket = runDir + "/" + Self.socketFileName
            if socket.utf8.count > Self.maxSocketPathBytes {
                throw InputError("run_dir = \(ConfigValue.quoted(runDir)) makes the socket path \(socket.utf8.count) bytes long, over the \(Self.maxSocketPathBytes) a unix socket allows; use a shorter run_dir or set socket")
            }
        }
        if let address = metricsListen, !address.isLoopback, !metricsAllowRemote, let value = given[.metricsListen] {
            throw Self.bad(.metricsListen, value, "is not a loopback address; metrics have no authentication, so listening on \(address.host) needs metrics_allow_remote = true")
        }
    }

    /// `key = value problem; use allowed (default default)`.
    private static func bad(_ key: ConfigurationKey, _ value: ConfigValue, _ problem: String) -> InputError {
        InputError("\(key) = \(value.rendered) \(problem); use \(key.allowed) (default \(key.defaultValue))")
    }

    private static func string(_ key: ConfigurationKey, _ value: ConfigValue) throws(InputError) -> String {
        guard case .string(let text) = value else { throw bad(key, value, "is \(value.typeName)") }
        return text
    }

    private static func number(_ key: ConfigurationKey, _ value: ConfigValue) throws(InputError) -> Double {
        let number: Double
        switch value {
        case .integer(let integer): number = Double(integer)
        case .float(let float): number = float
        default: throw bad(key, value, "is \(value.typeName)")
        }
        guard number.isFinite else { throw bad(key, value, "is not a finite number") }
        return number
    }

    private static func wholeNumber(_ key: ConfigurationKey, _ value: ConfigValue) throws(InputError) -> Int {
        guard case .integer(let integer) = value else { throw bad(key, value, "is \(value.typeName)") }
        return integer
    }

    private static func size(_ key: ConfigurationKey, _ value: ConfigValue) throws(InputError) -> UInt64 {
        switch value {
        case .integer(let bytes):
            guard bytes >= 0 else { throw bad(key, value, "is negative") }
            return UInt64(bytes)
        case .string(let text):
            do {
                return try ByteSize(parsing: text, what: "\(key) =").bytes
            } catch {
                throw InputError("\(error.message) (default \(key.defaultValue))")
            }
        default:
            throw bad(key, value, "is \(value.typeName)")
        }
    }

    private static func reserve(_ key: ConfigurationKey, _ value: ConfigValue) throws(InputError) -> SubDiskReserve {
        if case .string(let text) = value {
            do {
                return try SubDiskReserve(parsing: text, what: "\(key) =")
            } catch {
                throw InputError("\(error.message) (default \(key.defaultValue))")
            }
        }
        return .bytes(try size(key, value))
    }

    /// An absolute path, with repeated and trailing slashes removed.
    private static func path(_ key: ConfigurationKey, _ value: ConfigValue, maxBytes: Int = maxPathBytes) throws(InputError) -> String {
        let text = try string(key, value)
        if text.isEmpty { throw bad(key, value, "is empty") }
        if text.utf8.contains(0) { throw bad(key, value, "contains a NUL byte") }
        if !text.hasPrefix("/") { throw bad(key, value, "is not an absolute path") }
        let components = text.split(separator: "/")
        if components.contains(where: { $0 == ".." || $0 == "." }) { throw bad(key, value, "contains '.' or '..'") }
        let normalized = "/" + components.joined(separator: "/")
        if normalized == "/" { throw bad(key, value, "is the root directory") }
        if normalized.utf8.count > maxBytes { throw bad(key, value, "is \(normalized.utf8.count) bytes long, over the limit of \(maxBytes)") }
        return normalized
    }
}

extension ConfigValue {
    /// The value of a TOML node.
    init(_ value: any TOMLValueConvertible) {
        switch value.type {
        case .string: self = .string(value.string ?? "")
        case .int: self = .integer(value.int ?? 0)
        case .double: self = .float(value.double ?? .nan)
        case .bool: self = .boolean(value.bool ?? false)
        case .table: self = .other(typeName: "a table", rendered: "{…}")
        case .array: self = .other(typeName: "an array", rendered: "[…]")
        case .date, .time, .dateTime: self = .other(typeName: "a date or time", rendered: value.debugDescription)
        }
    }
}
