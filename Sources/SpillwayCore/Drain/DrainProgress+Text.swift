/// How `spillway grow --wait` shows a drain: a bar on a terminal, plain lines when piped.
extension DrainProgress {
    /// `120/300 files, 30 MiB/60 MiB, 12.5 MiB/s, ETA 3 s` (+ `, 2 waiting` for deferred files).
    public var summary: String {
        var text = "\(filesMoved)/\(filesTotal) files, \(ByteSize(bytes: bytesMoved))/\(ByteSize(bytes: bytesTotal))"
        if let rate = bytesPerSecond, rate.isFinite { text += ", \(ByteSize(bytes: UInt64(max(0, rate))))/s" }
        if let eta = etaSeconds, eta.isFinite, phase == .moving { text += ", ETA \(Self.duration(eta))" }
        let refusedCount = refused.count
        if filesDeferred > refusedCount {
            let waiting = (held ?? []).filter { !$0.refused }
            let named = waiting.count == 1 ? " for \(waiting[0].line)" : ""
            text += ", \(filesDeferred - refusedCount) waiting" + named
        }
        if refusedCount > 0 { text += ", \(refusedCount) refused" }
        if phase == .failed, let problem { text += "; \(problem)" }
        return text
    }

    /// Done as a fraction (bytes, or files when there are no bytes).
    public var fraction: Double {
        if bytesTotal > 0 { return min(1, Double(bytesMoved) / Double(bytesTotal)) }
        if filesTotal > 0 { return min(1, Double(filesMoved) / Double(filesTotal)) }
        return phase == .done ? 1 : 0
    }

    /// `[##########----------]  50%  ` followed by ``summary``; `width` cells of bar.
    public func bar(width: Int = 30) -> String {
        let filled = Int((fraction * Double(width)).rounded(.down))
        let percent = Int((fraction * 100).rounded(.down))
        let padded = String(repeating: " ", count: max(0, 3 - String(percent).count)) + "\(percent)"
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: max(0, width - filled)) + "] \(padded)%  " + summary
    }

    /// `3 s`, `2 min 5 s`, `1 h 2 min`.
    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }
}
