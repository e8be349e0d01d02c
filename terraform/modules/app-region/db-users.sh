# The db-users container of a writer's task: before the migrations and the app start, make sure
# the app's and the migrator's MySQL users exist, require TLS, have the password Secrets Manager
# holds now, and have their privileges: the app SELECT, INSERT, UPDATE and DELETE on the app's
# database, the migrator every privilege on it and nothing else. A changed password is set with
# RETAIN CURRENT PASSWORD, so the tasks still running with the old one keep working until they
# are replaced. Logs in as the master user, whose password RDS manages. Passwords travel in the
# environment and on mysql's stdin, never in an argument. POSIX sh (the mysql image's).
set -eu

sql() {
  MYSQL_PWD="$MASTER_PASSWORD" mysql --host="$DB_HOST" --port="$DB_PORT" --user="$MASTER_USERNAME" \
    --ssl-mode=REQUIRED --batch --skip-column-names
}

if [ "$(printf 'SELECT @@global.read_only;\n' | sql)" = 1 ]; then
  echo "db-users: $DB_HOST is read-only (a replica): its users come from the writer"
  exit 0
fi

# ensure USER PASSWORD PRIVILEGES
ensure() {
  printf "CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s' REQUIRE SSL;\n" "$1" "$2" | sql
  if printf 'SELECT 1;\n' | MYSQL_PWD="$2" mysql --host="$DB_HOST" --port="$DB_PORT" --user="$1" \
    --ssl-mode=REQUIRED --batch --skip-column-names >/dev/null 2>&1; then
    echo "db-users: $1's password is current"
  else
    printf "ALTER USER '%s'@'%%' IDENTIFIED BY '%s' RETAIN CURRENT PASSWORD;\n" "$1" "$2" | sql
    echo "db-users: $1 has the new password; the previous one stays valid for running tasks"
  fi
  printf "GRANT %s ON %s.* TO '%s'@'%%';\n" "$3" "$DB_NAME" "$1" | sql
}

ensure "$APP_DB_USER" "$APP_DB_PASSWORD" "SELECT, INSERT, UPDATE, DELETE"
ensure "$MIGRATOR_DB_USER" "$MIGRATOR_DB_PASSWORD" "ALL PRIVILEGES"
