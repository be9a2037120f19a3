#!/bin/sh
# A socket holder, as systemd is for a .socket unit: started by systemd-socket-activate, it
# keeps the listening socket (descriptor 3, LISTEN_FDS/LISTEN_FDNAMES in its environment) open
# and never accepts on it; it runs SLOTS copies of the command given, each with LISTEN_PID set
# to its own pid, and starts a slot's next generation when the previous one exits (Restart=
# always; after RESTART_SEC seconds, as RestartSec=), until the file $HOLDER_DIR/stop exists. The pid of each slot's current process is in
# $HOLDER_DIR/slot-<n>.pid, its generation in slot-<n>.gen.
#   systemd-socket-activate -l SOCKET --fdname=http -E HOLDER_DIR=… -E SLOTS=2 sh socket-holder.sh node app.js
set -u
slot() {
  n=$1
  shift
  generation=0
  while [ ! -e "$HOLDER_DIR/stop" ]; do
    generation=$((generation + 1))
    # `exec` keeps the pid, so LISTEN_PID is the app's own.
    sh -c 'LISTEN_PID=$$ exec "$@"' app "$@" &
    echo "$!" >"$HOLDER_DIR/slot-$n.pid.tmp"
    mv "$HOLDER_DIR/slot-$n.pid.tmp" "$HOLDER_DIR/slot-$n.pid"
    echo "$generation" >"$HOLDER_DIR/slot-$n.gen"
    wait "$!"
    sleep "${RESTART_SEC:-0}"
  done
}
i=1
while [ "$i" -le "${SLOTS:-1}" ]; do
  slot "$i" "$@" &
  i=$((i + 1))
done
wait
