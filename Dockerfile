# syntax=docker/dockerfile:1
# SDMD: a multi-stage build. The runtime image holds the binary (and the dashboard once
# frontend/out exists), runs as an unprivileged user and expects a read-only root filesystem:
# everything it writes goes to /var/lib/sdmd (TLS material, caches) or /tmp.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY host ./host
COPY migrations ./migrations
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p sdmd && cp target/release/sdmd /usr/local/bin/sdmd

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 sdmd \
 && useradd --system --uid 10001 --gid sdmd --home-dir /var/lib/sdmd --shell /usr/sbin/nologin sdmd \
 && install -d -o sdmd -g sdmd -m 0700 /var/lib/sdmd
COPY --from=build /usr/local/bin/sdmd /usr/local/bin/sdmd
ENV SDMD_DATA_DIR=/var/lib/sdmd \
    SDMD_LISTEN=0.0.0.0:8443 \
    SDMD_TLS=auto \
    SDMD_LOG_FORMAT=json
USER 10001:10001
VOLUME ["/var/lib/sdmd"]
EXPOSE 8443
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/sdmd"]
CMD ["serve"]
