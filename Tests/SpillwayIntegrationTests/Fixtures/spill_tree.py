#!/usr/bin/env python3
"""Test fixture for the drain: makes spill-area content of every kind, and lists a tree as JSON.

  spill_tree.py make DIR [--kinds k1,k2,...] [--prefix P]
      creates, under DIR, one entry per kind (names start with P): empty, one-byte, 4095,
      4096, mib-plus-one, sparse, xattrs, symlink, fifo, chardev, and nested directories.
  spill_tree.py manifest DIR
      prints {relative path: description} for every entry below DIR (movers' own
      .spillway-* files included, so a test sees leftovers): kind, mode, uid, gid,
      mtime_ns, atime_ns, size, sha256, data extents (holes), xattrs (user.spillway.origin
      excluded), link target, rdev. Files are read with O_NOATIME.
"""
import hashlib, json, os, stat, sys

KINDS = ["empty", "one-byte", "4095", "4096", "mib-plus-one", "sparse", "xattrs", "symlink", "fifo", "chardev", "nested"]


def write(path, data, mode=0o644, uid=0, gid=0, mtime=1_600_000_000_123_456_789, atime=1_500_000_000_987_654_321):
    with open(path, "wb") as f:
        f.write(data)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    os.utime(path, ns=(atime, mtime), follow_symlinks=False)


def make(root, kinds, prefix):
    os.makedirs(root, exist_ok=True)
    p = lambda name: os.path.join(root, prefix + name)
    for kind in kinds:
        if kind == "empty":
            write(p("empty"), b"", 0o600, 1234, 5678)
        elif kind == "one-byte":
            write(p("one-byte"), b"x", 0o640, 1000, 1000)
        elif kind == "4095":
            write(p("4095"), os.urandom(4095), 0o755)
        elif kind == "4096":
            write(p("4096"), os.urandom(4096), 0o4711, 0, 0)
        elif kind == "mib-plus-one":
            write(p("mib-plus-one"), os.urandom((1 << 20) + 1), 0o644, 1234, 1234)
        elif kind == "sparse":
            path = p("sparse")
            with open(path, "wb") as f:
                f.seek(1 << 20)
                f.write(os.urandom(8192))
                f.seek(3 << 20)
                f.write(b"tail")
                f.truncate(4 << 20)
            os.chmod(path, 0o600)
            os.utime(path, ns=(1_500_000_000_000_000_001, 1_600_000_000_000_000_002))
        elif kind == "xattrs":
            path = p("xattrs")
            write(path, b"with attributes\n", 0o644)
            os.setxattr(path, "user.colour", b"blue")
            os.setxattr(path, "user.binary", bytes(range(256)))
            os.setxattr(path, "user.spillway.origin", b"1:2")  # dropped on the way back
            os.utime(path, ns=(1_500_000_000_000_000_003, 1_600_000_000_000_000_004))
        elif kind == "symlink":
            os.symlink("../../etc/passwd", p("symlink"))
            os.lchown(p("symlink"), 1234, 5678)
            os.utime(p("symlink"), ns=(1_500_000_000_000_000_005, 1_600_000_000_000_000_006), follow_symlinks=False)
        elif kind == "fifo":
            os.mkfifo(p("fifo"), 0o620)
            os.chmod(p("fifo"), 0o620)
            os.utime(p("fifo"), ns=(1_500_000_000_000_000_007, 1_600_000_000_000_000_008))
        elif kind == "chardev":
            os.mknod(p("chardev"), 0o640 | stat.S_IFCHR, os.makedev(1, 3))
            os.chmod(p("chardev"), 0o640)
            os.utime(p("chardev"), ns=(1_500_000_000_000_000_009, 1_600_000_000_000_000_010))
        elif kind == "nested":
            d = p("dir")
            os.makedirs(os.path.join(d, "sub", "deeper"), exist_ok=True)
            write(os.path.join(d, "sub", "deeper", "leaf.txt"), b"leaf\n", 0o600, 1234, 5678)
            write(os.path.join(d, "top.txt"), b"top\n")
            os.chown(os.path.join(d, "sub"), 1234, 5678)
            os.chmod(os.path.join(d, "sub"), 0o750)
            os.setxattr(os.path.join(d, "sub"), "user.dir", b"yes")
            for sub in [os.path.join(d, "sub", "deeper"), os.path.join(d, "sub"), d]:
                os.utime(sub, ns=(1_500_000_000_000_000_011, 1_600_000_000_000_000_012))
        else:
            raise SystemExit("unknown kind " + kind)


def extents(fd, size):
    out, pos = [], 0
    while pos < size:
        try:
            data = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:
            break
        hole = os.lseek(fd, data, os.SEEK_HOLE)
        out.append([data, hole])
        pos = hole
    return out


def describe(path):
    st = os.lstat(path)
    d = {"mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid, "mtime_ns": str(st.st_mtime_ns)}
    if stat.S_ISREG(st.st_mode):
        d["kind"] = "file"
        d["size"] = st.st_size
        d["atime_ns"] = str(st.st_atime_ns)
        fd = os.open(path, os.O_RDONLY | os.O_NOATIME | os.O_NOFOLLOW)
        try:
            h = hashlib.sha256()
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                h.update(chunk)
            d["sha256"] = h.hexdigest()
            d["extents"] = extents(fd, st.st_size)
        finally:
            os.close(fd)
        d["xattrs"] = {n: os.getxattr(path, n).hex() for n in sorted(os.listxattr(path)) if n != "user.spillway.origin"}
    elif stat.S_ISDIR(st.st_mode):
        d["kind"] = "dir"
        d["xattrs"] = {n: os.getxattr(path, n).hex() for n in sorted(os.listxattr(path)) if n != "user.spillway.origin"}
    elif stat.S_ISLNK(st.st_mode):
        d["kind"] = "symlink"
        d["target"] = os.readlink(path)
    else:
        d["kind"] = "node"
        d["rdev"] = st.st_rdev
        d["atime_ns"] = str(st.st_atime_ns)
    return d


def manifest(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root)] = describe(full)
    return out


if __name__ == "__main__":
    if sys.argv[1] == "make":
        kinds, prefix = KINDS, ""
        args = sys.argv[3:]
        while args:
            if args[0] == "--kinds":
                kinds = args[1].split(",")
            elif args[0] == "--prefix":
                prefix = args[1]
            args = args[2:]
        make(sys.argv[2], kinds, prefix)
    elif sys.argv[1] == "manifest":
        print(json.dumps(manifest(sys.argv[2]), sort_keys=True))
    else:
        raise SystemExit(__doc__)
