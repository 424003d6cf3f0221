# Builds the single mcpgw executable, then ships it alone on a small base image.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/mcpgw --create-home mcpgw
COPY --from=build /src/dist/mcpgw /usr/local/bin/mcpgw
USER mcpgw
WORKDIR /var/lib/mcpgw
ENV MCPGW_DATABASE_URL=sqlite:/var/lib/mcpgw/mcpgw.db
EXPOSE 8080
# Probes: httpGet /healthz (liveness) and /readyz (readiness) — see docs/deployment.md.
ENTRYPOINT ["/usr/local/bin/mcpgw"]
# In a pod, set MCPGW_HOST=0.0.0.0 only if other containers must reach it over the pod IP.
CMD ["serve"]
