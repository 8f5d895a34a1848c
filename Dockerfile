# bosun's container image: bosun on Node.js 20 with helm, kustomize and kubectl beside it.
#
# Stage 1 compiles bosun. Stage 2 is a Go builder that builds helm, kustomize and kubectl from the Go
# module proxy with bosun's own builder (`bosun sandbox binaries`, the code the sandbox uses), so the
# image carries exactly the versions pinned in src/sandbox/binaries/catalog.ts. Stage 3 is the runtime.
#
# The image runs the daemon, `bosun run`. Its flags come from the container's arguments or from the
# environment (BOSUN_REPO, BOSUN_REF, BOSUN_STATE…, see docs/deploy.md), so
#   docker run -e BOSUN_REPO=https://… -e BOSUN_LISTEN=0.0.0.0:8080 -p 8080:8080 bosun
# starts it; `docker run bosun plan …` (any other command) replaces the default. It runs as `node`
# (uid 1000), with nothing to write but /tmp and BOSUN_CACHE_DIR, so a read-only root filesystem works.

FROM node:20-bookworm-slim AS bosun
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM golang:1.26-bookworm AS tools
COPY --from=bosun /usr/local/bin/node /usr/local/bin/node
COPY --from=bosun /src /src
ENV BOSUN_CACHE_DIR=/cache CGO_ENABLED=0
RUN node /src/dist/cli/main.js sandbox binaries helm kustomize kubectl \
 && mkdir -p /out \
 && cp /cache/bin/helm-v* /out/helm \
 && cp /cache/bin/kustomize-v* /out/kustomize \
 && cp /cache/bin/kubectl-v* /out/kubectl

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
COPY --from=tools /out/ /usr/local/bin/
COPY --from=bosun /src/package.json /opt/bosun/package.json
COPY --from=bosun /src/node_modules /opt/bosun/node_modules
COPY --from=bosun /src/dist /opt/bosun/dist
COPY schemas /opt/bosun/schemas
RUN ln -s /opt/bosun/dist/cli/main.js /usr/local/bin/bosun && chmod +x /opt/bosun/dist/cli/main.js
ENV BOSUN_HELM=/usr/local/bin/helm BOSUN_CACHE_DIR=/var/cache/bosun
RUN mkdir -p /var/cache/bosun && chown node:node /var/cache/bosun
USER node
WORKDIR /work
ENTRYPOINT ["bosun"]
CMD ["run"]
