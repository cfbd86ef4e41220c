# rotor's container image. rotor runs its TypeScript sources through tsx (a runtime dependency),
# so there is no build stage: the image is the sources plus production dependencies, and the
# compiler, linter and test runner (dev dependencies) stay out.
FROM node:20-bookworm-slim

# The lockfile is written by npm 11, whose allowScripts policy (package.json) decides which
# install scripts may run; the npm 10 that ships with this base image would ignore the policy.
ARG NPM_VERSION=11.19.1
RUN npm install --global "npm@${NPM_VERSION}" && npm cache clean --force

# ROTOR_HOME holds the embedded default's data (state database, generated master key) when
# ROTOR_DATABASE_URL is unset: mount a volume there to keep it. Policies are mounted at
# ROTOR_POLICIES, not baked in: the image must not start rotating example secrets.
ENV NODE_ENV=production \
    ROTOR_HOME=/var/lib/rotor \
    ROTOR_POLICIES=/etc/rotor/policies

WORKDIR /app

# Dependencies first, so that a change to the sources does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Owned by root and read-only to the user rotor runs as.
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY rotators ./rotators

RUN mkdir -p /var/lib/rotor /etc/rotor/policies && chown node:node /var/lib/rotor

# The unprivileged user of the base image. PostgreSQL refuses to run as root, so the embedded
# default needs this too.
USER node

ENTRYPOINT ["node", "bin/rotor.js"]
CMD ["start"]
