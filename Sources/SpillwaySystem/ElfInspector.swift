#if canImport(Glibc)
import Glibc
#endif
import CSpillway
import SpillwayCore
import SystemPackage

/// Reads a program's ELF headers to tell what kind it is, with the same C reader the launcher
/// and the preload library's exec hooks use (`spillway_program_read` in
/// `CShim/include/spillway_program.h`): Go (its build-id note or `.go.buildinfo` section),
/// static, or dynamic against glibc or musl.
public enum ElfInspector {
    /// The kind of program at `path`.
    ///
    /// - Throws: ``SystemError`` if it cannot be opened; ``InvalidFileError`` if it is not an
    ///   ELF program the reader can read.
    public static func inspect(_ path: FilePath) throws -> ProgramKind {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch let errno as Errno {
            throw SystemError("open program", path: path.string, syscall: "openat", errno: errno)
        }
        defer { try? fd.close() }
        return try inspect(descriptor: fd.rawValue, shownAs: path.string)
    }

    /// The kind of the program open on `descriptor` (read with pread only; its offset is left
    /// alone); `shownAs` names it in errors.
    ///
    /// - Throws: ``InvalidFileError`` if it is not an ELF program the reader can read.
    public static func inspect(descriptor: Int32, shownAs: String) throws -> ProgramKind {
        var program = spillway_program()
        let number = spillway_program_read(descriptor, &program).rawValue
        let interpreter = withUnsafeBytes(of: &program.interp) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        guard let kind = ProgramKind(classNumber: number, interpreter: interpreter) else {
            throw InvalidFileError(path: shownAs, problem: program.why.map { String(cString: $0) } ?? "is not an ELF program")
        }
        return kind
    }
}
