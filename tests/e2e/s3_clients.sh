#!/usr/bin/env bash
# End-to-end test of the S3 API with real clients: the AWS CLI, s3cmd and rclone (Debian's
# awscli, s3cmd and rclone packages). With each client it creates a bucket, uploads a 50 MiB
# file (multipart) and a directory of 200 small files, lists, downloads and compares, runs
# `rclone check` (no differences allowed), deletes everything and removes the bucket.
#
# Environment: S3_ENDPOINT (http://HOST:PORT of a gateway), AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY; optional CLIENTS (default "awscli s3cmd rclone"), BIG_MIB (50),
# SMALL_FILES (200). tests/integration/s3_clients_test.go starts a cluster and runs this
# script under `make test`; it also runs against `make run`:
#   . .run/s3.env && S3_ENDPOINT=http://127.0.0.1:8080 tests/e2e/s3_clients.sh
set -euo pipefail

: "${S3_ENDPOINT:?set S3_ENDPOINT to a gateway URL}"
: "${AWS_ACCESS_KEY_ID:?}" "${AWS_SECRET_ACCESS_KEY:?}"
CLIENTS=${CLIENTS:-"awscli s3cmd rclone"}
BIG_MIB=${BIG_MIB:-50}
SMALL_FILES=${SMALL_FILES:-200}

# The machine's CA bundle is for real AWS endpoints; these clients talk plain HTTP here.
unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ais-s3-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
HOSTPORT=${S3_ENDPOINT#http://}

# Debian's aws comes first, before any other aws on the PATH.
AWS=/usr/bin/aws
[ -x "$AWS" ] || AWS=$(command -v aws || true)

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { printf '  %-8s %s\n' "$client" "$*"; }

# Test data: a big file and a directory of small ones (some in subdirectories).
mkdir -p "$WORK/src/small/sub"
head -c $((BIG_MIB << 20)) /dev/urandom >"$WORK/src/big.bin"
for i in $(seq 1 "$SMALL_FILES"); do
	d="$WORK/src/small"
	[ $((i % 4)) = 0 ] && d="$WORK/src/small/sub"
	head -c $((RANDOM % 4096 + 1)) /dev/urandom >"$d/file-$i.txt"
done
NSMALL=$(find "$WORK/src/small" -type f | wc -l)

# Client configuration: path style, plain HTTP, us-east-1.
cat >"$WORK/aws.config" <<CFG
[default]
region = us-east-1
s3 =
    addressing_style = path
    multipart_threshold = 8MB
    multipart_chunksize = 8MB
CFG
export AWS_CONFIG_FILE="$WORK/aws.config" AWS_SHARED_CREDENTIALS_FILE=/dev/null
cat >"$WORK/s3cfg" <<CFG
[default]
access_key = $AWS_ACCESS_KEY_ID
secret_key = $AWS_SECRET_ACCESS_KEY
host_base = $HOSTPORT
host_bucket = $HOSTPORT
use_https = False
signature_v2 = False
bucket_location = us-east-1
multipart_chunk_size_mb = 8
check_ssl_certificate = False
CFG
export RCLONE_CONFIG="$WORK/rclone.conf"
cat >"$RCLONE_CONFIG" <<CFG
[ais]
type = s3
provider = Other
access_key_id = $AWS_ACCESS_KEY_ID
secret_access_key = $AWS_SECRET_ACCESS_KEY
endpoint = $S3_ENDPOINT
region = us-east-1
force_path_style = true
upload_cutoff = 8M
chunk_size = 8M
CFG

awscli() { "$AWS" --endpoint-url "$S3_ENDPOINT" --no-cli-pager "$@"; }
s3c() { s3cmd -c "$WORK/s3cfg" --no-progress "$@"; }
rcl() { rclone --config "$RCLONE_CONFIG" --low-level-retries 1 --retries 1 "$@"; }

# compare checks a download against the source.
compare() {
	cmp "$WORK/src/big.bin" "$1/big.bin" || fail "$client: big.bin differs after download"
	diff -r "$WORK/src/small" "$1/small" || fail "$client: small files differ after download"
}

# count_lines LISTING WANT checks how many objects a listing shows.
count() {
	[ "$1" = "$2" ] || fail "$client: listing shows $1 objects, want $2"
}

run_awscli() {
	local b=$1 dst="$WORK/dl-awscli"
	step "mb"; awscli s3 mb "s3://$b" >/dev/null
	step "cp big (multipart)"; awscli s3 cp --only-show-errors "$WORK/src/big.bin" "s3://$b/big.bin"
	step "cp --recursive small"; awscli s3 cp --only-show-errors --recursive "$WORK/src/small" "s3://$b/small"
	step "ls"; count "$(awscli s3 ls --recursive "s3://$b" | wc -l)" $((NSMALL + 1))
	awscli s3api head-object --bucket "$b" --key big.bin | grep -q '"ETag": "\\"[0-9a-f]*-[0-9]*\\""' ||
		fail "awscli: big.bin has no multipart ETag"
	step "download"; awscli s3 cp --only-show-errors --recursive "s3://$b" "$dst"
	compare "$dst"
	step "sync (nothing to do)"; [ -z "$(awscli s3 sync --dryrun "$WORK/src/small" "s3://$b/small")" ] ||
		fail "awscli: sync finds differences after the upload"
	rclone_check "$b"
	step "rm --recursive"; awscli s3 rm --only-show-errors --recursive "s3://$b"
	count "$(awscli s3 ls --recursive "s3://$b" | wc -l)" 0
	step "rb"; awscli s3 rb "s3://$b" >/dev/null
}

run_s3cmd() {
	local b=$1 dst="$WORK/dl-s3cmd"
	step "mb"; s3c mb "s3://$b" >/dev/null
	step "put big (multipart)"; s3c put "$WORK/src/big.bin" "s3://$b/big.bin" >/dev/null
	step "put --recursive small"; s3c put --recursive "$WORK/src/small" "s3://$b/" >/dev/null
	step "ls"; count "$(s3c ls --recursive "s3://$b" | wc -l)" $((NSMALL + 1))
	step "download"; mkdir -p "$dst"; s3c get --recursive "s3://$b/" "$dst/" >/dev/null
	compare "$dst"
	rclone_check "$b"
	step "del --recursive"; s3c del --recursive --force "s3://$b" >/dev/null
	count "$(s3c ls --recursive "s3://$b" | wc -l)" 0
	step "rb"; s3c rb "s3://$b" >/dev/null
}

run_rclone() {
	local b=$1 dst="$WORK/dl-rclone"
	step "mkdir"; rcl mkdir "ais:$b"
	step "copy big (multipart)"; rcl copyto "$WORK/src/big.bin" "ais:$b/big.bin"
	step "copy small"; rcl copy "$WORK/src/small" "ais:$b/small" --transfers 16
	step "ls"; count "$(rcl lsf -R --files-only "ais:$b" | wc -l)" $((NSMALL + 1))
	step "download"; rcl copy "ais:$b" "$dst" --transfers 16
	compare "$dst"
	rclone_check "$b"
	step "purge"; rcl delete "ais:$b"
	count "$(rcl lsf -R --files-only "ais:$b" | wc -l)" 0
	step "rmdir"; rcl rmdir "ais:$b"
}

# rclone_check: the bucket holds exactly the source, by size and hash.
rclone_check() {
	step "rclone check"
	local out
	if ! out=$(rcl check "$WORK/src" "ais:$1" 2>&1); then
		echo "$out" >&2
		fail "$client: rclone check reports differences"
	fi
	echo "$out" | grep -q "0 differences found" || { echo "$out" >&2; fail "$client: rclone check: no '0 differences found'"; }
	return 0
}

command -v rclone >/dev/null || fail "rclone is not installed (apt-get install rclone)"
passed=0
for client in $CLIENTS; do
	case $client in
	awscli) [ -n "$AWS" ] || fail "aws is not installed (apt-get install awscli)" ;;
	s3cmd) command -v s3cmd >/dev/null || fail "s3cmd is not installed (apt-get install s3cmd)" ;;
	rclone) ;;
	*) fail "unknown client $client" ;;
	esac
	echo "$client:"
	start=$(date +%s)
	"run_$client" "e2e-$client-$$-$RANDOM"
	echo "  $client   ok in $(($(date +%s) - start)) s"
	passed=$((passed + 1))
done
echo "s3 clients: $passed passed, 0 failed"
