#!/usr/bin/env bash
# Update the running Haven stack to the code of this checkout (run it after `git pull`).
#
#   1. build the new image (the previous one is kept as haven:previous, for rollback);
#   2. apply migrations (the one-shot "migrate" service);
#   3. recreate only the haven container (a few seconds of downtime; clients reconnect);
#   4. wait until Docker reports the container healthy (its HEALTHCHECK: /health/ready);
#   5. if it never does: roll back to the previous image and fail;
#   6. recreate the maintenance worker on the new image, and prune dangling images.
#
# Port 8080 is not published, so the health of the new container is read from Docker
# (docker inspect), not from the host.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
COMPOSE_FILE="${HAVEN_COMPOSE_FILE:-$ROOT/deploy/docker-compose.prod.yml}"
ENV_FILE="${HAVEN_ENV_FILE:-$ROOT/.env.production}"
IMAGE="haven:latest"
PREVIOUS="haven:previous"
FAILED="haven:failed"
TIMEOUT="${HAVEN_HEALTH_TIMEOUT:-120}"
POLL="${HAVEN_HEALTH_POLL:-2}"

usage() {
	cat <<EOF
Usage: deploy/deploy.sh [--timeout SECONDS] [--help]

Builds the Haven image from this checkout, runs the migrations, recreates the haven
container and waits until Docker reports it healthy. If it does not become healthy
within the timeout (default ${TIMEOUT}s), the previous image is put back and the
script exits non-zero.

Files: ${COMPOSE_FILE}
       ${ENV_FILE}
Environment: HAVEN_COMPOSE_FILE, HAVEN_ENV_FILE, HAVEN_HEALTH_TIMEOUT, HAVEN_HEALTH_POLL.
EOF
}

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
fail() {
	printf '\nERROR: %s\n' "$*" >&2
	exit 1
}

while [ "$#" -gt 0 ]; do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--timeout)
		[ "$#" -ge 2 ] || fail "--timeout needs a number of seconds"
		TIMEOUT="$2"
		shift 2
		;;
	--timeout=*)
		TIMEOUT="${1#--timeout=}"
		shift
		;;
	*)
		usage >&2
		fail "unknown argument: $1"
		;;
	esac
done
case "$TIMEOUT" in
'' | *[!0-9]*) fail "--timeout must be a whole number of seconds (got '$TIMEOUT')" ;;
esac
case "$POLL" in
'' | 0 | *[!0-9]*) fail "HAVEN_HEALTH_POLL must be a whole number of seconds, at least 1" ;;
esac

compose() {
	docker compose -f "$COMPOSE_FILE" --env-file "$ENV_FILE" "$@"
}

# --- pre-flight -------------------------------------------------------------------------------
command -v docker >/dev/null 2>&1 || fail "docker is not installed or not on PATH"
docker compose version >/dev/null 2>&1 || fail "the Docker Compose plugin is missing (docker compose version)"
[ -f "$COMPOSE_FILE" ] || fail "no Compose file at $COMPOSE_FILE"
if [ ! -f "$ENV_FILE" ]; then
	fail "no $ENV_FILE: create it first (cp .env.production.example .env.production, then fill it in; see docs/deployment.md)"
fi

# Waits for the haven container's Docker health status; returns 0 once healthy, 1 otherwise.
wait_healthy() {
	local container status waited=0
	container="$(compose ps -q haven)"
	if [ -z "$container" ]; then
		info "no haven container is running"
		return 1
	fi
	info "waiting up to ${TIMEOUT}s for container ${container:0:12} to become healthy"
	while :; do
		status="$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$container" 2>/dev/null || echo missing)"
		case "$status" in
		healthy)
			info "healthy after ${waited}s"
			return 0
			;;
		unhealthy | exited | dead | missing)
			info "container is $status"
			return 1
			;;
		esac
		if [ "$waited" -ge "$TIMEOUT" ]; then
			info "still '$status' after ${TIMEOUT}s"
			return 1
		fi
		sleep "$POLL"
		waited=$((waited + POLL))
	done
}

# --- 1. build ---------------------------------------------------------------------------------
step "Building the Haven image"
have_previous=0
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
	docker tag "$IMAGE" "$PREVIOUS"
	have_previous=1
	info "current image kept as $PREVIOUS for rollback"
else
	info "no current image: first deployment, nothing to roll back to"
fi
compose build haven || fail "the image build failed; the running container was not touched"

# --- 2. migrate -------------------------------------------------------------------------------
step "Applying database migrations"
if ! compose run --rm migrate; then
	if [ "$have_previous" = 1 ]; then
		docker tag "$PREVIOUS" "$IMAGE"
	fi
	fail "migrations failed; the running container was not touched (see the output above)"
fi

# --- 3. recreate ------------------------------------------------------------------------------
step "Recreating the haven container"
compose up -d --no-deps --force-recreate haven

# --- 4. health --------------------------------------------------------------------------------
step "Waiting for the health check"
if wait_healthy; then
	step "Recreating the maintenance worker"
	compose up -d --no-deps --force-recreate maintenance || info "could not recreate maintenance (ignored)"
	step "Pruning dangling images"
	docker image prune -f >/dev/null || info "could not prune images (ignored)"
	compose ps
	step "Deployed."
	exit 0
fi

# --- 5. rollback ------------------------------------------------------------------------------
printf '\nThe new container did not become healthy. Its last log lines:\n' >&2
compose logs --no-color --tail 50 haven >&2 || true
if [ "$have_previous" != 1 ]; then
	fail "deployment failed and there is no previous image to roll back to"
fi
step "Rolling back to the previous image"
docker tag "$IMAGE" "$FAILED"
docker tag "$PREVIOUS" "$IMAGE"
info "the failed image is kept as $FAILED for inspection"
compose up -d --no-deps --force-recreate haven
if wait_healthy; then
	fail "deployment failed; rolled back to the previous image, which is healthy again"
fi
printf '\nERROR: the rollback did not become healthy either: Haven is DOWN. Check: %s\n' \
	"docker compose -f $COMPOSE_FILE --env-file $ENV_FILE logs haven" >&2
exit 2
