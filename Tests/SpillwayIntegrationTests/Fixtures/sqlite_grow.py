# A database that grows for the tests: one transaction per row, each row a distinct blob.
# Usage: sqlite_grow.py PATH JOURNAL_MODE ROWS ROW_BYTES DELAY_SECONDS
# Prints "<integrity_check> <rows> <rows whose blob is not exactly what was inserted>" at the end.
import sqlite3, sys, time
path, mode, rows, size, delay = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
db = sqlite3.connect(path, isolation_level=None)
db.execute(f"pragma journal_mode={mode}")
db.execute("pragma synchronous=full")
db.execute("create table if not exists t(id integer primary key, b blob)")
for i in range(rows):
    db.execute("begin")
    db.execute("insert into t(id, b) values (?, ?)", (i, bytes([i % 251]) * size))
    db.execute("commit")
    if delay:
        time.sleep(delay)
check = db.execute("pragma integrity_check").fetchone()[0]
count = db.execute("select count(*) from t").fetchone()[0]
wrong = sum(1 for i, b in db.execute("select id, b from t") if b != bytes([i % 251]) * size)
db.close()
print(check, count, wrong)
