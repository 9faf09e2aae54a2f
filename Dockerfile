# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies, then drop them.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# The build checks src/rpc/schema-types.ts against the schemas (scripts/schema-types.ts).
COPY schemas ./schemas
COPY scripts/schema-types.ts ./scripts/
# `npm ci` runs the "prepare" script, which compiles src/ into dist/.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --ignore-scripts

# Runtime stage: compiled code, production dependencies, schemas; no compiler, no root.
FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8000
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY schemas ./schemas
COPY web ./web
USER node
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Set MONGODB_URI: the image has no local database (and no Python to install one).
CMD ["node", "dist/main.js"]
