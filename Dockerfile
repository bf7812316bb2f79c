# syntax=docker/dockerfile:1
#
# nodepack image: one binary, `nodepack agent` (DaemonSet) and `nodepack aggregator` (Deployment).
#
#   docker build -t nodepack:dev --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse --short HEAD) .
#
# Stage 1 builds exactly as CI does (scripts/install-deps, then CMake + Ninja, Release, no tests).
# Stage 2 collects the binary and the shared libraries it links (found with ldd), plus the few
# files a process without a shell needs. Stage 3 is FROM scratch: no shell, no package manager.

ARG DEBIAN_IMAGE=debian:bookworm

FROM ${DEBIAN_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# Dependencies first, so a source change does not reinstall them.
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps && rm -rf /var/lib/apt/lists/*
COPY . .
ARG BUILD_JOBS=2
# .git is not in the context: the revision comes in as a build argument.
ARG REVISION=unknown
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DNODEPACK_TESTS=OFF -DNODEPACK_GIT_REVISION="${REVISION}" \
 && ninja -C build -j "${BUILD_JOBS}" nodepack \
 && strip --strip-unneeded build/cmd/nodepack \
 && build/cmd/nodepack version

FROM build AS rootfs
# The runtime tree: the binary, every shared object ldd resolves for it (the loader included),
# CA certificates for kubeconfigs that use public CAs, and passwd/group naming the non-root user.
RUN set -eu; \
    mkdir -p /rootfs/usr/local/bin /rootfs/etc/ssl/certs /rootfs/tmp; \
    cp build/cmd/nodepack /rootfs/usr/local/bin/nodepack; \
    for lib in $(ldd build/cmd/nodepack | grep -o '/[^ ]*'); do \
      cp -L --parents "$lib" /rootfs/; \
    done; \
    cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\nnonroot:x:65532:\n' > /rootfs/etc/group; \
    mkdir -p /rootfs/home/nonroot; chown 65532:65532 /rootfs/home/nonroot; chmod 1777 /rootfs/tmp; \
    echo "runtime files:"; find /rootfs -type f | sort

FROM scratch
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE_URL=https://github.com/nodepack/nodepack
LABEL org.opencontainers.image.title="nodepack" \
      org.opencontainers.image.description="Kubernetes node agent and aggregator: binpacking, per-NUMA allocation and per-pod kernel metrics" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=rootfs /rootfs/ /
# The aggregator runs as this user; the agent DaemonSet overrides it to root because loading BPF
# programs needs capabilities that only take effect for uid 0 without ambient capabilities.
USER 65532:65532
ENV HOME=/home/nonroot
EXPOSE 9101
ENTRYPOINT ["/usr/local/bin/nodepack"]
CMD ["--help"]
