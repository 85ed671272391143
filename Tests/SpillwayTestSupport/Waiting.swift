import Foundation

/// Waits until `condition` holds, checking it every `interval` seconds for at most `seconds`:
/// the tests' one way to wait on a condition rather than on a fixed sleep.
///
/// - Returns: whether `condition` held before the deadline (it is checked once more at the end).
public func waitUntil(seconds: Double, every interval: Double = 0.02, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}
