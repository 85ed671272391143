/// Every key of the daemon's TOML configuration file, with what it allows and its default,
/// as error messages and `docs/CONFIG.md` state them.
public enum ConfigurationKey: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// The sub disk's mount directory.
    case subDisk = "sub_disk"
    /// Space on the sub disk kept free of spill areas.
    case subDiskReserve = "sub_disk_reserve"
    /// The state database's directory.
    case stateDir = "state_dir"
    /// The tmpfs directory of slots and the control socket.
    case runDir = "run_dir"
    /// The control socket's path.
    case socket
    /// Where the preload libraries and the launcher are installed.
    case libDir = "lib_dir"
    /// The usage rate at which a container starts spilling.
    case spillThreshold = "spill_threshold"
    /// The low watermark of the automatic drain.
    case drainBelow = "drain_below"
    /// Consecutive samples the drain condition must hold.
    case drainConfirmSamples = "drain_confirm_samples"
    /// Seconds a container must have spilled before the automatic drain.
    case drainMinDwell = "drain_min_dwell"
    /// Seconds between usage readings.
    case pollInterval = "poll_interval"
    /// The container count at which the sub disk is partitioned.
    case partitionMinContainers = "partition_min_containers"
    /// The share per container of the auto threshold formula.
    case partitionAutoShare = "partition_auto_share"
    /// How partitions are made.
    case partitionBackend = "partition_backend"
    /// The Docker Engine API socket (empty: no discovery).
    case dockerSocket = "docker_socket"
    /// Where events are POSTed (empty: nowhere).
    case webhookURL = "webhook_url"
    /// The Prometheus endpoint's address (empty: none).
    case metricsListen = "metrics_listen"
    /// Whether the metrics endpoint may listen on a non-loopback address.
    case metricsAllowRemote = "metrics_allow_remote"

    /// The key as written in the file.
    public var description: String { rawValue }

    /// What the key accepts, in the words of an error message ("use …").
    public var allowed: String {
        switch self {
        case .subDisk: "an absolute path of the directory where the sub-disk filesystem is mounted"
        case .subDiskReserve: "a size like \"10G\" or a percentage of the sub disk like \"5%\""
        case .stateDir, .runDir, .libDir: "an absolute directory path"
        case .socket: "an absolute path of at most \(DaemonConfiguration.maxSocketPathBytes) bytes"
        case .spillThreshold: "a number greater than 0 and at most 1, e.g. 0.9 for 90 %"
        case .drainBelow: "a number from 0 (no automatic drain) up to, but not including, spill_threshold"
        case .drainConfirmSamples: "a whole number from 1 to \(DaemonConfiguration.maxDrainConfirmSamples)"
        case .drainMinDwell: "a number of seconds from 0 to \(Int(DaemonConfiguration.maxDrainMinDwellSeconds))"
        case .pollInterval: "a number of seconds from \(DaemonConfiguration.minPollIntervalSeconds) to \(Int(DaemonConfiguration.maxPollIntervalSeconds))"
        case .partitionMinContainers: "\"auto\" or a whole number from 1 to \(DaemonConfiguration.maxPartitionMinContainers)"
        case .partitionAutoShare: "a size of at least 1M, like \"8G\""
        case .partitionBackend: "one of " + PartitionBackendSetting.allCases.map { "\"\($0)\"" }.joined(separator: ", ")
        case .dockerSocket: "an absolute path of at most \(DaemonConfiguration.maxSocketPathBytes) bytes, or \"\" to turn Docker discovery off"
        case .webhookURL: "an http:// URL like \"http://127.0.0.1:9000/spillway\", or \"\" for no webhook"
        case .metricsListen: "host:port on a loopback address, like \"127.0.0.1:9477\" or \"[::1]:9477\" (any address with metrics_allow_remote = true), or \"\" for no metrics"
        case .metricsAllowRemote: "true or false"
        }
    }

    /// The default as it would be written in the file.
    public var defaultValue: String {
        switch self {
        case .subDisk: "none; required to run the daemon"
        case .subDiskReserve: "\"5%\""
        case .stateDir: "\"\(DaemonConfiguration.defaultStateDir)\""
        case .runDir: "\"\(DaemonConfiguration.defaultRunDir)\""
        case .socket: "\"<run_dir>/spillway.sock\", i.e. \"\(DaemonConfiguration.defaultSocket)\""
        case .libDir: "\"\(DaemonConfiguration.defaultLibDir)\""
        case .spillThreshold: "0.90"
        case .drainBelow: "0.80"
        case .drainConfirmSamples: "\(UsagePolicyConfiguration.defaultDrainConfirmSamples)"
        case .drainMinDwell: "30"
        case .pollInterval: "1"
        case .partitionMinContainers: "\"auto\""
        case .partitionAutoShare: "\"8G\""
        case .partitionBackend: "\"auto\""
        case .dockerSocket: "\"\(DaemonConfiguration.defaultDockerSocket)\""
        case .webhookURL: "\"\""
        case .metricsListen: "\"\""
        case .metricsAllowRemote: "false"
        }
    }

    /// The known key closest to `name`, if it is a likely misspelling of one (edit distance
    /// at most 3 and at most a third of the longer name).
    public static func suggestion(for name: String) -> ConfigurationKey? {
        let lowered = name.lowercased().replacingDashes()
        var best: (key: ConfigurationKey, distance: Int)?
        for key in allCases {
            let distance = editDistance(lowered, key.rawValue)
            let limit = min(3, max(1, max(lowered.count, key.rawValue.count) / 3))
            if distance <= limit, distance < (best?.distance ?? .max) { best = (key, distance) }
        }
        return best?.key
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

extension String {
    fileprivate func replacingDashes() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }
}
