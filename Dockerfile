# mcpgw: the single executable, built in one stage and shipped alone on a distroless base.
#
#   docker build -t mcpgw:0.1.0 --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
#   docker run --rm --read-only -p 8080:8080 -v mcpgw-data:/var/lib/mcpgw mcpgw:0.1.0
#
# Base images are named by tag here. For reproducible production builds pin them by digest
# (tags move): --build-arg BUILD_IMAGE=node:22-bookworm-slim@sha256:… --build-arg RUNTIME_IMAGE=…@sha256:…
# Both are Debian 12 (bookworm), so the binary runs against the glibc it was linked with.
ARG BUILD_IMAGE=node:22-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/base-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# swagger-ui-dist depends on @scarf/scarf, whose install script reports the install over the network.
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
# npm brings Bun itself (devDependency `bun`), which compiles the binary.
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY . .
RUN npm run build && ./dist/mcpgw --version
# The data directory, owned by the runtime user (distroless has no shell to create it there).
RUN mkdir -p /out/var/lib/mcpgw

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="mcpgw" \
      org.opencontainers.image.description="Gateway for the Model Context Protocol: authentication, RBAC, rate limits, audit, jobs; also the admin CLI" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# distroless/base: glibc, CA certificates and tzdata, no shell or package manager. The binary
# needs only glibc (Bun is linked in; `ldd dist/mcpgw` lists libc, libm, libpthread, libdl).
COPY --from=build /src/dist/mcpgw /usr/local/bin/mcpgw
COPY --from=build --chown=65532:65532 /out/var/lib/mcpgw /var/lib/mcpgw
# 65532 is distroless's "nonroot". Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
WORKDIR /var/lib/mcpgw
# The only place the gateway writes (SQLite and its -wal/-shm files): the root filesystem can be
# read-only. With PostgreSQL it writes nothing at all.
VOLUME ["/var/lib/mcpgw"]
ENV MCPGW_DATABASE_URL=sqlite:/var/lib/mcpgw/mcpgw.db \
    MCPGW_HOST=0.0.0.0
# 0.0.0.0: a container's loopback is unreachable from outside it (docker run -p, the kubelet's
# probes). In a pod this also exposes the port on the pod IP: restrict it with a NetworkPolicy
# (docs/deployment.md); every /mcp and /v1/jobs request needs a token regardless.
EXPOSE 8080
# No HEALTHCHECK: it would run a command inside the container, and distroless has no curl or
# shell (and a `mcpgw` subcommand for it does not exist). Kubernetes ignores HEALTHCHECK anyway
# and probes /healthz and /readyz over HTTP; under plain Docker, check from outside the container.
# SIGTERM drains in-flight requests for up to MCPGW_SHUTDOWN_TIMEOUT (default 10s), then exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/mcpgw"]
CMD ["serve"]
