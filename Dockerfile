# Build stage: Debian 12 with the development packages.
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
      --no-install-recommends build-essential cmake pkg-config libcaf-dev \
      libboost-dev libhiredis-dev rapidjson-dev libcurl4-openssl-dev \
      libssl-dev libmimalloc-dev libpcre2-dev libgtest-dev python3 \
      python3-yaml npm ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/fetch-tokenizers \
    && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
         -DMOTORHEAD_TOKENIZER_DIR=/usr/local/share/motorhead/tokenizers \
    && cmake --build build -j "$(nproc)" --target motorhead

# Runtime stage: the server and its shared libraries only.
FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
      --no-install-recommends libcaf-core0.17 libcaf-io0.17 libhiredis0.14 \
      libcurl4 libssl3 libmimalloc2.0 libpcre2-8-0 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/motorhead /usr/local/bin/motorhead
COPY --from=build /src/data/tokenizers /usr/local/share/motorhead/tokenizers
ENV PORT=8000
EXPOSE 8000
USER nobody
ENTRYPOINT ["/usr/local/bin/motorhead"]
