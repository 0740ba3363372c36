# One image for the three services; docker-compose.yml picks the command per service.
FROM node:20-bookworm-slim
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY config/package.json config/
COPY legacy-api-stub/package.json legacy-api-stub/
COPY auth-service/package.json auth-service/
COPY gateway/package.json gateway/
COPY bench/package.json bench/
COPY web-client/package.json web-client/
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3 esbuild
COPY . .
RUN npm run build --if-present
USER node
EXPOSE 8080
CMD ["node", "--import", "tsx", "gateway/src/server.ts"]
