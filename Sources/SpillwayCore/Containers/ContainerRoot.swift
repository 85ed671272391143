/// The rule for a container's root filesystem as `register` gives it (`--root`): a directory
/// that is not `/`, neither inside nor containing Spillway's own directories (the sub disk, the
/// run and state directories), and not overlapping a root already managed.
///
/// Pure: the caller resolves the paths (`realpath`) and says whether the given path is a
/// directory and not a symlink.
public enum ContainerRoot {
    /// One of Spillway's own directories, by what the operator calls it.
    public struct Reserved: Sendable {
        public var what: String
        public var path: String

        public init(what: String, path: String) {
            self.what = what
            self.path = path
        }
    }

    /// Checks a root.
    ///
    /// - Parameters:
    ///   - given: `--root` as typed.
    ///   - canonical: the same, resolved (no symlinks, `.` or `..`).
    ///   - reserved: Spillway's own directories, resolved.
    ///   - managed: the roots of managed containers (id and resolved root).
    /// - Throws: ``InputError`` naming the root, what is wrong and what to do.
    public static func validate(given: String, canonical: String, reserved: [Reserved], managed: [(id: String, root: String)]) throws(InputError) {
        let fix = "give the container's own root filesystem as the host sees it"
        if canonical == "/" {
            throw InputError("--root '\(given)' is the host's root directory; \(fix)")
        }
        for place in reserved {
            if contains(place.path, canonical) {
                throw InputError("--root '\(given)' is \(place.path == canonical ? "" : "inside ")the \(place.what) (\(place.path)), which Spillway uses itself; \(fix)")
            }
            if contains(canonical, place.path) {
                throw InputError("--root '\(given)' contains the \(place.what) (\(place.path)), which Spillway uses itself; \(fix)")
            }
        }
        for other in managed {
            if other.root == canonical {
                throw InputError("--root '\(given)' is managed already, as container '\(other.id)'; unregister that one first, or \(fix)")
            }
            if contains(other.root, canonical) {
                throw InputError("--root '\(given)' lies inside the root of managed container '\(other.id)' (\(other.root)); \(fix)")
            }
            if contains(canonical, other.root) {
                throw InputError("--root '\(given)' contains the root of managed container '\(other.id)' (\(other.root)); \(fix)")
            }
        }
    }

    /// Is `inner` equal to `outer` or below it (whole components)?
    public static func contains(_ outer: String, _ inner: String) -> Bool {
        if outer == inner || outer == "/" { return true }
        let prefix = outer.hasSuffix("/") ? outer : outer + "/"
        return inner.hasPrefix(prefix)
    }
}
