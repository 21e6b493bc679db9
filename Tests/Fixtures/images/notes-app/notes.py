"""notes: the app of the fixture image cchost-fixture/notes-app (built by scripts/fixture-images).

A tiny web app backed by PostgreSQL or MariaDB, shaped like the apps real Co-op Cloud recipes
deploy. It serves HTTP on port 8000:

  GET  /        200, a page listing the notes
  POST /notes   form field `text`: stores a note, then 303 to /
  GET  /health  200 when the database answers, else 503

Configuration (environment): DB_TYPE (postgres | mariadb), DB_HOST, DB_PORT (default 5432 or 3306),
DB_NAME, DB_USER, and the password from the file DB_PASSWORD_FILE (a swarm secret) or DB_PASSWORD.
It creates its table when missing. When the database does not answer at start it exits with status
1, like real apps that rely on swarm's restart policy while their database starts.

The image has no shell, so its healthcheck runs this file: `/usr/bin/python3 /app/notes.py --health`
exits 0 when GET http://127.0.0.1:8000/health answers 200, else 1.
"""

import html
import os
import signal
import sys
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = 8000


def health_probe():
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=5) as r:
            return 0 if r.status == 200 else 1
    except Exception as e:  # noqa: BLE001 - any failure is unhealthy
        print(f"unhealthy: {e}", file=sys.stderr)
        return 1


def config():
    db_type = os.environ.get("DB_TYPE", "postgres")
    if db_type not in ("postgres", "mariadb"):
        sys.exit(f"notes: DB_TYPE must be postgres or mariadb, not {db_type!r}")
    password = os.environ.get("DB_PASSWORD", "")
    path = os.environ.get("DB_PASSWORD_FILE")
    if path:
        with open(path, encoding="utf-8") as f:
            password = f.read().rstrip("\n")
    return {
        "type": db_type,
        "host": os.environ.get("DB_HOST", "db"),
        "port": int(os.environ.get("DB_PORT", "5432" if db_type == "postgres" else "3306")),
        "name": os.environ.get("DB_NAME", "notes"),
        "user": os.environ.get("DB_USER", "notes"),
        "password": password,
    }


CFG = None


def connect():
    c = CFG
    if c["type"] == "postgres":
        import psycopg2

        return psycopg2.connect(host=c["host"], port=c["port"], dbname=c["name"], user=c["user"],
                                password=c["password"], connect_timeout=5)
    import pymysql

    return pymysql.connect(host=c["host"], port=c["port"], database=c["name"], user=c["user"],
                           password=c["password"], connect_timeout=5, charset="utf8mb4")


def run(sql, params=(), fetch=False):
    conn = connect()
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall() if fetch else None
        conn.commit()
        return rows
    finally:
        conn.close()


def create_table():
    if CFG["type"] == "postgres":
        run("CREATE TABLE IF NOT EXISTS notes (id SERIAL PRIMARY KEY, text TEXT NOT NULL, "
            "created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")
    else:
        run("CREATE TABLE IF NOT EXISTS notes (id INT AUTO_INCREMENT PRIMARY KEY, text TEXT NOT NULL, "
            "created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")


def version():
    try:
        with open("/etc/fixture-version", encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


class Handler(BaseHTTPRequestHandler):
    server_version = "notes"

    def send(self, status, body, content_type="text/plain; charset=utf-8", headers=()):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/health":
            try:
                run("SELECT 1", fetch=True)
            except Exception as e:  # noqa: BLE001
                return self.send(503, f"database unavailable: {e}\n")
            return self.send(200, "ok\n")
        if path == "/":
            try:
                rows = run("SELECT id, text FROM notes ORDER BY id", fetch=True)
            except Exception as e:  # noqa: BLE001
                return self.send(503, f"database unavailable: {e}\n")
            items = "\n".join(f"<li id=\"note-{i}\">{html.escape(t)}</li>" for i, t in rows)
            page = (f"<!doctype html>\n<html><head><title>notes</title></head><body>\n"
                    f"<h1>notes {html.escape(version())}</h1>\n<ul>\n{items}\n</ul>\n"
                    f"<form method=\"post\" action=\"/notes\"><input name=\"text\">"
                    f"<button>add</button></form>\n</body></html>\n")
            return self.send(200, page, "text/html; charset=utf-8")
        return self.send(404, "not found\n")

    do_HEAD = do_GET

    def do_POST(self):
        if urllib.parse.urlsplit(self.path).path != "/notes":
            return self.send(404, "not found\n")
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8"))
        text = (form.get("text") or [""])[0]
        if not text:
            return self.send(400, "missing form field text\n")
        try:
            run("INSERT INTO notes (text) VALUES (%s)", (text,))
        except Exception as e:  # noqa: BLE001
            return self.send(503, f"database unavailable: {e}\n")
        return self.send(303, "stored\n", headers=[("Location", "/")])

    def log_message(self, fmt, *args):
        sys.stderr.write("notes: %s %s\n" % (self.address_string(), fmt % args))


def main(argv):
    global CFG
    if "--health" in argv[1:]:
        return health_probe()
    CFG = config()
    try:
        create_table()
    except Exception as e:  # noqa: BLE001
        print(f"notes: the database at {CFG['host']}:{CFG['port']} does not answer: {e}", file=sys.stderr)
        return 1
    print(f"notes {version()}: {CFG['type']} at {CFG['host']}:{CFG['port']}, listening on 0.0.0.0:{PORT}",
          file=sys.stderr, flush=True)
    # As PID 1 the process gets no default SIGTERM handling: without this, a stop would wait for
    # Docker's SIGKILL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
