/// The daemon's configuration: every key of its TOML file, validated, with defaults
/// (`docs/CONFIG.md` lists them).
///
/// Read one with ``init(toml:)``; ``init()`` gives the defaults. Optional features are
/// `nil` when off (``dockerSocket``, ``webhookURL``, ``metricsListen``).
public struct DaemonConfiguration: Hashable, Sendable {
    /// Default `state_dir`: where the state database lives.
    public static let defaultStateDir = "/var/lib/spillway"
    /// Default `run_dir`: the tmpfs directory of slots and the control socket.
    public static let defaultRunDir = "/run/spillway"
    /// Default `socket`: `<run_dir>/spillway.sock` with the default `run_dir`.
    public static let defaultSocket = "/run/spillway/spillway.sock"
    /// The socket's file name inside `run_dir` when `socket` is not set.
    public static let socketFileName = "spillway.sock"
    /// Default `lib_dir`: where the preload libraries and the launcher are installed.
    public static let defaultLibDir = "/usr/local/lib/spillway"
    /// Default `docker_socket`.
    public static let defaultDockerSocket = "/var/run/docker.sock"
    /// A unix socket path must fit `sun_path` (108 bytes with its NUL).
    public static let maxSocketPathBytes = 107
    /// The longest path accepted (`PATH_MAX` less its NUL).
    public static let maxPathBytes = 4095
    /// Bounds of `poll_interval`, in seconds.
    public static let minPollIntervalSeconds = 0.1
    /// Upper bound of `poll_interval`, in seconds.
    public static let maxPollIntervalSeconds = 3600.0
    /// Upper bound of `drain_min_dwell`, in seconds (one day).
    public static let maxDrainMinDwellSeconds = 86_400.0
    /// Upper bound of `drain_confirm_samples`.
    public static let maxDrainConfirmSamples = 1000
    /// Upper bound of `partition_min_containers`.
    public static let maxPartitionMinContainers = 1_000_000

    /// `sub_disk`: the directory where the sub-disk filesystem is mounted; `nil` when not
    /// set (clients may read a config without it; the daemon calls ``requireSubDisk()``).
    public var subDisk: String?
    /// `sub_disk_reserve`: space kept free of spill areas.
    public var subDiskReserve: SubDiskReserve
    /// `state_dir`: the state database's directory.
    public var stateDir: String
    /// `run_dir`: slots and the control socket (a tmpfs).
    public var runDir: String
    /// `socket`: the control socket (`<run_dir>/spillway.sock` unless set).
    public var socket: String
    /// `lib_dir`: the preload libraries and the launcher.
    public var libDir: String
    /// `spill_threshold`, `drain_below`, `drain_confirm_samples` and `drain_min_dwell`.
    public var policy: UsagePolicyConfiguration
    /// `poll_interval`: how often usage is read.
    public var pollInterval: Duration
    /// `partition_min_containers`.
    public var partitionMinContainers: PartitionMinContainers
    /// `partition_auto_share`: the share per container of the auto threshold.
    public var partitionAutoShareBytes: UInt64
    /// `partition_backend`.
    public var partitionBackend: PartitionBackendSetting
    /// `docker_socket`; `nil` turns Docker discovery off.
    public var dockerSocket: String?
    /// `webhook_url`; `nil` for no webhook.
    public var webhookURL: WebhookURL?
    /// `metrics_listen`; `nil` for no metrics endpoint.
    public var metricsListen: ListenAddress?
    /// `metrics_allow_remote`: whether `metrics_listen` may be a non-loopback address.
    public var metricsAllowRemote: Bool

    /// The defaults of every key (no `sub_disk`).
    public init() {
        subDisk = nil
        subDiskReserve = .defaultReserve
        stateDir = Self.defaultStateDir
        runDir = Self.defaultRunDir
        socket = Self.defaultSocket
        libDir = Self.defaultLibDir
        policy = UsagePolicyConfiguration()
        pollInterval = .seconds(1)
        partitionMinContainers = .auto
        partitionAutoShareBytes = PartitionPlanner.defaultAutoShareBytes
        partitionBackend = .auto
        dockerSocket = Self.defaultDockerSocket
        webhookURL = nil
        metricsListen = nil
        metricsAllowRemote = false
    }

    /// `sub_disk`, which the daemon cannot run without.
    ///
    /// - Throws: ``InputError`` when it is not set, saying how to set it.
    public func requireSubDisk() throws(InputError) -> String {
        guard let subDisk else {
            throw InputError("sub_disk is not set; the daemon needs it: add sub_disk = \"/path/of/the/sub/disk\" to the config file (\(ConfigurationKey.subDisk.allowed))")
        }
        return subDisk
    }

    /// A partition planner for this configuration and a sub disk of `capacityBytes`.
    public func planner(capacityBytes: UInt64) -> PartitionPlanner {
        PartitionPlanner(
            capacityBytes: capacityBytes, reserve: subDiskReserve, minContainers: partitionMinContainers,
            autoShareBytes: partitionAutoShareBytes)
    }
}
