#!/usr/bin/env bash
# Starts a local AIS cluster on loopback in the foreground: 3 ais-meta, TARGETS ais-target
# (MOUNTPATHS mountpaths each) and GATEWAYS ais-gw. Ctrl-C (or SIGTERM) stops every process it
# started and keeps the data; running it again finds the data and the same cluster.
set -euo pipefail

BIN=${BIN:-$(pwd)/bin}
DIR=${DIR:-$(pwd)/.run}
TARGETS=${TARGETS:-3}
MOUNTPATHS=${MOUNTPATHS:-2}
GATEWAYS=${GATEWAYS:-1}
META=3
GW_PORT=${GW_PORT:-8080}
# PORT_BASE moves every meta and target port (default 9080: meta HTTP 9080+, Raft 9180+, target
# public 9300+, control 9400+, data 9500+), so that a second cluster can run beside a first.
PORT_BASE=${PORT_BASE:-9080}

mkdir -p "$DIR/logs"
DIR=$(cd "$DIR" && pwd)
pids=()

stop() {
	trap - INT TERM EXIT
	echo
	echo "stopping ${#pids[@]} processes..."
	# Targets and gateways first, while meta still answers: a target tells meta it leaves
	# (for maintenance, until it is back) instead of waiting out its request to a meta that
	# is already gone. Meta (the first $META processes) last.
	local daemons=("${pids[@]:$META}") metas=("${pids[@]:0:$META}")
	for group in daemons metas; do
		local -n g=$group
		for p in "${g[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
		for p in "${g[@]}"; do wait "$p" 2>/dev/null || true; done
	done
	echo "stopped; data kept in $DIR (run 'make run' again to restart it)"
}
trap stop EXIT
trap "exit 0" INT TERM

start() { # name, binary, args...
	local name=$1 bin=$2
	shift 2
	"$BIN/$bin" "$@" >>"$DIR/logs/$name.log" 2>&1 &
	pids+=($!)
}

wait_http() { # url, what
	for _ in $(seq 1 300); do
		if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "error: $2 did not come up at $1; see $DIR/logs/" >&2
	exit 1
}

peers=""
meta_urls=""
for i in $(seq 0 $((META - 1))); do
	peers+="${peers:+,}m$i=127.0.0.1:$((PORT_BASE + 100 + i))@127.0.0.1:$((PORT_BASE + i))"
	meta_urls+="${meta_urls:+,}http://127.0.0.1:$((PORT_BASE + i))"
done
for i in $(seq 0 $((META - 1))); do
	start "meta-m$i" ais-meta --id "m$i" --dir "$DIR/meta/m$i" \
		--http "127.0.0.1:$((PORT_BASE + i))" --raft "127.0.0.1:$((PORT_BASE + 100 + i))" --peers "$peers"
done
wait_http "http://127.0.0.1:$PORT_BASE/v1/health" "ais-meta m0"

for i in $(seq 0 $((TARGETS - 1))); do
	mps=()
	for j in $(seq 0 $((MOUNTPATHS - 1))); do
		mkdir -p "$DIR/target/t$i/mp$j"
		mps+=(--mountpath "$DIR/target/t$i/mp$j")
	done
	start "target-t$i" ais-target --id "t$i" --meta "$meta_urls" \
		--public "127.0.0.1:$((PORT_BASE + 220 + i))" --control "127.0.0.1:$((PORT_BASE + 320 + i))" \
		--data "127.0.0.1:$((PORT_BASE + 420 + i))" "${mps[@]}"
done

gw_urls=""
for i in $(seq 0 $((GATEWAYS - 1))); do
	start "gw-g$i" ais-gw --id "g$i" --meta "$meta_urls" --listen "127.0.0.1:$((GW_PORT + i))"
	gw_urls+="${gw_urls:+,}http://127.0.0.1:$((GW_PORT + i))"
done
for i in $(seq 0 $((GATEWAYS - 1))); do
	wait_http "http://127.0.0.1:$((GW_PORT + i))/v1/health" "ais-gw g$i"
done

ENDPOINT="http://127.0.0.1:$GW_PORT"
cat >"$DIR/cluster.env" <<ENV
AIS_ENDPOINT=$ENDPOINT
AIS_GATEWAYS=$gw_urls
AIS_META=$meta_urls
ENV

# S3 users: two users with one access key each, kept in meta; $DIR/s3.env holds them as
# shell assignments. A restart reuses the keys while meta still has them (docs/s3.md).
s3_key() { # user -> "ID SECRET" of a new access key, made with the CLI through the gateway
	local out
	out=$("$BIN/ais" --endpoint "$ENDPOINT" auth key create "$1" --env) || {
		echo "error: cannot create an S3 access key for $1 (ais auth key create $1)" >&2
		return 1
	}
	echo "$(sed -n 's/^AWS_ACCESS_KEY_ID=//p' <<<"$out") $(sed -n 's/^AWS_SECRET_ACCESS_KEY=//p' <<<"$out")"
}
keys=$("$BIN/ais" --endpoint "$ENDPOINT" auth key ls --json 2>/dev/null || true)
if [ -f "$DIR/s3.env" ] && . "$DIR/s3.env" 2>/dev/null && [ -n "${AWS_ACCESS_KEY_ID:-}" ] &&
	grep -q "\"$AWS_ACCESS_KEY_ID\"" <<<"$keys" && grep -q "\"${ALT_AWS_ACCESS_KEY_ID:-none}\"" <<<"$keys"; then
	: # the keys of the last run are still valid
else
	alice=$(s3_key alice) && bob=$(s3_key bob) || exit 1
	read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY <<<"$alice"
	read -r ALT_AWS_ACCESS_KEY_ID ALT_AWS_SECRET_ACCESS_KEY <<<"$bob"
	(
		umask 077
		cat >"$DIR/s3.env" <<ENV
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
ALT_AWS_ACCESS_KEY_ID=$ALT_AWS_ACCESS_KEY_ID
ALT_AWS_SECRET_ACCESS_KEY=$ALT_AWS_SECRET_ACCESS_KEY
ENV
	)
fi

cat <<MSG

AIS is running: $META meta, $TARGETS targets x $MOUNTPATHS mountpaths, $GATEWAYS gateway(s).
  endpoint:  $ENDPOINT          (native REST API under /v1)
  meta:      $meta_urls
  data+logs: $DIR               (cluster.env holds the addresses)
  S3 API:    $ENDPOINT          (path style; docs/s3.md)
             user alice: AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
                         AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
             both users' keys: $DIR/s3.env

Try it:
  curl -X PUT $ENDPOINT/v1/buckets/demo
  curl -L -X PUT -T README.md $ENDPOINT/v1/objects/demo/readme.md
  curl -L $ENDPOINT/v1/objects/demo/readme.md
  (. $DIR/s3.env && export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY && aws --endpoint-url $ENDPOINT s3 ls)

Ctrl-C stops the cluster and keeps its data.
MSG

# Run until Ctrl-C or SIGTERM (trap above) or until whoever started us (make) goes away, so
# that no daemon outlives the command. A daemon that exits (or is killed, to watch the cluster
# ride it out) is reported once; the others keep serving.
parent=$PPID
declare -A reported=()
while kill -0 "$parent" 2>/dev/null; do
	for p in "${pids[@]}"; do
		if [ -z "${reported[$p]:-}" ] && ! kill -0 "$p" 2>/dev/null; then
			echo "a process exited (pid $p); the others keep running; see $DIR/logs/" >&2
			reported[$p]=1
		fi
	done
	sleep 1 &
	wait $! || true
done
