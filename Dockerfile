# One image for the three services, as compiled JavaScript (npm run build:services): the
# default command runs the gateway; docker-compose.yml picks the command per service.
#   build      every dependency; builds the web client and the service bundles
#   prod-deps  production dependencies of the service workspaces only, native modules compiled
#   runtime    those two results on a clean image: no TypeScript, no build tools, no npm, not root
#
# Every stage starts from the same pinned image (Node 20.20, Debian bookworm, slim).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# The manifests first, so the install is cached until a dependency changes.
COPY package.json package-lock.json ./
COPY config/package.json config/
COPY legacy-api-stub/package.json legacy-api-stub/
COPY auth-service/package.json auth-service/
COPY gateway/package.json gateway/
COPY bench/package.json bench/
COPY web-client/package.json web-client/
# --ignore-scripts: the root's prepare step builds the web client, whose sources are not copied
# yet. Building needs no native module but esbuild, whose own install step runs here.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild esbuild
COPY . .
RUN npm run build && npm run build:services

FROM ${NODE_IMAGE} AS prod-deps
# better-sqlite3 is compiled from its npm package (checked against package-lock.json), with
# the image's own Node headers, rather than a binary downloaded from elsewhere (npm warns that
# it does not know build-from-source; prebuild-install, which reads it, does).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_build_from_source=true npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
COPY config/package.json config/
COPY legacy-api-stub/package.json legacy-api-stub/
COPY auth-service/package.json auth-service/
COPY gateway/package.json gateway/
COPY bench/package.json bench/
COPY web-client/package.json web-client/
# The services' workspaces only (scripts/build-services.ts, SERVICE_WORKSPACES). --omit=optional
# too: vitest and vite are optional peers of better-auth and would otherwise come along.
# The workspaces themselves are bundled, so their links in node_modules are dropped.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
      -w config -w gateway -w auth-service -w legacy-api-stub \
 && npm rebuild better-sqlite3 \
 && rm -rf node_modules/@todo-gateway

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# npm, npx, corepack and yarn never run here. /data holds the stub's SQLite file: the named
# volume docker-compose.yml mounts there takes this folder's owner, node.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && mkdir /data && chown node:node /data
WORKDIR /app
# Owned by root and read-only to the service: it cannot change its own code.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web-client/dist ./web-client/dist
USER node
EXPOSE 8080
# The gateway's readiness (the default command); docker-compose.yml sets each service's own.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.GATEWAY_PORT||8080)+'/readyz',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
CMD ["node", "dist/services/gateway.mjs"]
