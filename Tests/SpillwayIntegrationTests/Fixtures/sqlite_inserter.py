# A writer for the container tests: inserts rows 0..COUNT-1 into table t of an SQLite database,
# one transaction per row. Usage: sqlite_inserter.py PATH COUNT DELAY_SECONDS
import sqlite3, sys, time
path, n, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
db = sqlite3.connect(path)
db.execute("create table if not exists t (n integer primary key, pad text)")
db.commit()
for i in range(n):
    db.execute("insert into t values (?, ?)", (i, "x" * 200))
    db.commit()
    time.sleep(delay)
db.close()
