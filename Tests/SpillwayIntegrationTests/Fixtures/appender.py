# A writer for the tests: appends "TAG NNNNNN" lines with O_APPEND and fsync per line.
# Usage: appender.py PATH TAG COUNT DELAY_SECONDS
import os, sys, time
path, tag, n, delay = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
for i in range(n):
    os.write(fd, f"{tag} {i:06d}\n".encode())
    os.fsync(fd)
    time.sleep(delay)
os.close(fd)
