#!/bin/sh
# Healthcheck of the fixture image cchost-fixture/mariadb: healthy once the server answers on TCP
# port 3306 (not while the entrypoint initialises it on the socket only). It logs in as the user
# healthcheck, which the entrypoint creates without a password or any privilege, reachable only from
# inside the container (a refused login would still count as alive, but fill the server's log).
exec mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -u healthcheck --skip-password --connect-timeout=3 ping --silent
