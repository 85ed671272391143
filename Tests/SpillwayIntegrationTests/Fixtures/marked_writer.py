#!/usr/bin/env python3
"""A writer for the drain tests that behaves as the preload library makes every spill-area writer
behave (spillway_slot.h): it holds an OFD write lock on one byte of the writer-mark range of the
file it writes, appends one numbered line every DELAY seconds until STOPFILE exists, then
closes the file and prints how many lines it wrote.

  marked_writer.py PATH STOPFILE DELAY
"""
import fcntl, os, struct, sys, time

F_OFD_SETLK = 37
MARK = 0x7fffff0000000000  # SPILLWAY_WRITER_MARK_OFFSET; each writer picks a byte of the range
path, stop, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
# O_WRONLY, as most writers: hence a write lock (a read lock needs a readable description).
fd = os.open(path, os.O_WRONLY | os.O_APPEND)
# struct flock: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid (0 for OFD locks)
fcntl.fcntl(fd, F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, MARK + os.getpid() % 4096, 1, 0))
print("locked", flush=True)
n = 0
while not os.path.exists(stop):
    n += 1
    os.write(fd, b"line %d\n" % n)
    time.sleep(delay)
os.close(fd)
print(n, flush=True)
