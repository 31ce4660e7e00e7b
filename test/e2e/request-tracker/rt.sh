#!/usr/bin/env bash
# A real, configured Request Tracker 5 (Debian packages, SQLite, standalone server on 127.0.0.1)
# for the universal-hitl e2e tests. See README.md beside this file.
#
#   rt.sh install
#   rt.sh start  --port PORT --hook URL --secret SECRET --state DIR
#   rt.sh stop   --state DIR
#   rt.sh status --state DIR
#
# `start` prints ONE line of JSON on stdout; everything else goes to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RT_SERVER=/usr/share/request-tracker5/libexec/rt-server
RT_SETUP_DB=/usr/sbin/rt-setup-database-5
PKGS=(request-tracker5 rt5-db-sqlite rt5-standalone rt5-clients dbconfig-no-thanks dma w3m curl sqlite3)
T0=$EPOCHREALTIME

log() { printf '[rt.sh %5.1fs] %s\n' "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$*" >&2; }
die() { printf '[rt.sh] error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# ---------------------------------------------------------------------------------------- install
missing_packages() {  # one dpkg-query for all packages
  local installed
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PKGS[@]}" 2>/dev/null || true)
  local p
  for p in "${PKGS[@]}"; do
    grep -qx "$p installed" <<<"$installed" || printf '%s\n' "$p"
  done
}

cmd_install() {
  local missing policy
  mapfile -t missing < <(missing_packages)
  if [ ${#missing[@]} -eq 0 ]; then
    log "RT packages already installed"
    return 0
  fi
  log "installing: ${missing[*]}"
  # No pipe into grep -q under pipefail (SIGPIPE): capture first.
  policy=$(apt-cache policy request-tracker5 2>/dev/null || true)
  if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
    log "no candidate for request-tracker5: apt-get update"
    apt-get update -q >&2
  fi
  debconf-set-selections <<'EOF'
request-tracker5 request-tracker5/rtname string rt.e2e.local
request-tracker5 request-tracker5/organization string e2e.local
request-tracker5 request-tracker5/correspondaddress string rt@e2e.local
request-tracker5 request-tracker5/commentaddress string rt-comment@e2e.local
request-tracker5 request-tracker5/webbaseurl string http://127.0.0.1
request-tracker5 request-tracker5/webpath string /rt
request-tracker5 request-tracker5/handle-siteconfig-permissions boolean true
request-tracker5 request-tracker5/install-cronjobs boolean false
request-tracker5 request-tracker5/dbconfig-install boolean false
dma dma/mailname string e2e.local
dma dma/relayhost string
EOF
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >&2
  mapfile -t missing < <(missing_packages)
  [ ${#missing[@]} -eq 0 ] || die "still missing after apt-get install: ${missing[*]}"
  log "RT packages installed"
}

# ---------------------------------------------------------------------------------------- helpers
PORT="" HOOK="" SECRET="" STATE="" HOOK_SET=0
parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --port)   PORT="${2-}"; shift 2 ;;
      --hook)   HOOK="${2-}"; HOOK_SET=1; shift 2 ;;
      --secret) SECRET="${2-}"; shift 2 ;;
      --state)  STATE="${2-}"; shift 2 ;;
      -h|--help) usage ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  [ -n "$STATE" ] || die "--state DIR is required"
  [ "$SUBCOMMAND" != start ] || mkdir -p "$STATE"
  STATE="$(realpath -m "$STATE")"
  case "$STATE" in *"'"*|*'\'*) die "--state must not contain quotes or backslashes" ;; esac
  PIDFILE="$STATE/rt-server.pid"
  export RT_SITE_CONFIG_DIR="$STATE/siteconfig.d"   # per-state config: /etc is left alone
}

server_pid() {   # prints the pid when the server of this state dir runs
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # guard against pid reuse: it must be our rt-server
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'rt-server' || return 1
  printf '%s\n' "$pid"
}

alive() {  # process exists and is not a zombie
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ "$st" != Z* ]]
}

group_members() {  # live (non-zombie) processes of process group $1, space separated
  ps -e -o pid=,pgid=,stat= 2>/dev/null | awk -v g="$1" '$2 == g && $3 !~ /^Z/ { printf "%s ", $1 }'
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_code() {  # http_code TOKEN URL
  curl -s -o /dev/null --max-time 5 -w '%{http_code}' -H "Authorization: token $1" "$2" 2>/dev/null || true
}

write_siteconfig() {  # writes $RT_SITE_CONFIG_DIR/99-e2e.pm; returns 0 when it changed
  local dir="$RT_SITE_CONFIG_DIR" new
  mkdir -p "$dir"
  new=$(cat <<EOF
# Written by rt.sh: every option RT needs for the universal-hitl e2e instance in $STATE
Set(\$rtname, 'rt.e2e.local');
Set(\$Organization, 'e2e.local');
Set(\$CorrespondAddress, 'rt@e2e.local');
Set(\$CommentAddress, 'rt-comment@e2e.local');
Set(\$Timezone, 'UTC');
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$STATE/rt5.db');
Set(\$WebPath, '');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $PORT);
Set(\$WebBaseURL, 'http://127.0.0.1:$PORT');
Set(\$MailCommand, 'sendmailpipe');
Set(\$SendmailPath, '$STATE/sendmail');
Set(\$LogToSyslog, undef);
Set(\$LogToSTDERR, 'warning');
Set(\$LogToFile, 'info');
Set(\$LogDir, '$STATE');
Set(\$LogToFileNamed, 'rt.log');
Set(\$BcryptCost, 4);
1;
EOF
)
  # Outgoing mail (autoreplies, notifications) is appended to $STATE/outgoing.mbox, never sent.
  if [ ! -x "$STATE/sendmail" ]; then
    printf '#!/bin/sh\n{ echo "From rt@localhost $(date -u)"; cat; echo; } >> "%s/outgoing.mbox"\n' "$STATE" >"$STATE/sendmail"
    chmod 755 "$STATE/sendmail"
  fi
  if [ -f "$dir/99-e2e.pm" ] && [ "$(cat "$dir/99-e2e.pm")" = "$new" ]; then return 1; fi
  printf '%s\n' "$new" >"$dir/99-e2e.pm"
  return 0
}

# ------------------------------------------------------------------------------------------- stop
cmd_stop() {
  parse_args "$@"
  local pid i
  if ! pid=$(server_pid); then
    rm -f "$PIDFILE"
    log "not running ($STATE)"
    return 0
  fi
  log "stopping rt-server pid $pid (process group)"
  # TERM, never INT (Debian's rt-server chowns /var/lib/request-tracker5 on SIGINT).
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  # Starlet's master reaps its workers with a 1 s sleep loop; once only the master is left
  # (workers gone, nothing left to flush) it is killed outright to save that second.
  local alone=0 members
  for i in $(seq 1 200); do
    members=$(group_members "$pid")
    [ -n "$members" ] || break
    if [ "$members" = "$pid " ]; then
      alone=$((alone + 1))
      [ "$alone" -lt 4 ] || kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.05
  done
  if [ -n "$(group_members "$pid")" ]; then
    log "still alive after 10 s: SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$PIDFILE"
  log "stopped"
}

# ----------------------------------------------------------------------------------------- status
cmd_status() {
  parse_args "$@"
  local pid port
  port=$(cat "$STATE/port" 2>/dev/null || echo "")
  if pid=$(server_pid); then
    printf '{"running":true,"pid":%s,"url":"http://127.0.0.1:%s"}\n' "$pid" "$port"
  else
    printf '{"running":false}\n'
    return 3
  fi
}

# ------------------------------------------------------------------------------------------ start
run_setup() {
  local out
  log "rights, users, tokens, webhook scrip (setup.pl)"
  out=$(perl "$HERE/setup.pl" --state "$STATE" --hook "$HOOK" --secret "$SECRET") \
    || die "setup.pl failed (see $STATE/rt.log)"
  printf '%s\n' "$out" | tail -n 1 >"$STATE/tokens.json"
  printf '%s\n' "$SETUP_STAMP" >"$STATE/setup.stamp"
}

cmd_start() {
  parse_args "$@"
  [[ "$PORT" =~ ^[0-9]+$ ]] || die "--port PORT is required"
  [ "$HOOK_SET" = 1 ] || die "--hook URL is required (an empty string disables the webhook)"
  cmd_install

  local pid="" changed=0 api_token agent_token url="http://127.0.0.1:$PORT" i code resetup=0
  write_siteconfig && changed=1
  printf '%s\n' "$PORT" >"$STATE/port.next"

  if pid=$(server_pid); then
    if [ "$changed" = 1 ] || [ "$(cat "$STATE/port" 2>/dev/null)" != "$PORT" ]; then
      log "configuration changed: restarting"
      cmd_stop --state "$STATE"
      pid=""
    else
      log "already running (pid $pid), reusing it"
    fi
  fi
  mv "$STATE/port.next" "$STATE/port"
  if [ -z "$pid" ] && port_in_use "$PORT"; then
    die "port $PORT on 127.0.0.1 is already in use"
  fi

  # Database: initialise once (BcryptCost 4 is already in the config).
  if [ ! -f "$STATE/.db-initialised" ] || [ ! -s "$STATE/rt5.db" ]; then
    [ -z "$pid" ] || { cmd_stop --state "$STATE"; pid=""; }
    log "initialising SQLite database $STATE/rt5.db"
    rm -f "$STATE/rt5.db" "$STATE/token-"* "$STATE/tokens.json" "$STATE/setup.stamp"
    install -m 600 /dev/null "$STATE/admin-pw"
    echo password >"$STATE/admin-pw"
    "$RT_SETUP_DB" --action init --root-password-file "$STATE/admin-pw" >"$STATE/setup-database.log" 2>&1 \
      || { tail -n 20 "$STATE/setup-database.log" >&2; die "rt-setup-database-5 failed"; }
    touch "$STATE/.db-initialised"
  fi

  # Rights/users/tokens/scrip: only when the inputs changed (hook, secret, our scripts).
  SETUP_STAMP=$(cat "$HERE/setup.pl" "$HERE/webhook-condition.pl" "$HERE/webhook-commit.pl" \
                  <(printf '%s\n%s\n' "$HOOK" "$SECRET") | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$STATE/setup.stamp" 2>/dev/null)" != "$SETUP_STAMP" ] || [ ! -s "$STATE/tokens.json" ]; then
    run_setup
  else
    log "rights, users, tokens and scrip up to date"
  fi

  if [ -z "$pid" ]; then
    log "starting rt-server on 127.0.0.1:$PORT"
    (
      cd "$STATE"
      exec perl -MPOSIX -e 'POSIX::setsid(); exec {$ARGV[0]} @ARGV' \
        "$RT_SERVER" --server Starlet --host 127.0.0.1 --port "$PORT" \
        --max-workers 4 --access-log "$STATE/access.log" </dev/null >>"$STATE/server.log" 2>&1
    ) &
    pid=$!
    printf '%s\n' "$pid" >"$PIDFILE"
  fi

  api_token=$(sed -n 's/.*"apiToken":"\([^"]*\)".*/\1/p' "$STATE/tokens.json")
  agent_token=$(sed -n 's/.*"agentToken":"\([^"]*\)".*/\1/p' "$STATE/tokens.json")
  for i in $(seq 1 1200); do
    code=$(http_code "$api_token" "$url/REST/2.0/rt")
    [ "$code" = 200 ] && break
    if [ "$code" = 401 ] && [ "$resetup" = 0 ]; then   # stored token no longer valid (DB touched by hand?)
      resetup=1
      log "token refused: re-running setup"
      run_setup
      api_token=$(sed -n 's/.*"apiToken":"\([^"]*\)".*/\1/p' "$STATE/tokens.json")
      agent_token=$(sed -n 's/.*"agentToken":"\([^"]*\)".*/\1/p' "$STATE/tokens.json")
      continue
    fi
    if ! alive "$pid"; then
      tail -n 30 "$STATE/server.log" >&2 || true
      rm -f "$PIDFILE"
      die "rt-server exited during startup"
    fi
    sleep 0.1
  done
  [ "$code" = 200 ] || { tail -n 30 "$STATE/server.log" >&2; die "RT did not answer REST 2.0 within 120 s"; }
  code=$(http_code "$agent_token" "$url/REST/2.0/rt")
  if [ "$code" != 200 ]; then
    log "agent token refused ($code): re-running setup"
    run_setup
    api_token=$(sed -n 's/.*"apiToken":"\([^"]*\)".*/\1/p' "$STATE/tokens.json")
    agent_token=$(sed -n 's/.*"agentToken":"\([^"]*\)".*/\1/p' "$STATE/tokens.json")
  fi
  log "RT ready at $url (pid $pid)"
  printf '{"url":"%s","apiToken":"%s","agentToken":"%s","agentUser":"agent1","queue":"General","pid":%s}\n' \
    "$url" "$api_token" "$agent_token" "$pid"
}

# ------------------------------------------------------------------------------------------- main
[ $# -ge 1 ] || usage
SUBCOMMAND="$1"; shift
case "$SUBCOMMAND" in
  install) cmd_install ;;
  start)   cmd_start "$@" ;;
  stop)    cmd_stop "$@" ;;
  status)  cmd_status "$@" ;;
  -h|--help|help) usage ;;
  *) die "unknown subcommand: $SUBCOMMAND" ;;
esac
