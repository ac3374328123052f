# nuage in a container. Build:   docker build -t nuage .
# Run (state in a named volume, ports published on the host's loopback only):
#   docker run --rm -p 127.0.0.1:4566:4566 -p 127.0.0.1:5439:5439 -v nuage-data:/data nuage
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p nuage --bin nuage

FROM debian:bookworm-slim
COPY --from=build /src/target/release/nuage /usr/local/bin/nuage
# Inside the container nuage listens on every interface, so that published ports reach it;
# Redshift clusters without security groups then take connections from outside too.
ENV NUAGE_HOST=0.0.0.0 \
    NUAGE_DATA_DIR=/data
VOLUME /data
EXPOSE 4566 5439
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["nuage", "status", "--quiet"]
ENTRYPOINT ["nuage"]
