FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY commands ./commands
COPY config ./config
COPY tsconfig.json ./
RUN mkdir -p var && chown node:node var
USER node
ENTRYPOINT ["node", "bin/xenops.js"]
CMD ["--help"]
