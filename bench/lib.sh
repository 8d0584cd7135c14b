# Shared by the benchmarks (sourced, not run): process control that tracks every background process by PID and
# stops it on exit, failure or Ctrl-C; port and HTTP checks; the file-descriptor limit. The sourcing script sets ME
# (its name, for messages) and B (the bench directory) before sourcing it.

# new_run NAME LINK: this run's output directory bench/out/NAME-<time> (RUN; data/ inside it), bench/out/LINK
# pointing at it, and RES, its results.txt of key=value lines that rec KEY VALUE appends to
new_run() {
  RUN=$B/out/$1-$(date +%Y%m%d-%H%M%S)
  mkdir -p "$RUN/data"
  ln -sfn "$(basename "$RUN")" "$B/out/$2"
  RES=$RUN/results.txt
  : >"$RES"
}
rec() { echo "$1=$2" >>"$RES"; }
# rec_machine: the date, the machine and the JVM, first lines of every results file
rec_machine() {
  rec date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  rec cores "$(nproc)"
  rec cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  rec mem_mib "$(awk '/^MemTotal:/ {print int($2/1024)}' /proc/meminfo)"
  rec load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
  rec java "$(java -version 2>&1 | head -1)"
}
load1() { cut -d' ' -f1 /proc/loadavg; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# raise_fds N: raises the soft limit of open files to N (or to the hard limit, with a warning)
raise_fds() {
  local need=$1 hard
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
    hard=$(ulimit -Hn)
    if [ "$hard" = unlimited ] || [ "$hard" -ge "$need" ]; then
      ulimit -n "$need"
    else
      ulimit -n "$hard"
      echo "$ME: warning: ulimit -n is only $hard (hard limit); $need wanted" >&2
    fi
  fi
}

# ---- process control: every background process is tracked by PID and stopped on exit ----------------------------
PIDS=()
stop_pid() {
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
  for ((i = 0; i < 100; i++)); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
# forget_pid PID: drops it from the list (it has exited: a recycled PID must never be signalled later)
forget_pid() {
  local keep=() q
  for q in "${PIDS[@]+"${PIDS[@]}"}"; do [ "$q" != "$1" ] && keep+=("$q"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}
stop_bg() {
  stop_pid "$1"
  forget_pid "$1"
}
# run_fg CMD...: runs CMD as a tracked child and waits for it (a signal interrupts `wait`, so Ctrl-C stops it at once)
run_fg() {
  local p rc=0
  "$@" &
  p=$!
  PIDS+=("$p")
  wait "$p" || rc=$?
  forget_pid "$p"
  return $rc
}
# wait_bg PID: waits for a tracked background child to end by itself, then forgets it
wait_bg() {
  local rc=0
  wait "$1" || rc=$?
  forget_pid "$1"
  return $rc
}
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  # newest first: a gateway stops before the etcd or backend it talks to, so it does not log their disappearance
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
  if declare -F on_exit >/dev/null; then on_exit; fi # the sourcing script's own clean-up, if it has one
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_bg NAME CMD...: runs CMD in the background, output to $RUN/NAME.log; sets LAST_PID
start_bg() {
  local name=$1
  shift
  "$@" >"$RUN/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_http URL CODE SECONDS PID: polls until URL answers CODE; fails if PID dies or time runs out
wait_http() {
  local url=$1 code=$2 secs=$3 pid=$4 i got
  for ((i = 0; i < secs * 10; i++)); do
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null || true)
    [ "$got" = "$code" ] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "$ME: process $pid died waiting for $url (see $RUN/*.log)" >&2; return 1; }
    sleep 0.1
  done
  echo "$ME: $url did not answer $code within ${secs}s" >&2
  return 1
}
