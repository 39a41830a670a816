# The server's image. The tokenizer files come from the build context:
# run scripts/fetch-tokenizers (scripts/install-deps does) before building.
#   podman build --format docker -t motorhead .   (docker build -t motorhead .)
# --target prebuilt puts build/motorhead, built on the host for Debian 12,
# into the runtime image instead of compiling it here (scripts/test-container
# does so in CI).

# Build stage: Debian 12 with the development packages.
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
      --no-install-recommends build-essential cmake pkg-config libcaf-dev \
      libboost-dev libhiredis-dev rapidjson-dev libcurl4-openssl-dev \
      libssl-dev libmimalloc-dev libpcre2-dev libgtest-dev python3 \
      python3-yaml ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The context has no .git: --build-arg MOTORHEAD_COMMIT=$(git rev-parse
# --short=12 HEAD) names the commit in --version, /healthz and /metrics.
ARG MOTORHEAD_COMMIT=unknown
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
         -DMOTORHEAD_TOKENIZER_DIR=/usr/local/share/motorhead/tokenizers \
    && cmake --build build -j "$(nproc)" --target motorhead

# Runtime: the server's shared libraries, its tokenizer files, a health
# check that needs no other tool.
FROM debian:12-slim AS runtime
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
      --no-install-recommends libcaf-core0.17 libcaf-io0.17 libcaf-openssl0.17 \
      libhiredis0.14 libcurl4 libssl3 libmimalloc2.0 libpcre2-8-0 \
      ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY data/tokenizers/*.json /usr/local/share/motorhead/tokenizers/
ENV PORT=8000 MOTORHEAD_TOKENIZER_DIR=/usr/local/share/motorhead/tokenizers
EXPOSE 8000
USER nobody
HEALTHCHECK --interval=10s --timeout=6s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/motorhead", "--check-health"]
ENTRYPOINT ["/usr/local/bin/motorhead"]

# The runtime with the binary built on the host (Debian 12, release).
FROM runtime AS prebuilt
COPY build/motorhead /usr/local/bin/motorhead

# The default: the runtime with the binary built above.
FROM runtime
COPY --from=build /src/build/motorhead /usr/local/bin/motorhead
