#!/bin/sh
# Entrypoint of the fixture image cchost-fixture/mariadb (built by scripts/fixture-images from
# Debian's mariadb-server). Like the official mariadb image: on first start it initialises
# /var/lib/mysql with the root password from MARIADB_ROOT_PASSWORD_FILE (or
# MARIADB_ROOT_PASSWORD), the database MARIADB_DATABASE and the user MARIADB_USER with the password
# from MARIADB_PASSWORD_FILE (or MARIADB_PASSWORD), allowed from any host and granted everything on
# that database; then it runs mariadbd in the foreground as the mysql user, listening on
# 0.0.0.0:3306. The MYSQL_* names of the older images are accepted too.
set -eu

datadir=/var/lib/mysql

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$datadir" /run/mysqld
  chown mysql:mysql /run/mysqld
  if [ "$(stat -c %U "$datadir")" != mysql ] || [ -n "$(find "$datadir" ! -user mysql -print -quit)" ]; then
    chown -R mysql:mysql "$datadir"
  fi
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi

# secret NAME: the value of ${NAME}_FILE's file, else of $NAME, else empty.
secret() {
  eval "file=\${MARIADB_$1_FILE:-\${MYSQL_$1_FILE:-}}"
  if [ -n "$file" ]; then
    [ -r "$file" ] || { echo "entrypoint: cannot read $file" >&2; exit 1; }
    cat "$file"
  else
    eval "printf '%s' \"\${MARIADB_$1:-\${MYSQL_$1:-}}\""
  fi
}
# sql_string VALUE: VALUE as an SQL string literal.
sql_string() { printf "'%s'" "$(printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/''/g")"; }
# sql LINE: prints LINE as it is (dash's echo would interpret its backslashes).
sql() { printf '%s\n' "$1"; }
# sql_name VALUE: VALUE as an SQL identifier.
sql_name() { printf '`%s`' "$(printf '%s' "$1" | sed 's/`/``/g')"; }

# A start that failed while initialising leaves this marker: start again from an empty directory.
if [ -e "$datadir/.initialising" ]; then
  find "$datadir" -mindepth 1 -delete
fi

if [ ! -d "$datadir/mysql" ]; then
  root_password=$(secret ROOT_PASSWORD)
  user=${MARIADB_USER:-${MYSQL_USER:-}}
  database=${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}
  password=$(secret PASSWORD)
  [ -n "$root_password" ] || { echo "entrypoint: no root password (set MARIADB_ROOT_PASSWORD_FILE or MARIADB_ROOT_PASSWORD)" >&2; exit 1; }
  if [ -n "$user" ] && [ -z "$password" ]; then
    echo "entrypoint: MARIADB_USER without a password (set MARIADB_PASSWORD_FILE or MARIADB_PASSWORD)" >&2; exit 1
  fi

  echo "entrypoint: initialising $datadir"
  touch "$datadir/.initialising"
  mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve --rpm >/dev/null
  # A server on the socket only, so nothing outside sees the database half made.
  mariadbd --datadir="$datadir" --skip-networking --skip-name-resolve --socket=/run/mysqld/mysqld.sock &
  pid=$!
  i=0
  until mariadb-admin --socket=/run/mysqld/mysqld.sock -uroot ping --silent >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 60 ] || { echo "entrypoint: the initialising server did not answer" >&2; exit 1; }
    kill -0 "$pid" 2>/dev/null || { echo "entrypoint: the initialising server stopped" >&2; exit 1; }
    sleep 1
  done
  {
    # mariadb-install-db also made root@127.0.0.1, root@::1 and root@<hostname> without a password.
    sql "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';"
    sql "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname, '\\'');"
    sql "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$root_password");"
    sql "CREATE USER 'root'@'%' IDENTIFIED BY $(sql_string "$root_password");"
    sql "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "$database" ]; then
      sql "CREATE DATABASE IF NOT EXISTS $(sql_name "$database");"
    fi
    if [ -n "$user" ]; then
      sql "CREATE USER $(sql_string "$user")@'%' IDENTIFIED BY $(sql_string "$password");"
      [ -z "$database" ] || sql "GRANT ALL ON $(sql_name "$database").* TO $(sql_string "$user")@'%';"
    fi
    # For healthcheck.sh: no password, no privilege, only from inside the container.
    sql "CREATE USER 'healthcheck'@'127.0.0.1', 'healthcheck'@'::1', 'healthcheck'@'localhost';"
    sql "FLUSH PRIVILEGES;"
  } | mariadb --socket=/run/mysqld/mysqld.sock -uroot
  mariadb-admin --socket=/run/mysqld/mysqld.sock -uroot -p"$root_password" shutdown
  wait "$pid" || true
  rm -f "$datadir/.initialising"
  echo "entrypoint: initialised"
fi

exec mariadbd --datadir="$datadir" --bind-address=0.0.0.0 --port=3306 --skip-name-resolve "$@"
