"""The records of a new registration database written in a process of its own (records.Records).

Two threads of one process that both work in SQLite share its global memory lock (Debian's SQLite keeps memory
statistics, so every allocation takes it): measured on a 2-core machine, two threads did the work of 1.35 while two
processes did the work of 1.8. So the merge writes its records table (every cbdk field and its fingerprint, the
largest piece of work that can run beside the others) in a second Python process that runs this file.

Standard library only: it is started with the interpreter of the running Python installation (``python()``) and
imports nothing of the plugin. ``sha1`` is THE definition of the record fingerprint's SQL function lcb_sha1 (store
imports it from here), so both processes hash the same way; a worker whose SQLite is another version (json_array may
format numbers differently) says so first and is not used.

Protocol: the worker prints its SQLite version and a newline, then reads one JSON job from stdin
({"stage", "files", "steps", "parent"}), runs it — printing each step's number and a newline once the step is
committed — and exits 0, or prints the error on stderr and exits 1. It stops when its parent process is gone (a merge
killed with SIGKILL)."""
import hashlib
import json
import os
import sqlite3
import sys


def sha1(text, digest=None):
    """The content fingerprint of one record: SHA-1 over its delivered fields (text) and its geometry digest."""
    h = hashlib.sha1(text.encode("utf-8") if text is not None else b"")
    if digest:
        h.update(digest)
    return h.hexdigest()


def run(stage, files, steps, parent=None, connected=None, done=None):
    """`steps` (lists of SQL statements: INSERT INTO <file>.… SELECT … FROM the staging database, and what they need)
    in order, with lcb_sha1, each of `files` ({name: path}) attached without journal; each step committed, then
    done(its number) called. connected(conn): called with the connection once open (records.Records on a thread keeps
    it to interrupt it)."""
    conn = sqlite3.connect(stage, check_same_thread=False)
    if connected is not None:
        connected(conn)
    try:
        conn.create_function("lcb_sha1", 2, sha1, deterministic=True)
        for name, path in files.items():
            conn.execute("ATTACH DATABASE ? AS " + name, (path,))
            conn.execute(f"PRAGMA {name}.journal_mode=OFF")
            conn.execute(f"PRAGMA {name}.synchronous=OFF")
        if parent:
            conn.set_progress_handler(lambda: os.getppid() != parent, 100000)  # non-zero: interrupted
        for i, step in enumerate(steps):
            for sql in step:
                conn.execute(sql)
            conn.commit()
            if done is not None:
                done(i)
    finally:
        conn.close()


def python():
    """The interpreter of this Python installation (a venv's, QGIS's own on Windows and macOS), or None.
    sys.executable is not used: inside QGIS it is whatever `python3` the PATH finds."""
    names = ["python.exe"] if os.name == "nt" else ["bin/python3", "bin/python"]
    for name in names:
        exe = os.path.join(sys.prefix, name)
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            return exe
    return None


if __name__ == "__main__":
    sys.stdout.write(sqlite3.sqlite_version + "\n")
    sys.stdout.flush()
    job = json.loads(sys.stdin.readline() or "null")
    if job is None:  # the parent did not want this worker
        sys.exit(0)
    try:
        run(job["stage"], job["files"], job["steps"], job.get("parent"), done=lambda i: print(i, flush=True))
    except Exception as e:  # noqa: BLE001 - reported to the parent, which raises it
        sys.stderr.write(f"{type(e).__name__}: {e}")
        sys.exit(1)
