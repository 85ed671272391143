# Speaks to the container's ask socket as a hostile process would (AskAttackTests).
# Usage: ask_attack.py CASE [ARGS...]; prints one line per request: the reply's error, or "none".
import os, socket, struct, sys, threading

SOCK = "/.spillway/ask/sock"
MAGIC, VERSION, PARENTS = 0x4b534157, 1, 1

def my_id():
    with open("/.spillway/slot", "rb") as f:
        return f.read(128)[64:128].split(b"\0")[0].decode()

def message(path, cid, kind=PARENTS, reason=b""):
    p = path.encode()
    return struct.pack("<6I64s4096s256s", MAGIC, VERSION, kind, len(p), len(reason), 0, cid.encode(), p, reason)

def ask(raw):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(SOCK)
    s.send(raw)
    try:
        data = s.recv(64)
    except OSError:
        data = b""
    s.close()
    return str(struct.unpack("<IIiI", data)[2]) if len(data) == 16 else "none"

case = sys.argv[1]
me = my_id()
if case == "path":
    print(ask(message(sys.argv[2], me)))
elif case == "other-id":
    print(ask(message(sys.argv[2], sys.argv[3])))
elif case == "report":
    # A report of the library's kind (2): counted, no reply.
    print(ask(message(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else me, kind=2, reason=b"a reason")))
elif case == "garbage":
    print(ask(os.urandom(4440)))
elif case == "short":
    print(ask(b"hello"))
elif case == "oversized":
    print(ask(message("tmp/x/y", me) + b"\0" * 4000))
elif case == "unterminated":
    raw = bytearray(message("tmp/x/y", me))
    raw[88:88 + 4096] = b"a" * 4096
    print(ask(bytes(raw)))
elif case == "race":
    # Swap the spill area's directory `name` for a symlink to `target` and back, while asking
    # for parents below it; prints how many requests were served and refused.
    name, target, rounds = sys.argv[2], sys.argv[3], int(sys.argv[4])
    spill = "/.spillway/spill/"
    stop = False
    def racer():
        while not stop:
            try:
                os.rename(spill + name, spill + name + ".away")
                os.symlink(target, spill + name)
                os.unlink(spill + name)
                os.rename(spill + name + ".away", spill + name)
            except OSError:
                pass
    t = threading.Thread(target=racer)
    t.start()
    answers = {}
    for i in range(rounds):
        a = ask(message(name + "/a/b%d/x" % (i % 7), me))
        answers[a] = answers.get(a, 0) + 1
    stop = True
    t.join()
    print(" ".join("%s=%d" % kv for kv in sorted(answers.items())))
