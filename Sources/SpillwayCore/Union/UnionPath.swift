/// A path inside the union as libfuse gives it (`/a/b/c`), split the way the branches need it:
/// relative to a branch's top (`a/b/c`, "" for the top), its parent (`a/b`, "" for a name at
/// the top) and its last name (`c`).
public struct UnionPath: Sendable, Hashable, CustomStringConvertible {
    public let relative: String
    public let parent: String
    public let name: String

    /// Splits libfuse's absolute `path`.
    public init(_ path: String) {
        var rel = Substring(path)
        while rel.first == "/" { rel = rel.dropFirst() }
        while rel.count > 1, rel.last == "/" { rel = rel.dropLast() }
        relative = String(rel)
        if let slash = rel.lastIndex(of: "/") {
            parent = String(rel[..<slash])
            name = String(rel[rel.index(after: slash)...])
        } else {
            parent = ""
            name = String(rel)
        }
    }

    public init(cString: UnsafePointer<CChar>) {
        self.init(String(cString: cString))
    }

    /// Whether this is the union's top directory.
    public var isRoot: Bool { relative.isEmpty }

    /// The parent's own path.
    public var parentPath: UnionPath { UnionPath(parent) }

    /// The path of `child` inside this directory.
    public func appending(_ child: String) -> UnionPath { UnionPath(relative.isEmpty ? child : relative + "/" + child) }

    /// The ancestors of this path's parent, top first (`a`, `a/b` for `a/b/c`).
    public var ancestors: [String] {
        var out: [String] = []
        var current = ""
        for part in parent.split(separator: "/") {
            current = current.isEmpty ? String(part) : current + "/" + part
            out.append(current)
        }
        return out
    }

    public var description: String { "/" + relative }
}
