# Multi-stage build of the one binary; the runtime image is slim and runs as a non-root user.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked -p bma-social && cp target/release/bma-social /bma-social

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home bma
COPY --from=build /bma-social /usr/local/bin/bma-social
USER 10001
ENV APP_ENV=production LOG_FORMAT=json PORT=8000
EXPOSE 8000
# The whole command line is the CMD (no ENTRYPOINT), so a platform's command override such as
# render.yaml's `dockerCommand: bma-social worker` means the same whether it replaces the CMD
# alone or the entrypoint too. Roles: serve | worker | scheduler | migrate | discover |
# create-admin — see `bma-social --help`.
CMD ["bma-social", "serve"]
