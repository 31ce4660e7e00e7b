#!/usr/bin/env bash
# Walks the whole hand-off against a real RT through REST 2.0 with curl and captures every webhook
# delivery as a fixture. Re-creates captured/ from scratch:
#   captured/<n>-<event>.json    one delivery each: {method, path, headers, body (raw string)}
#   captured/rest-transcript.md  every REST call: auth, body, status, Location, response
#
#   capture.sh [--rt-port 8765] [--hook-port 9911] [--state /tmp/rt-capture-state]
# Wipes the state dir, starts RT (rt.sh start) and receiver.mjs, stops both at the end.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RT_PORT=8765 HOOK_PORT=9911 STATE=/tmp/rt-capture-state
while [ $# -gt 0 ]; do
  case "$1" in
    --rt-port) RT_PORT=$2; shift 2 ;;
    --hook-port) HOOK_PORT=$2; shift 2 ;;
    --state) STATE=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
SECRET='e2e-webhook-secret-0123456789'
OUT="$HERE/captured"
DELIV="$(mktemp -d)"
TRANSCRIPT="$(mktemp)"

"$HERE/rt.sh" stop --state "$STATE" >/dev/null 2>&1 || true
rm -rf "$STATE"
node "$HERE/receiver.mjs" "$HOOK_PORT" "$DELIV" >"$DELIV.log" 2>&1 &
RECEIVER=$!
cleanup() {
  "$HERE/rt.sh" stop --state "$STATE" >&2 || true
  kill "$RECEIVER" 2>/dev/null || true
  rm -rf "$DELIV" "$DELIV.log" "$TRANSCRIPT"
}
trap cleanup EXIT
for _ in $(seq 1 50); do grep -q listening "$DELIV.log" 2>/dev/null && break; sleep 0.1; done

INFO=$("$HERE/rt.sh" start --port "$RT_PORT" --hook "http://127.0.0.1:$HOOK_PORT/hook" --secret "$SECRET" --state "$STATE")
echo "rt.sh start printed: $INFO" >&2
json() { node -e 'const o=JSON.parse(process.argv[1]); console.log(o[process.argv[2]])' "$INFO" "$1"; }
URL=$(json url) API=$(json apiToken) AGENT=$(json agentToken)
B="$URL/REST/2.0"

# call LABEL AUTH-DESCRIPTION METHOD PATH [JSON-BODY] -- curl auth args...
# Sets $STATUS, $LOCATION, $BODY; appends to the transcript.
call() {
  local label=$1 authdesc=$2 method=$3 path=$4 data=${5-} hdr resp
  shift 5; if [ "${1-}" = -- ]; then shift; fi
  hdr=$(mktemp); resp=$(mktemp)
  local args=(-s -X "$method" -D "$hdr" -o "$resp" -w '%{http_code} %{time_total}\n' "$@")
  if [ -n "$data" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$data"); fi
  read -r STATUS TIME < <(curl "${args[@]}" "$B$path")
  LOCATION=$(sed -n 's/^Location: *\(.*\)\r$/\1/Ip' "$hdr")
  BODY=$(cat "$resp")
  {
    printf '### %s\n\n' "$label"
    printf '`%s %s` (auth: %s)\n\n' "$method" "/REST/2.0$path" "$authdesc"
    if [ -n "$data" ]; then printf 'Request body:\n```json\n%s\n```\n' "$data"; fi
    printf 'Response: **%s** (%.0f ms)%s\n```json\n%s\n```\n\n' "$STATUS" "$(awk -v t="$TIME" 'BEGIN{print t*1000}')" \
      "${LOCATION:+, Location: \`$LOCATION\`}" "$BODY"
  } >>"$TRANSCRIPT"
  rm -f "$hdr" "$resp"
  echo "$label -> $STATUS ${LOCATION:-}" >&2
}
TOK_API=(-H "Authorization: token $API")
TOK_AGENT=(-H "Authorization: token $AGENT")

# ---- Conversation 1: full hand-off -------------------------------------------------------------
call "1. API user creates the end user (with a password)" "token botpress" POST /user \
  '{"Name":"bp-user-0001","EmailAddress":"bp-user-0001@users.botpress.invalid","RealName":"Erin Enduser","Password":"pw-7f3a9c2e51d4"}' -- "${TOK_API[@]}"
call "1b. API user reads the end user (numeric id)" "token botpress" GET /user/bp-user-0001 "" -- "${TOK_API[@]}"
call "1c. Creating the same user again" "token botpress" POST /user \
  '{"Name":"bp-user-0001","EmailAddress":"bp-user-0001@users.botpress.invalid","RealName":"Erin Enduser","Password":"pw-other"}' -- "${TOK_API[@]}"
call "1d. API user (re)sets the password of an existing end user" "token botpress" PUT /user/bp-user-0001 \
  '{"Password":"pw-7f3a9c2e51d4"}' -- "${TOK_API[@]}"
EU1=(-u 'bp-user-0001:pw-7f3a9c2e51d4')
call "1e. End user checks her credentials" "basic bp-user-0001" GET /rt "" -- "${EU1[@]}"

call "2. API user creates the ticket, end user as Requestor" "token botpress" POST /ticket \
  '{"Queue":"General","Requestor":"bp-user-0001","Subject":"Botpress hand-off: Erin Enduser","Content":"Conversation transcript:\nUser: My order #123 never arrived.\nBot: Let me hand you over to a human agent.","ContentType":"text/plain"}' -- "${TOK_API[@]}"
T1=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$BODY")

call "3a. End user corresponds (Basic auth as herself)" "basic bp-user-0001" POST "/ticket/$T1/correspond" \
  '{"Content":"Hello? Is anybody there?","ContentType":"text/plain"}' -- "${EU1[@]}"
call "3b. End user corresponds again (multi-line)" "basic bp-user-0001" POST "/ticket/$T1/correspond" \
  '{"Content":"Order #123, placed on Monday.\nTracking says it was delivered.","ContentType":"text/plain"}' -- "${EU1[@]}"
TXN_LOCATION=$LOCATION
call "3c. End user reads her own ticket (requestor right ShowTicket)" "basic bp-user-0001" GET "/ticket/$T1" "" -- "${EU1[@]}"
call "3d. The transaction behind the Location header" "token botpress" GET "${TXN_LOCATION#/REST/2.0}" "" -- "${TOK_API[@]}"

call "4a. agent1 takes the ticket (Owner = self)" "token agent1" PUT "/ticket/$T1" '{"Owner":"agent1"}' -- "${TOK_AGENT[@]}"
call "4b. agent1 corresponds" "token agent1" POST "/ticket/$T1/correspond" \
  '{"Content":"Hi Erin, this is Alice. I am checking with the carrier.\nOne moment please.","ContentType":"text/plain"}' -- "${TOK_AGENT[@]}"
call "4c. agent1 adds an internal comment" "token agent1" POST "/ticket/$T1/comment" \
  '{"Content":"Internal: carrier case CX-991.","ContentType":"text/plain"}' -- "${TOK_AGENT[@]}"
call "4d. agent1 resolves" "token agent1" PUT "/ticket/$T1" '{"Status":"resolved"}' -- "${TOK_AGENT[@]}"
call "4e. End user writes after the resolve (RT re-opens the ticket)" "basic bp-user-0001" POST "/ticket/$T1/correspond" \
  '{"Content":"Thanks, it just arrived!","ContentType":"text/plain"}' -- "${EU1[@]}"
call "4f. History of the ticket" "token botpress" GET "/ticket/$T1/history?fields=Type,Field,OldValue,NewValue,Creator&per_page=50" "" -- "${TOK_API[@]}"

# ---- Conversation 2: the integration ends the hand-off (stopHitl) ------------------------------
call "5a. API user creates a second end user" "token botpress" POST /user \
  '{"Name":"bp-user-0002","EmailAddress":"bp-user-0002@users.botpress.invalid","RealName":"Frank Enduser","Password":"pw-0b8d4e6a2c19"}' -- "${TOK_API[@]}"
call "5b. API user creates a ticket (Requestor given by e-mail address)" "token botpress" POST /ticket \
  '{"Queue":"General","Requestor":"bp-user-0002@users.botpress.invalid","Subject":"Botpress hand-off: Frank Enduser","Content":"Conversation transcript:\nUser: I want a refund.","ContentType":"text/plain"}' -- "${TOK_API[@]}"
T2=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$BODY")
EU2=(-u 'bp-user-0002:pw-0b8d4e6a2c19')
call "5c. End user 2 corresponds" "basic bp-user-0002" POST "/ticket/$T2/correspond" \
  '{"Content":"Still waiting for my refund.","ContentType":"text/plain"}' -- "${EU2[@]}"
call "5d. End user 2 may not write on somebody else's ticket" "basic bp-user-0002" POST "/ticket/$T1/correspond" \
  '{"Content":"intruder","ContentType":"text/plain"}' -- "${EU2[@]}"
call "5e. API user resolves the ticket (stopHitl)" "token botpress" PUT "/ticket/$T2" '{"Status":"resolved"}' -- "${TOK_API[@]}"
call "5f. Wrong password" "basic bp-user-0002 with a wrong password" GET "/ticket/$T2" "" -- -u 'bp-user-0002:wrong'

# ---- Files both ways on ticket 1 (last, so the transaction ids above stay those of earlier captures) ----
# REST2 `Attachments` = [{FileName, FileType, FileContent (base64)}] on correspond (RT::REST2::Resource::Message).
PNG='iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='  # 1x1 PNG
PDF=$(printf '%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n%%%%EOF\n' | base64 -w0)
call "6a. End user corresponds with an image" "basic bp-user-0001" POST "/ticket/$T1/correspond" \
  "{\"Content\":\"parcel-label.png\",\"ContentType\":\"text/plain\",\"Attachments\":[{\"FileName\":\"parcel-label.png\",\"FileType\":\"image/png\",\"FileContent\":\"$PNG\"}]}" -- "${EU1[@]}"
call "6b. agent1 corresponds with a file" "token agent1" POST "/ticket/$T1/correspond" \
  "{\"Content\":\"Here is your delivery receipt.\",\"ContentType\":\"text/plain\",\"Attachments\":[{\"FileName\":\"receipt.pdf\",\"FileType\":\"application/pdf\",\"FileContent\":\"$PDF\"}]}" -- "${TOK_AGENT[@]}"
FILE_TXN=${LOCATION##*/}
call "6c. The attachments of agent1's transaction" "token botpress" GET "/transaction/$FILE_TXN/attachments?fields=Filename,ContentType,ContentLength" "" -- "${TOK_API[@]}"
FILE_ID=$(node -e 'console.log(JSON.parse(process.argv[1]).items.find((a) => a.Filename).id)' "$BODY")
call "6d. The file's attachment record (REST2 answers Content in base64)" "token botpress" GET "/attachment/$FILE_ID" "" -- "${TOK_API[@]}"
# Not REST2: RT's web UI serves the bytes themselves, and accepts the API token there (what the mapping re-hosts from).
read -r STATUS CTYPE SIZE < <(curl -s -o /dev/null -w '%{http_code} %{content_type} %{size_download}\n' \
  "${TOK_API[@]}" "$URL/Ticket/Attachment/$FILE_TXN/$FILE_ID/receipt.pdf")
printf '### 6e. The file itself from the web UI, with the API token\n\n`GET /Ticket/Attachment/%s/%s/receipt.pdf` (auth: token botpress)\n\nResponse: **%s**, `%s`, %s bytes (the PDF sent in 6b: %s bytes)\n\n' \
  "$FILE_TXN" "$FILE_ID" "$STATUS" "$CTYPE" "$SIZE" "$(base64 -d <<<"$PDF" | wc -c)" >>"$TRANSCRIPT"
echo "6e. web UI download -> $STATUS $CTYPE $SIZE bytes" >&2

sleep 0.5
rm -rf "$OUT"; mkdir -p "$OUT"
cp "$DELIV"/*.json "$OUT"/
{
  echo "# REST 2.0 transcript (generated by capture.sh)"
  echo
  echo "RT: \`$URL\`; tokens: botpress \`$API\`, agent1 \`$AGENT\` (throw-away instance)."
  echo
  cat "$TRANSCRIPT"
} >"$OUT/rest-transcript.md"
cat >"$OUT/README.md" <<EOF
# Captured RT webhook deliveries

Generated by \`../capture.sh\` against a real Request Tracker 5.0.3 (Debian packages) started with
\`../rt.sh start --hook http://127.0.0.1:$HOOK_PORT/hook --secret '$SECRET'\`.

- Webhook secret used for every signature here: \`$SECRET\`
- Each \`<n>-<event>.json\` is one delivery as received: \`{ "method", "path", "headers", "body" }\`,
  \`body\` being the raw request body string; header names are lower-cased by Node.
- Signature: \`x-rt-signature = "sha256=" + hex(HMAC-SHA256(secret, x-rt-timestamp + "." + body))\`;
  \`node ../verify-signature.mjs '$SECRET' *.json\` re-checks them all.
- \`rest-transcript.md\`: every REST call of the run (auth, request body, status, Location, response).
EOF
node "$HERE/verify-signature.mjs" "$SECRET" "$OUT"/*-*.json >&2
echo "captured $(ls "$OUT"/*-*.json | wc -l) deliveries into $OUT" >&2
