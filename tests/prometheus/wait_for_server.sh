# Sourced by the start_*.sh scripts beside it.
#
#   wait_for_server NAME PID LOG DESCRIPTION COMMAND...
#
# Polls COMMAND every 0.1 s for up to 30 s. Fails (exit 1, LOG on stderr) when the server PID
# exits first or the time runs out, killing it in the second case.
wait_for_server() {
  local name=$1 pid=$2 log=$3 what=$4
  shift 4
  local deadline=$((SECONDS + 30))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited before $what; its log:" >&2
      cat "$log" >&2
      exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "$name: $what not within 30 s; its log:" >&2
      cat "$log" >&2
      kill "$pid" 2>/dev/null || true
      exit 1
    fi
    sleep 0.1
  done
}
