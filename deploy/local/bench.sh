#!/usr/bin/env bash
# make bench (and QUICK=1: make bench-quick): measures a fresh local cluster against the
# ceilings of this machine and writes the tables of docs/performance.md.
#
# 1. Go benchmarks of the hot functions (before any cluster runs).
# 2. A fresh cluster (deploy/local/run.sh: 3 meta, 1 target with 1 mountpath, 1 gateway) and
#    'ais-bench matrix': sizes 4 KiB, 1 MiB, 16 MiB; PUT then GET; native redirect, native
#    through the gateway, S3; the disk and HTTP ceilings on the mountpath's file system.
# 3. The scale-out curve: fresh clusters of 1, 2 and 4 targets whose mountpaths are capped at
#    CAP MiB/s each ('ais-target --test-mountpath-mibps').
# 4. The rebalance throughput: a third target joins two that hold REB_COUNT 1 MiB objects;
#    'ais-bench rebalance' reports what the jobs moved and how fast.
# 5. Data protection: 'ais-bench protect' on 5 targets x 2 mountpaths: PUT and GET of a plain, a
#    mirrored and two erasure-coded buckets; GET of the EC buckets again with a target killed.
#    Then the PUTs again on a cluster whose mountpaths are capped at CAP MiB/s, where the disks
#    rather than the CPU set the limit.
# 6. 'ais-bench report' into docs/performance.md.
#
# Environment: BIN (binaries), QUICK=1, CAP (MiB/s per mountpath, default 24), DOC (the file to
# update), BENCH_PORT_BASE and BENCH_GW_PORT (ports of the bench's clusters, default 29080 and
# 29000, away from 'make run'), KEEP=1 keeps the work directory, COMMIT names what is measured
# (default: git describe --dirty).
set -euo pipefail

BIN=${BIN:-$(pwd)/bin}
QUICK=${QUICK:-0}
CAP=${CAP:-24}
DOC=${DOC:-docs/performance.md}
PORT_BASE=${BENCH_PORT_BASE:-29080}
GW_PORT=${BENCH_GW_PORT:-29000}
ENDPOINT="http://127.0.0.1:$GW_PORT"

if [ "$QUICK" = 1 ]; then
	DUR=1s ROUNDS=1 SCALE_DUR=1500ms SCALE_WORKERS=8 GOBENCHTIME=50ms REB_COUNT=200 PROT_SIZES=1MiB PROT_DUR=1s PROT_CAP_DUR=3s
else
	# The protection runs are single runs without fsync: 3 s, so that the plain PUT they are
	# measured against is not just the page cache taking the first 2 GiB.
	DUR=2s ROUNDS=4 SCALE_DUR=5s SCALE_WORKERS=16 GOBENCHTIME=1s REB_COUNT=1500 PROT_SIZES=1MiB,16MiB PROT_DUR=3s PROT_CAP_DUR=6s
fi

WORK=$(mktemp -d /tmp/ais-bench.XXXXXX)
cluster_pid=""
started=$(date +%s)

cluster_dir=""
stop_cluster() {
	if [ -n "$cluster_pid" ]; then
		kill -TERM "$cluster_pid" 2>/dev/null || true
		wait "$cluster_pid" 2>/dev/null || true
		cluster_pid=""
	fi
	# The objects go; the logs stay (with KEEP=1, or after a failure).
	if [ -n "$cluster_dir" ]; then
		rm -rf "$cluster_dir/target"
		cluster_dir=""
	fi
}
finish() {
	local rc=$?
	stop_cluster
	if [ $rc -ne 0 ] || [ "${KEEP:-0}" = 1 ]; then
		echo "bench: work directory (logs, results) kept in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap finish EXIT
trap "exit 1" INT TERM

for port in $GW_PORT $PORT_BASE $((PORT_BASE + 1)) $((PORT_BASE + 2)) $((PORT_BASE + 220)); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "bench: port $port is in use; set BENCH_PORT_BASE and BENCH_GW_PORT to free ones" >&2
		exit 1
	fi
done

load=$(cut -d' ' -f1 /proc/loadavg)
echo "bench: load average $load on $(nproc) cores before the run (other work on the machine skews every figure)"

# start_cluster NAME TARGETS [VAR=VALUE...]: a fresh cluster in $WORK/NAME, in the background.
start_cluster() {
	local name=$1 targets=$2
	shift 2
	env DIR="$WORK/$name" TARGETS="$targets" MOUNTPATHS=1 GATEWAYS=1 PORT_BASE="$PORT_BASE" \
		GW_PORT="$GW_PORT" BIN="$BIN" "$@" deploy/local/run.sh >"$WORK/$name.out" 2>&1 &
	cluster_pid=$!
	cluster_dir="$WORK/$name"
	for _ in $(seq 1 300); do
		[ -f "$WORK/$name/cluster.env" ] && break
		if ! kill -0 "$cluster_pid" 2>/dev/null; then
			cat "$WORK/$name.out" >&2
			echo "bench: the cluster did not start; logs in $WORK/$name/logs" >&2
			exit 1
		fi
		sleep 0.2
	done
	"$BIN/ais-bench" wait-cluster -e "$ENDPOINT" --targets "$targets"
}

echo "bench: Go benchmarks of the hot functions"
go test -run '^$' -bench 'Owner|Mountpath|ValidateObjectName|Hash|ObjMeta|SignerVerify' -benchmem \
	-benchtime "$GOBENCHTIME" ./meta ./codec ./target ./api >"$WORK/gobench.txt"

echo "bench: matrix (1 target x 1 mountpath)"
start_cluster main 1
s3=(--s3-note "the gateway could not make an S3 access key (no S3 API in this build?)")
meta_url=$(sed -n 's/^AIS_META=//p' "$WORK/main/cluster.env" | cut -d, -f1)
if key=$("$BIN/ais-bench" s3-key --meta "$meta_url" 2>"$WORK/s3-key.err"); then
	s3=(--s3 --access-key "${key%% *}" --secret-key "${key#* }")
else
	s3=(--s3-note "no S3 access key from meta: $(head -c 200 "$WORK/s3-key.err" | tr '\n' ' ')")
fi
"$BIN/ais-bench" matrix -e "$ENDPOINT" --ceiling-dir "$WORK/main/ceiling" --duration "$DUR" \
	--rounds "$ROUNDS" --out "$WORK/matrix.json" --cluster "3 meta, 1 target with 1 mountpath, 1 gateway" \
	--commit "${COMMIT:-$(git describe --always --dirty 2>/dev/null || echo unknown)}" "${s3[@]}"
stop_cluster

scale=()
for n in 1 2 4; do
	echo "bench: scale-out, $n target(s), mountpaths capped at $CAP MiB/s"
	start_cluster "scale$n" "$n" AIS_TEST_MOUNTPATH_MIBPS="$CAP"
	"$BIN/ais-bench" scale -e "$ENDPOINT" --cap "$CAP" --duration "$SCALE_DUR" --workers "$SCALE_WORKERS" \
		--out "$WORK/scale-$n.json"
	stop_cluster
	scale+=(--scale "$WORK/scale-$n.json")
done

echo "bench: rebalance, a third target joins two that hold $REB_COUNT x 1 MiB"
start_cluster reb 2
"$BIN/ais-bench" put -e "$ENDPOINT" --bucket bench-reb --size 1MiB --count "$REB_COUNT" --workers 8 >/dev/null
sync
meta_urls=$(sed -n 's/^AIS_META=//p' "$WORK/reb/cluster.env")
mkdir -p "$WORK/reb/target/t2/mp0"
since=$(date +%s%N)
"$BIN/ais-target" --id t2 --meta "$meta_urls" --public "127.0.0.1:$((PORT_BASE + 222))" \
	--control "127.0.0.1:$((PORT_BASE + 322))" --data "127.0.0.1:$((PORT_BASE + 422))" \
	--mountpath "$WORK/reb/target/t2/mp0" --no-leave-on-stop >"$WORK/reb/logs/target-t2.log" 2>&1 &
t2_pid=$!
"$BIN/ais-bench" rebalance -e "$ENDPOINT" --since "$since" --before 2 --after 3 --size 1MiB --fsync \
	--out "$WORK/rebalance.json"
kill -TERM "$t2_pid" 2>/dev/null || true
wait "$t2_pid" 2>/dev/null || true
stop_cluster

echo "bench: data protection, 5 targets x 2 mountpaths: plain, 2 mirror copies, EC 2+1 with and without a full copy"
start_cluster prot 5 MOUNTPATHS=2
victim=$(pgrep -f "ais-target --id t1 .*$WORK/prot/" | head -1)
"$BIN/ais-bench" protect -e "$ENDPOINT" --sizes "$PROT_SIZES" --duration "$PROT_DUR" --victim "${victim:-0}" --out "$WORK/protect.json" \
	--cluster "3 meta, 5 targets with 2 mountpaths each, 1 gateway"
stop_cluster

echo "bench: data protection PUTs again, mountpaths capped at $CAP MiB/s (the disks set the limit)"
start_cluster protcap 5 MOUNTPATHS=2 AIS_TEST_MOUNTPATH_MIBPS="$CAP"
"$BIN/ais-bench" protect -e "$ENDPOINT" --sizes "$PROT_SIZES" --duration "$PROT_CAP_DUR" --puts-only --cap "$CAP" \
	--out "$WORK/protect-capped.json" --cluster "3 meta, 5 targets with 2 mountpaths each, 1 gateway"
stop_cluster

"$BIN/ais-bench" report --matrix "$WORK/matrix.json" "${scale[@]}" --gobench "$WORK/gobench.txt" \
	--rebalance "$WORK/rebalance.json" --protect "$WORK/protect.json" --protect "$WORK/protect-capped.json" --doc "$DOC"
echo "bench: wrote $DOC in $(($(date +%s) - started)) s"
