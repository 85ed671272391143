#if canImport(Glibc)
import Glibc
#endif
import CElf
import SpillwayCore
import SystemPackage

/// Reads a program's ELF program headers (libelf) to tell which preload library can serve it.
public enum ElfInspector {
    /// The kind of program at `path`.
    ///
    /// - Throws: ``SystemError`` if it cannot be opened; ``InvalidFileError`` if it is not ELF.
    public static func inspect(_ path: FilePath) throws -> ProgramKind {
        guard elf_version(UInt32(EV_CURRENT)) != UInt32(EV_NONE) else {
            throw InvalidFileError(path: path.string, problem: "libelf is unusable")
        }
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch let errno as Errno {
            throw SystemError("open program", path: path.string, syscall: "openat", errno: errno)
        }
        defer { try? fd.close() }
        guard let elf = elf_begin(fd.rawValue, ELF_C_READ, nil) else {
            throw InvalidFileError(path: path.string, problem: "is not an ELF file")
        }
        defer { elf_end(elf) }
        guard elf_kind(elf) == ELF_K_ELF else {
            throw InvalidFileError(path: path.string, problem: "is not an ELF program")
        }
        var count = 0
        guard elf_getphdrnum(elf, &count) == 0 else {
            throw InvalidFileError(path: path.string, problem: "has unreadable program headers")
        }
        for index in 0..<count {
            var header = GElf_Phdr()
            guard gelf_getphdr(elf, Int32(index), &header) != nil, header.p_type == UInt32(PT_INTERP) else { continue }
            let length = Int(min(header.p_filesz, 4096))
            var buffer = [UInt8](repeating: 0, count: length)
            let got = try buffer.withUnsafeMutableBytes { bytes in
                try fd.read(fromAbsoluteOffset: Int64(header.p_offset), into: bytes)
            }
            let interpreter = String(decoding: buffer.prefix(got).prefix(while: { $0 != 0 }), as: UTF8.self)
            return ProgramKind(interpreter: interpreter)
        }
        return ProgramKind(interpreter: nil)
    }
}
