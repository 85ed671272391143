#if canImport(Glibc)
import Glibc
#endif

/// Writes diagnostics to standard error without touching C's shared `stderr` stream.
public enum StandardError {
    /// Writes `line` and a newline to file descriptor 2.
    public static func print(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
        bytes.removeAll()
    }
}
