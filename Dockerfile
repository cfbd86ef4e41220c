# rotor's container image, in two stages: the build stage installs every dependency and compiles
# rotor to dist/ (npm ci runs the `prepare` script, tsc); the image is dist/ plus production
# dependencies, so the compiler, linter and test runner (dev dependencies) and the TypeScript
# sources stay out.
FROM node:20-bookworm-slim AS base

# The lockfile is written by npm 11, whose allowScripts policy (package.json) decides which
# install scripts may run; the npm 10 that ships with this base image would ignore the policy.
ARG NPM_VERSION=11.19.1
RUN npm install --global "npm@${NPM_VERSION}" && npm cache clean --force
WORKDIR /app

FROM base AS build
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY rotators ./rotators
# The embedded demo's consumer app is compiled with rotor (src/embedded/demo-consumer.ts imports it).
COPY examples/consumer-app ./examples/consumer-app
RUN npm ci --no-audit --no-fund

FROM base

# ROTOR_HOME holds the embedded default's data (state database, generated master key) when
# ROTOR_DATABASE_URL is unset: mount a volume there to keep it. Policies are mounted at
# ROTOR_POLICIES, not baked in: the image must not start rotating example secrets.
ENV NODE_ENV=production \
    ROTOR_HOME=/var/lib/rotor \
    ROTOR_POLICIES=/etc/rotor/policies

# Dependencies first, so that a change to the sources does not reinstall them. The `prepare`
# script finds no compiler here and leaves the build to the build stage.
COPY package.json package-lock.json ./
COPY scripts ./scripts
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Owned by root and read-only to the user rotor runs as. No src/: bin/rotor.js runs dist/ as it is.
COPY bin ./bin
COPY --from=build /app/dist ./dist

RUN mkdir -p /var/lib/rotor /etc/rotor/policies && chown node:node /var/lib/rotor

# The unprivileged user of the base image. PostgreSQL refuses to run as root, so the embedded
# default needs this too.
USER node

ENTRYPOINT ["node", "bin/rotor.js"]
CMD ["start"]
