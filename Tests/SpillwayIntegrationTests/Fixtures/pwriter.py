# A writer for the tests: random pwrite()s into a 1 MiB file, across whatever happens
# meanwhile; prints the sha256 of what the file must hold (its in-memory model).
# Usage: pwriter.py PATH COUNT DELAY_SECONDS
import os, sys, random, time, hashlib
path, n, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
size = 1 << 20
model = bytearray(size)
with open(path, "wb") as f: f.write(model)
fd = os.open(path, os.O_RDWR)
rng = random.Random(7)
for i in range(n):
    off = rng.randrange(0, size - 4096)
    data = bytes([rng.randrange(256)]) * rng.randrange(1, 4096)
    os.pwrite(fd, data, off)
    model[off:off+len(data)] = data
    time.sleep(delay)
os.close(fd)
print(hashlib.sha256(model).hexdigest())
