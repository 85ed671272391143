import SpillwayCore
import Testing

func configured(_ change: (inout DaemonConfiguration) -> Void) -> DaemonConfiguration {
    var configuration = DaemonConfiguration()
    change(&configuration)
    return configuration
}

func webhook(_ text: String) -> WebhookURL? { try? WebhookURL(parsing: text) }

@Suite("Daemon configuration from TOML")
struct DaemonConfigurationTests {
    static let good: [(String, DaemonConfiguration)] = [
        ("", DaemonConfiguration()),
        ("# only a comment\n\n", DaemonConfiguration()),
        ("sub_disk = \"/mnt/nvme\"", configured { $0.subDisk = "/mnt/nvme" }),
        ("sub_disk = '/mnt//nvme/'  # trailing comment", configured { $0.subDisk = "/mnt/nvme" }),
        ("sub_disk_reserve = \"10G\"", configured { $0.subDiskReserve = .bytes(10 * GiB) }),
        ("sub_disk_reserve = \"2.5%\"", configured { $0.subDiskReserve = .fraction(0.025) }),
        ("sub_disk_reserve = \"0%\"", configured { $0.subDiskReserve = .fraction(0) }),
        ("sub_disk_reserve = \"100%\"", configured { $0.subDiskReserve = .fraction(1) }),
        ("sub_disk_reserve = 0", configured { $0.subDiskReserve = .bytes(0) }),
        ("sub_disk_reserve = 1048576", configured { $0.subDiskReserve = .bytes(MiB) }),
        ("state_dir = \"/srv/spillway/state\"", configured { $0.stateDir = "/srv/spillway/state" }),
        ("run_dir = \"/run/sw\"", configured { $0.runDir = "/run/sw"; $0.socket = "/run/sw/spillway.sock" }),
        ("socket = \"/tmp/s.sock\"", configured { $0.socket = "/tmp/s.sock" }),
        ("run_dir = \"/run/sw\"\nsocket = \"/tmp/s.sock\"", configured { $0.runDir = "/run/sw"; $0.socket = "/tmp/s.sock" }),
        ("lib_dir = \"/opt/spillway/lib\"", configured { $0.libDir = "/opt/spillway/lib" }),
        ("spill_threshold = 0.95", configured { $0.policy.spillThreshold = 0.95 }),
        ("spill_threshold = 1", configured { $0.policy.spillThreshold = 1 }),
        ("spill_threshold = 1.0", configured { $0.policy.spillThreshold = 1 }),
        ("drain_below = 0.5", configured { $0.policy.drainBelow = 0.5 }),
        ("drain_below = 0", configured { $0.policy.drainBelow = 0 }),
        ("spill_threshold = 0.5\ndrain_below = 0.4", configured { $0.policy.spillThreshold = 0.5; $0.policy.drainBelow = 0.4 }),
        ("drain_confirm_samples = 1", configured { $0.policy.drainConfirmSamples = 1 }),
        ("drain_confirm_samples = 1000", configured { $0.policy.drainConfirmSamples = 1000 }),
        ("drain_min_dwell = 0", configured { $0.policy.drainMinimumDwell = .zero }),
        ("drain_min_dwell = 2.5", configured { $0.policy.drainMinimumDwell = .milliseconds(2500) }),
        ("drain_min_dwell = 86400", configured { $0.policy.drainMinimumDwell = .seconds(86400) }),
        ("poll_interval = 0.25", configured { $0.pollInterval = .milliseconds(250) }),
        ("poll_interval = 5", configured { $0.pollInterval = .seconds(5) }),
        ("poll_interval = 3600", configured { $0.pollInterval = .seconds(3600) }),
        ("partition_min_containers = \"auto\"", DaemonConfiguration()),
        ("partition_min_containers = 1", configured { $0.partitionMinContainers = .count(1) }),
        ("partition_min_containers = 10", configured { $0.partitionMinContainers = .count(10) }),
        ("partition_auto_share = \"16G\"", configured { $0.partitionAutoShareBytes = 16 * GiB }),
        ("partition_auto_share = \"1M\"", configured { $0.partitionAutoShareBytes = MiB }),
        ("partition_auto_share = 1048576", configured { $0.partitionAutoShareBytes = MiB }),
        ("partition_backend = \"auto\"", DaemonConfiguration()),
        ("partition_backend = \"btrfs\"", configured { $0.partitionBackend = .btrfs }),
        ("partition_backend = \"loop\"", configured { $0.partitionBackend = .loop }),
        ("partition_backend = \"directory\"", configured { $0.partitionBackend = .directory }),
        ("docker_socket = \"\"", configured { $0.dockerSocket = nil }),
        ("docker_socket = \"/run/docker.sock\"", configured { $0.dockerSocket = "/run/docker.sock" }),
        ("webhook_url = \"\"", DaemonConfiguration()),
        ("webhook_url = \"http://127.0.0.1:9000/hook\"", configured { $0.webhookURL = webhook("http://127.0.0.1:9000/hook") }),
        ("metrics_listen = \"\"", DaemonConfiguration()),
        ("metrics_listen = \"127.0.0.1:9477\"", configured { $0.metricsListen = ListenAddress(host: "127.0.0.1", port: 9477) }),
        ("metrics_listen = \"[::1]:9477\"", configured { $0.metricsListen = ListenAddress(host: "::1", port: 9477) }),
        ("metrics_listen = \"localhost:9100\"", configured { $0.metricsListen = ListenAddress(host: "localhost", port: 9100) }),
        ("metrics_listen = \"127.1.2.3:1\"", configured { $0.metricsListen = ListenAddress(host: "127.1.2.3", port: 1) }),
        ("metrics_listen = \"0.0.0.0:9477\"\nmetrics_allow_remote = true",
         configured { $0.metricsListen = ListenAddress(host: "0.0.0.0", port: 9477); $0.metricsAllowRemote = true }),
        ("metrics_allow_remote = false", DaemonConfiguration()),
    ]

    @Test(arguments: good)
    func accepts(toml: String, expected: DaemonConfiguration) throws {
        #expect(try DaemonConfiguration(toml: toml) == expected)
    }

    @Test func defaultsAreTheDocumentedOnes() {
        let defaults = DaemonConfiguration()
        #expect(defaults.subDisk == nil)
        #expect(defaults.subDiskReserve == .fraction(0.05))
        #expect(defaults.stateDir == "/var/lib/spillway")
        #expect(defaults.runDir == "/run/spillway")
        #expect(defaults.socket == "/run/spillway/spillway.sock")
        #expect(defaults.libDir == "/usr/local/lib/spillway")
        #expect(defaults.policy == UsagePolicyConfiguration(spillThreshold: 0.90, drainBelow: 0.80, drainConfirmSamples: 3, drainMinimumDwell: .seconds(30)))
        #expect(defaults.pollInterval == .seconds(1))
        #expect(defaults.partitionMinContainers == .auto)
        #expect(defaults.partitionAutoShareBytes == 8 * GiB)
        #expect(defaults.partitionBackend == .auto)
        #expect(defaults.dockerSocket == "/var/run/docker.sock")
        #expect(defaults.webhookURL == nil)
        #expect(defaults.metricsListen == nil)
        #expect(defaults.metricsAllowRemote == false)
    }

    static let longPath = "/" + String(repeating: "d", count: 100)

    static let bad: [(String, String)] = [
        // sub_disk and the other paths
        ("sub_disk = \"\"", "sub_disk = \"\" is empty; use an absolute path of the directory where the sub-disk filesystem is mounted (default none; required to run the daemon)"),
        ("sub_disk = \"mnt/nvme\"", "sub_disk = \"mnt/nvme\" is not an absolute path; use an absolute path of the directory where the sub-disk filesystem is mounted (default none; required to run the daemon)"),
        ("sub_disk = \"/\"", "sub_disk = \"/\" is the root directory; use an absolute path of the directory where the sub-disk filesystem is mounted (default none; required to run the daemon)"),
        ("sub_disk = \"/mnt/../etc\"", "sub_disk = \"/mnt/../etc\" contains '.' or '..'; use an absolute path of the directory where the sub-disk filesystem is mounted (default none; required to run the daemon)"),
        ("sub_disk = 5", "sub_disk = 5 is a whole number; use an absolute path of the directory where the sub-disk filesystem is mounted (default none; required to run the daemon)"),
        ("state_dir = \"var/lib\"", "state_dir = \"var/lib\" is not an absolute path; use an absolute directory path (default \"/var/lib/spillway\")"),
        ("state_dir = [\"/a\"]", "state_dir = […] is an array; use an absolute directory path (default \"/var/lib/spillway\")"),
        ("run_dir = \"\"", "run_dir = \"\" is empty; use an absolute directory path (default \"/run/spillway\")"),
        ("run_dir = \"//\"", "run_dir = \"//\" is the root directory; use an absolute directory path (default \"/run/spillway\")"),
        ("lib_dir = true", "lib_dir = true is a boolean; use an absolute directory path (default \"/usr/local/lib/spillway\")"),
        ("lib_dir = \"./lib\"", "lib_dir = \"./lib\" is not an absolute path; use an absolute directory path (default \"/usr/local/lib/spillway\")"),
        ("socket = \"spillway.sock\"", "socket = \"spillway.sock\" is not an absolute path; use an absolute path of at most 107 bytes (default \"<run_dir>/spillway.sock\", i.e. \"/run/spillway/spillway.sock\")"),
        ("socket = \"\(longPath)/s.sock\"", "socket = \"\(longPath)/s.sock\" is 108 bytes long, over the limit of 107; use an absolute path of at most 107 bytes (default \"<run_dir>/spillway.sock\", i.e. \"/run/spillway/spillway.sock\")"),
        ("run_dir = \"\(longPath)\"", "run_dir = \"\(longPath)\" makes the socket path 115 bytes long, over the 107 a unix socket allows; use a shorter run_dir or set socket"),
        // sub_disk_reserve
        ("sub_disk_reserve = \"150%\"", "sub_disk_reserve = '150%' is more than 100%; write a percentage from 0% to 100% or a size like 10G (default \"5%\")"),
        ("sub_disk_reserve = \"x%\"", "sub_disk_reserve = 'x%' is not a percentage; write e.g. 5% or a size like 10G (default \"5%\")"),
        ("sub_disk_reserve = \"-5G\"", "sub_disk_reserve = '-5G' is negative; write a whole or decimal number with an optional unit B, K, M, G, T or P (binary), e.g. 512M or 1.5G (default \"5%\")"),
        ("sub_disk_reserve = \"1e99\"", "sub_disk_reserve = '1e99' has an unknown unit 'e99'; write a whole or decimal number with an optional unit B, K, M, G, T or P (binary), e.g. 512M or 1.5G (default \"5%\")"),
        ("sub_disk_reserve = 0.05", "sub_disk_reserve = 0.05 is a decimal number; use a size like \"10G\" or a percentage of the sub disk like \"5%\" (default \"5%\")"),
        ("sub_disk_reserve = -1", "sub_disk_reserve = -1 is negative; use a size like \"10G\" or a percentage of the sub disk like \"5%\" (default \"5%\")"),
        // thresholds
        ("spill_threshold = 1.5", "spill_threshold = 1.5 is out of range; use a number greater than 0 and at most 1, e.g. 0.9 for 90 % (default 0.90)"),
        ("spill_threshold = 90", "spill_threshold = 90 is out of range; use a number greater than 0 and at most 1, e.g. 0.9 for 90 % (default 0.90)"),
        ("spill_threshold = 0", "spill_threshold = 0 is out of range; use a number greater than 0 and at most 1, e.g. 0.9 for 90 % (default 0.90)"),
        ("spill_threshold = -0.1", "spill_threshold = -0.1 is out of range; use a number greater than 0 and at most 1, e.g. 0.9 for 90 % (default 0.90)"),
        ("spill_threshold = nan", "spill_threshold = nan is not a finite number; use a number greater than 0 and at most 1, e.g. 0.9 for 90 % (default 0.90)"),
        ("spill_threshold = inf", "spill_threshold = inf is not a finite number; use a number greater than 0 and at most 1, e.g. 0.9 for 90 % (default 0.90)"),
        ("spill_threshold = \"0.9\"", "spill_threshold = \"0.9\" is a string; use a number greater than 0 and at most 1, e.g. 0.9 for 90 % (default 0.90)"),
        ("spill_threshold = \"90%\"", "spill_threshold = \"90%\" is a string; use a number greater than 0 and at most 1, e.g. 0.9 for 90 % (default 0.90)"),
        ("drain_below = 1.2", "drain_below = 1.2 is out of range; use a number from 0 (no automatic drain) up to, but not including, spill_threshold (default 0.80)"),
        ("drain_below = -1", "drain_below = -1 is out of range; use a number from 0 (no automatic drain) up to, but not including, spill_threshold (default 0.80)"),
        ("drain_below = false", "drain_below = false is a boolean; use a number from 0 (no automatic drain) up to, but not including, spill_threshold (default 0.80)"),
        ("drain_below = 0.95", "drain_below = 0.95 is not below spill_threshold (default 0.90); use a number from 0 (no automatic drain) up to, but not including, spill_threshold (default 0.80)"),
        ("spill_threshold = 0.8\ndrain_below = 0.8", "drain_below = 0.8 is not below spill_threshold = 0.8; use a number from 0 (no automatic drain) up to, but not including, spill_threshold (default 0.80)"),
        ("spill_threshold = 0.7", "drain_below (default 0.80) is not below spill_threshold = 0.7; set drain_below to a number from 0 (no automatic drain) up to, but not including, spill_threshold"),
        // hysteresis and polling
        ("drain_confirm_samples = 0", "drain_confirm_samples = 0 is out of range; use a whole number from 1 to 1000 (default 3)"),
        ("drain_confirm_samples = 1001", "drain_confirm_samples = 1001 is out of range; use a whole number from 1 to 1000 (default 3)"),
        ("drain_confirm_samples = 2.5", "drain_confirm_samples = 2.5 is a decimal number; use a whole number from 1 to 1000 (default 3)"),
        ("drain_confirm_samples = \"3\"", "drain_confirm_samples = \"3\" is a string; use a whole number from 1 to 1000 (default 3)"),
        ("drain_min_dwell = -1", "drain_min_dwell = -1 is out of range; use a number of seconds from 0 to 86400 (default 30)"),
        ("drain_min_dwell = 86401", "drain_min_dwell = 86401 is out of range; use a number of seconds from 0 to 86400 (default 30)"),
        ("drain_min_dwell = \"30s\"", "drain_min_dwell = \"30s\" is a string; use a number of seconds from 0 to 86400 (default 30)"),
        ("poll_interval = 0", "poll_interval = 0 is out of range; use a number of seconds from 0.1 to 3600 (default 1)"),
        ("poll_interval = 0.05", "poll_interval = 0.05 is out of range; use a number of seconds from 0.1 to 3600 (default 1)"),
        ("poll_interval = 3601", "poll_interval = 3601 is out of range; use a number of seconds from 0.1 to 3600 (default 1)"),
        ("poll_interval = \"1s\"", "poll_interval = \"1s\" is a string; use a number of seconds from 0.1 to 3600 (default 1)"),
        // partitions
        ("partition_min_containers = 0", "partition_min_containers = 0 is out of range; use \"auto\" or a whole number from 1 to 1000000 (default \"auto\")"),
        ("partition_min_containers = -3", "partition_min_containers = -3 is out of range; use \"auto\" or a whole number from 1 to 1000000 (default \"auto\")"),
        ("partition_min_containers = 1000001", "partition_min_containers = 1000001 is out of range; use \"auto\" or a whole number from 1 to 1000000 (default \"auto\")"),
        ("partition_min_containers = \"ten\"", "partition_min_containers = \"ten\" is not \"auto\"; use \"auto\" or a whole number from 1 to 1000000 (default \"auto\")"),
        ("partition_min_containers = 2.5", "partition_min_containers = 2.5 is a decimal number; use \"auto\" or a whole number from 1 to 1000000 (default \"auto\")"),
        ("partition_auto_share = \"512K\"", "partition_auto_share = \"512K\" is smaller than 1M; use a size of at least 1M, like \"8G\" (default \"8G\")"),
        ("partition_auto_share = \"12XB\"", "partition_auto_share = '12XB' has an unknown unit 'xb'; write a whole or decimal number with an optional unit B, K, M, G, T or P (binary), e.g. 512M or 1.5G (default \"8G\")"),
        ("partition_auto_share = -5", "partition_auto_share = -5 is negative; use a size of at least 1M, like \"8G\" (default \"8G\")"),
        ("partition_auto_share = true", "partition_auto_share = true is a boolean; use a size of at least 1M, like \"8G\" (default \"8G\")"),
        ("partition_backend = \"zfs\"", "partition_backend = \"zfs\" is not a partition backend; use one of \"auto\", \"btrfs\", \"loop\", \"directory\" (default \"auto\")"),
        ("partition_backend = 1", "partition_backend = 1 is a whole number; use one of \"auto\", \"btrfs\", \"loop\", \"directory\" (default \"auto\")"),
        // docker_socket
        ("docker_socket = \"docker.sock\"", "docker_socket = \"docker.sock\" is not an absolute path; use an absolute path of at most 107 bytes, or \"\" to turn Docker discovery off (default \"/var/run/docker.sock\")"),
        ("docker_socket = false", "docker_socket = false is a boolean; use an absolute path of at most 107 bytes, or \"\" to turn Docker discovery off (default \"/var/run/docker.sock\")"),
        // webhook_url
        ("webhook_url = \"https://hooks.example.com/x\"", "webhook_url = \"https://hooks.example.com/x\" uses https, which the daemon does not speak (put a relay on loopback in front of it); use an http:// URL like \"http://127.0.0.1:9000/spillway\", or \"\" for no webhook (default \"\")"),
        ("webhook_url = \"ftp://x/\"", "webhook_url = \"ftp://x/\" is not an http:// URL; use an http:// URL like \"http://127.0.0.1:9000/spillway\", or \"\" for no webhook (default \"\")"),
        ("webhook_url = \"http://\"", "webhook_url = \"http://\" has no host; use an http:// URL like \"http://127.0.0.1:9000/spillway\", or \"\" for no webhook (default \"\")"),
        ("webhook_url = \"http://user:pw@host/\"", "webhook_url = \"http://user:pw@host/\" contains user information ('@'); Spillway sends no credentials in URLs; use an http:// URL like \"http://127.0.0.1:9000/spillway\", or \"\" for no webhook (default \"\")"),
        ("webhook_url = \"http://host:99999/\"", "webhook_url = \"http://host:99999/\" has port '99999'; a port is a number from 1 to 65535; use an http:// URL like \"http://127.0.0.1:9000/spillway\", or \"\" for no webhook (default \"\")"),
        ("webhook_url = \"http://host/a b\"", "webhook_url = \"http://host/a b\" contains a space; percent-encode it; use an http:// URL like \"http://127.0.0.1:9000/spillway\", or \"\" for no webhook (default \"\")"),
        ("webhook_url = \"http://host/#top\"", "webhook_url = \"http://host/#top\" has a fragment ('#'), which a webhook cannot use; use an http:// URL like \"http://127.0.0.1:9000/spillway\", or \"\" for no webhook (default \"\")"),
        ("webhook_url = \"http://bad_host/\"", "webhook_url = \"http://bad_host/\" has 'bad_host', which is not a host name or address; use an http:// URL like \"http://127.0.0.1:9000/spillway\", or \"\" for no webhook (default \"\")"),
        ("webhook_url = \"http://300.1.1.1/\"", "webhook_url = \"http://300.1.1.1/\" has '300.1.1.1', which is not an IPv4 address; use an http:// URL like \"http://127.0.0.1:9000/spillway\", or \"\" for no webhook (default \"\")"),
        // metrics
        ("metrics_listen = \"0.0.0.0:9477\"", "metrics_listen = \"0.0.0.0:9477\" is not a loopback address; metrics have no authentication, so listening on 0.0.0.0 needs metrics_allow_remote = true; use host:port on a loopback address, like \"127.0.0.1:9477\" or \"[::1]:9477\" (any address with metrics_allow_remote = true), or \"\" for no metrics (default \"\")"),
        ("metrics_listen = \"0.0.0.0:9477\"\nmetrics_allow_remote = false", "metrics_listen = \"0.0.0.0:9477\" is not a loopback address; metrics have no authentication, so listening on 0.0.0.0 needs metrics_allow_remote = true; use host:port on a loopback address, like \"127.0.0.1:9477\" or \"[::1]:9477\" (any address with metrics_allow_remote = true), or \"\" for no metrics (default \"\")"),
        ("metrics_listen = \"127.0.0.1\"", "metrics_listen = \"127.0.0.1\" has no port; write host:port; use host:port on a loopback address, like \"127.0.0.1:9477\" or \"[::1]:9477\" (any address with metrics_allow_remote = true), or \"\" for no metrics (default \"\")"),
        ("metrics_listen = \"127.0.0.1:0\"", "metrics_listen = \"127.0.0.1:0\" has port '0'; a port is a number from 1 to 65535; use host:port on a loopback address, like \"127.0.0.1:9477\" or \"[::1]:9477\" (any address with metrics_allow_remote = true), or \"\" for no metrics (default \"\")"),
        ("metrics_listen = \"::1:9477\"", "metrics_listen = \"::1:9477\" has more than one ':'; write an IPv6 address in brackets, like [::1]:9477; use host:port on a loopback address, like \"127.0.0.1:9477\" or \"[::1]:9477\" (any address with metrics_allow_remote = true), or \"\" for no metrics (default \"\")"),
        ("metrics_listen = \"[::1\"", "metrics_listen = \"[::1\" has an unclosed '['; use host:port on a loopback address, like \"127.0.0.1:9477\" or \"[::1]:9477\" (any address with metrics_allow_remote = true), or \"\" for no metrics (default \"\")"),
        ("metrics_listen = \"[zz::1]:9477\"", "metrics_listen = \"[zz::1]:9477\" has 'zz::1', which is not an IPv6 address; use host:port on a loopback address, like \"127.0.0.1:9477\" or \"[::1]:9477\" (any address with metrics_allow_remote = true), or \"\" for no metrics (default \"\")"),
        ("metrics_listen = \":9477\"", "metrics_listen = \":9477\" has no host; use host:port on a loopback address, like \"127.0.0.1:9477\" or \"[::1]:9477\" (any address with metrics_allow_remote = true), or \"\" for no metrics (default \"\")"),
        ("metrics_listen = 9477", "metrics_listen = 9477 is a whole number; use host:port on a loopback address, like \"127.0.0.1:9477\" or \"[::1]:9477\" (any address with metrics_allow_remote = true), or \"\" for no metrics (default \"\")"),
        ("metrics_allow_remote = \"yes\"", "metrics_allow_remote = \"yes\" is a string; use true or false (default false)"),
        // keys
        ("spill_treshold = 0.9", "unknown key 'spill_treshold'; did you mean 'spill_threshold'?"),
        ("subdisk = \"/x\"", "unknown key 'subdisk'; did you mean 'sub_disk'?"),
        ("poll-interval = 1", "unknown key 'poll-interval'; did you mean 'poll_interval'?"),
        ("DRAIN_BELOW = 0.5", "unknown key 'DRAIN_BELOW'; did you mean 'drain_below'?"),
        ("colour = true", "unknown key 'colour'; the keys are: sub_disk, sub_disk_reserve, state_dir, run_dir, socket, lib_dir, spill_threshold, drain_below, drain_confirm_samples, drain_min_dwell, poll_interval, partition_min_containers, partition_auto_share, partition_backend, docker_socket, webhook_url, metrics_listen, metrics_allow_remote"),
        ("[metric]\nlisten = \"127.0.0.1:1\"", "unknown table [metric]; the configuration has only top-level keys (key = value); the keys are: sub_disk, sub_disk_reserve, state_dir, run_dir, socket, lib_dir, spill_threshold, drain_below, drain_confirm_samples, drain_min_dwell, poll_interval, partition_min_containers, partition_auto_share, partition_backend, docker_socket, webhook_url, metrics_listen, metrics_allow_remote"),
        ("[sub_disk]\npath = \"/x\"", "sub_disk = {…} is a table; use an absolute path of the directory where the sub-disk filesystem is mounted (default none; required to run the daemon)"),
    ]

    @Test(arguments: bad)
    func rejectsNamingKeyValueAndWhatIsAllowed(toml: String, message: String) {
        #expect(throws: InputError(message)) { try DaemonConfiguration(toml: toml) }
    }

    static let syntaxErrors: [(String, String)] = [
        ("spill_threshold = ", "the config file is not valid TOML: line 1, column "),
        ("spill_threshold = 0.9\nspill_threshold = 0.8", "the config file is not valid TOML: line 2, column "),
        ("sub_disk = /mnt/nvme", "the config file is not valid TOML: line 1, column "),
        ("\n\nsocket = \"unterminated", "the config file is not valid TOML: line 3, column "),
    ]

    @Test(arguments: syntaxErrors)
    func rejectsInvalidTOMLWithItsPosition(toml: String, prefix: String) {
        #expect {
            try DaemonConfiguration(toml: toml)
        } throws: { error in
            let message = (error as? InputError)?.message ?? ""
            return message.hasPrefix(prefix) && message.count > prefix.count + 3
        }
    }

    @Test func theFirstBadKeyInDocumentedOrderIsReported() {
        #expect(throws: InputError("spill_threshold = 2 is out of range; use a number greater than 0 and at most 1, e.g. 0.9 for 90 % (default 0.90)")) {
            try DaemonConfiguration(toml: "poll_interval = 0\nspill_threshold = 2\n")
        }
    }

    @Test func theDaemonNeedsASubDisk() throws {
        #expect(throws: InputError("sub_disk is not set; the daemon needs it: add sub_disk = \"/path/of/the/sub/disk\" to the config file (an absolute path of the directory where the sub-disk filesystem is mounted)")) {
            try DaemonConfiguration(toml: "").requireSubDisk()
        }
        #expect(try DaemonConfiguration(toml: "sub_disk = \"/mnt/nvme\"").requireSubDisk() == "/mnt/nvme")
    }

    @Test func feedsThePlannerAndThePolicy() throws {
        let configuration = try DaemonConfiguration(toml: """
            sub_disk_reserve = "1G"
            partition_min_containers = 4
            partition_auto_share = "2G"
            spill_threshold = 0.85
            drain_below = 0.6
            drain_confirm_samples = 5
            drain_min_dwell = 12
            """)
        #expect(configuration.planner(capacityBytes: 10 * GiB) == PartitionPlanner(
            capacityBytes: 10 * GiB, reserve: .bytes(GiB), minContainers: .count(4), autoShareBytes: 2 * GiB))
        #expect(configuration.policy == UsagePolicyConfiguration(
            spillThreshold: 0.85, drainBelow: 0.6, drainConfirmSamples: 5, drainMinimumDwell: .seconds(12)))
    }

    @Test func webhookURLsAreTakenApart() throws {
        let plain = try WebhookURL(parsing: "http://hooks.internal")
        #expect(plain.address == ListenAddress(host: "hooks.internal", port: 80) && plain.target == "/")
        let full = try WebhookURL(parsing: "HTTP://[::1]:8080/a/b?c=d")
        #expect(full.address == ListenAddress(host: "::1", port: 8080) && full.target == "/a/b?c=d")
        #expect(full.description == "http://[::1]:8080/a/b?c=d")
        let query = try WebhookURL(parsing: "http://h?x=1")
        #expect(query.target == "/?x=1")
    }

    static let loopback: [(String, Bool)] = [
        ("127.0.0.1:1", true), ("127.255.255.254:1", true), ("localhost:1", true), ("LOCALHOST:1", true),
        ("[::1]:1", true), ("[0:0:0:0:0:0:0:1]:1", true), ("128.0.0.1:1", false), ("0.0.0.0:1", false),
        ("[::]:1", false), ("example.com:1", false), ("10.0.0.1:1", false),
    ]

    @Test(arguments: loopback)
    func recognisesLoopbackAddresses(text: String, isLoopback: Bool) throws {
        #expect(try ListenAddress(parsing: text).isLoopback == isLoopback)
    }

    @Test(arguments: ConfigurationKey.allCases)
    func everyKeyExplainsItself(key: ConfigurationKey) {
        #expect(!key.allowed.isEmpty && !key.defaultValue.isEmpty)
        #expect(ConfigurationKey.suggestion(for: key.rawValue) == key)
    }
}
