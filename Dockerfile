# One image for every process of the app; docker-compose.yml picks the entry point per service.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
# STACK_DIR of docker-compose.yml: a new volume mounted here takes this owner, so `node` can write it.
RUN mkdir -p /stack && chown node:node /stack
USER node
CMD ["node", "--import", "tsx", "api/server.ts"]
