"""A throw-away PostgreSQL 15 + PostGIS 3 cluster for the tests and the benchmark (no mocks, no shared server).

``Cluster().start()`` runs Debian's own binaries (/usr/lib/postgresql/15/bin, never whatever `pg_ctl` is first on
PATH) as the ``postgres`` user when run as root: ``initdb`` in a new temporary directory, ``pg_ctl start``
listening on 127.0.0.1 only, on a free port, with its socket in that directory. ``stop()`` stops it and removes
the directory. Password authentication (scram-sha-256) over TCP, as a county server would have it; a template
database with PostGIS lets every test create a fresh, empty database in a fraction of a second.

As a pytest plugin (tests/conftest.py loads it) it gives the session fixture ``pg_cluster`` and the per-test
fixture ``pg_db`` (a new empty database owned by the non-superuser role ``lcb``, PostGIS installed). Without the
Debian packages the PostgreSQL tests are skipped with the reason — unless LCB_REQUIRE_PG=1 (scripts/test sets it,
after scripts/setup has installed them), when they fail instead."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
POSTGIS = Path("/usr/share/postgresql/15/extension/postgis.control")
SUPERUSER = "postgres"
ROLE, PASSWORD = "lcb", "lcb-test-Pa55word"  # the plugin's role in the tests: no superuser
TEMPLATE = "lcb_template"


def unavailable():
    """Why a cluster cannot be started here (None: it can)."""
    for exe in ("initdb", "pg_ctl", "postgres"):
        if not (BIN / exe).exists():
            return f"PostgreSQL 15 is not installed ({BIN / exe} missing; scripts/setup installs postgresql-15)"
    if not POSTGIS.exists():
        return f"PostGIS 3 is not installed ({POSTGIS} missing; scripts/setup installs postgresql-15-postgis-3)"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 is not installed (scripts/setup installs python3-psycopg2)"
    if os.geteuid() == 0:
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            return "no postgres user to run the cluster as (the postgresql-15 package creates it)"
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sweep():
    """Stop and remove the clusters of test runs that were killed before they could (their owner process is gone)."""
    for d in Path(tempfile.gettempdir()).glob("lcb-pg-*"):
        try:
            pid = int((d / "owner").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
            continue  # still running: not ours to touch
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        c = Cluster()
        c.dir = d
        c.stop()


class Cluster:
    def __init__(self, name="lcb", settings=None):
        self.name = name
        self.dir = None
        self.port = None
        self.settings = dict(settings or {})

    # ------------------------------------------------------------------ as the postgres user
    def _as_owner(self, args, **kw):
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--"] + args
        return subprocess.run(args, check=True, capture_output=True, text=True, **kw)

    def start(self):
        sweep()
        self.dir = Path(tempfile.mkdtemp(prefix=f"lcb-pg-{self.name}-"))
        data, pwfile = self.dir / "data", self.dir / "pw"
        (self.dir / "owner").write_text(str(os.getpid()))
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self.dir.chmod(0o700)
        try:
            self._as_owner([str(BIN / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth-local=trust", "--auth-host=scram-sha-256",
                            f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], cwd="/")
            last = None
            for _attempt in range(5):  # another process may take the free port between the probe and the start
                self.port = free_port()
                opts = {"listen_addresses": "127.0.0.1", "port": str(self.port), "unix_socket_directories": str(self.dir),
                        "max_connections": "60", "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                        "shared_buffers": "128MB", "log_min_messages": "warning", **self.settings}
                o = " ".join(f"-c {k}={v}" for k, v in opts.items())
                try:
                    self._as_owner([str(BIN / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"), "-o", o, "-w", "-t", "60", "start"], cwd="/")
                    break
                except subprocess.CalledProcessError as e:
                    last = e
                    time.sleep(0.2)
            else:
                raise RuntimeError(f"PostgreSQL did not start: {last.stderr if last else ''}\n{self.log()}")
            self._bootstrap()
        except BaseException:
            self.stop()
            raise
        return self

    def log(self):
        try:
            return (self.dir / "log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def _bootstrap(self):
        c = self.connect(SUPERUSER, "postgres", password=PASSWORD)
        c.autocommit = True
        cur = c.cursor()
        cur.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD %s", (PASSWORD,))
        cur.execute(f"CREATE DATABASE {TEMPLATE} OWNER {ROLE}")
        c.close()
        c = self.connect(SUPERUSER, TEMPLATE, password=PASSWORD)
        c.autocommit = True
        c.cursor().execute("CREATE EXTENSION postgis")
        c.close()

    def stop(self):
        if self.dir is None:
            return
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():
            try:
                self._as_owner([str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t", "60", "stop"], cwd="/")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    # ------------------------------------------------------------------ clients
    def connect(self, user=ROLE, dbname=TEMPLATE, password=PASSWORD):
        import psycopg2
        return psycopg2.connect(host="127.0.0.1", port=self.port, user=user, password=password, dbname=dbname)

    def admin(self, sql, dbname="postgres", args=None):
        c = self.connect(SUPERUSER, dbname)
        c.autocommit = True
        try:
            cur = c.cursor()
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None
        finally:
            c.close()

    def create_db(self, postgis=True, name=None):
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        if postgis:
            self.admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} OWNER {ROLE}")
        else:
            self.admin(f"CREATE DATABASE {name} OWNER {ROLE}")
        return Database(self, name)


class Database:
    def __init__(self, cluster, name):
        self.cluster, self.name = cluster, name
        self.port, self.user, self.password = cluster.port, ROLE, PASSWORD

    @property
    def uri(self):
        """postgresql://lcb@127.0.0.1:<port>/<db> — the password comes from PGPASSFILE (see env)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.name}"

    @property
    def uri_with_password(self):
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.name}"

    @property
    def pg_string(self):
        return f"PG:host=127.0.0.1 port={self.port} dbname={self.name} user={self.user} password={self.password}"

    def params(self):
        return dict(host="127.0.0.1", port=str(self.port), dbname=self.name, user=self.user, password=self.password)

    def connect(self):
        return self.cluster.connect(ROLE, self.name)

    def rows(self, sql, args=None):
        c = self.connect()
        try:
            cur = c.cursor()
            cur.execute(sql, args)
            return cur.fetchall()
        finally:
            c.close()

    def passfile(self, folder):
        """A .pgpass file for this database (mode 0600), for PGPASSFILE."""
        p = Path(folder) / f"pgpass-{self.name}"
        p.write_text(f"127.0.0.1:{self.port}:{self.name}:{self.user}:{self.password}\n")
        p.chmod(0o600)
        return p


# ------------------------------------------------------------------ pytest plugin
try:
    import pytest
except ImportError:  # the benchmark imports this module without pytest
    pytest = None

if pytest is not None:
    @pytest.fixture(scope="session")
    def pg_cluster():
        why = unavailable()
        if why:
            if os.environ.get("LCB_REQUIRE_PG") == "1":
                pytest.fail(f"PostgreSQL tests required (LCB_REQUIRE_PG=1) but {why}")
            pytest.skip(why)
        cluster = Cluster("postgis-tests").start()
        try:
            yield cluster
        finally:
            cluster.stop()

    @pytest.fixture
    def pg_db(pg_cluster):
        """A new, empty database with PostGIS, owned by the role `lcb` (dropped after the test)."""
        db = pg_cluster.create_db()
        yield db
        try:
            pg_cluster.admin(f"DROP DATABASE IF EXISTS {db.name} WITH (FORCE)")
        except Exception:  # noqa: BLE001 - the cluster goes away at the end of the session anyway
            pass
