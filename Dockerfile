# syntax=docker/dockerfile:1
#
# nodepack image: one binary, `nodepack agent` (DaemonSet) and `nodepack aggregator` (Deployment),
# for linux/amd64 and linux/arm64.
#
#   docker build -t nodepack:dev --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse --short HEAD) .
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/nodepack:TAG --push .
#   podman build --platform linux/amd64,linux/arm64 --build-arg BUILDPLATFORM=linux/amd64 --manifest nodepack:TAG .
#     (podman 4.3 leaves BUILDPLATFORM unset in multi-platform builds; see README.md, arm64)
#
# Stage 1 runs on the build host ($BUILDPLATFORM) whatever the target: for the host's own
# architecture it builds exactly as CI does (scripts/install-deps, then CMake + Ninja, Release, no
# tests); for arm64 on an amd64 host it cross-compiles as scripts/build-arm64 does (Debian's
# aarch64-linux-gnu toolchain and :arm64 libraries), so no compiler ever runs under emulation.
# Stage 2, on the build host too, collects the binary and the shared libraries it links (listed
# by the target's own loader, run under qemu-user for a foreign binary, since ldd cannot read
# one), plus the few files a process without a shell needs. Stage 3 is FROM scratch for the
# target platform: no shell, no package manager, and no RUN step (nothing runs emulated).

ARG DEBIAN_IMAGE=debian:bookworm

FROM --platform=$BUILDPLATFORM ${DEBIAN_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# TARGETARCH is set by BuildKit and podman (empty for a legacy build: the host's architecture).
# The build host's architecture is asked of dpkg, not of BUILDARCH, which older podman leaves
# unset; Debian's names (amd64, arm64) are the platforms' names.
ARG TARGETARCH
# Dependencies first, so a source change does not reinstall them.
COPY scripts/install-deps scripts/install-deps-arm64 scripts/
RUN set -eu; \
    host=$(dpkg --print-architecture); target=${TARGETARCH:-$host}; \
    if [ "$target" = "$host" ]; then scripts/install-deps; \
    elif [ "$target/$host" = "arm64/amd64" ]; then scripts/install-deps-arm64 /deps; \
    else echo "nodepack: no cross build from $host to $target" >&2; exit 1; fi; \
    rm -rf /var/lib/apt/lists/*
COPY . .
ARG BUILD_JOBS=2
# .git is not in the context: the revision comes in as a build argument.
ARG REVISION=unknown
# Cross builds link the :arm64 libraries from the system's multiarch directories, where the
# target finds them too, so the binary carries no RPATH (the overlay is for linking only).
RUN set -eu; \
    cross=""; run=""; strip=strip; \
    if [ "${TARGETARCH:-$(dpkg --print-architecture)}" != "$(dpkg --print-architecture)" ]; then \
      cross="--toolchain cmake/toolchains/aarch64-linux-gnu.cmake -DNODEPACK_ARM64_OVERLAY=/deps -DCMAKE_SKIP_RPATH=ON"; \
      run=qemu-aarch64-static; strip=aarch64-linux-gnu-strip; \
    fi; \
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DNODEPACK_TESTS=OFF -DNODEPACK_GIT_REVISION="${REVISION}" $cross; \
    ninja -C build -j "${BUILD_JOBS}" nodepack; \
    $strip --strip-unneeded build/cmd/nodepack; \
    $run build/cmd/nodepack version

FROM build AS rootfs
ARG TARGETARCH
# The runtime tree: the binary, every shared object its loader resolves (the loader included),
# CA certificates for kubeconfigs that use public CAs, and passwd/group naming the non-root user.
# `ld.so --list` is what ldd runs; for arm64 it is the arm64 loader under qemu-user, which
# resolves in the :arm64 multiarch directories, the same paths an arm64 Debian system uses.
RUN set -eu; \
    list="ldd"; \
    if [ "${TARGETARCH:-$(dpkg --print-architecture)}" != "$(dpkg --print-architecture)" ]; then list="qemu-aarch64-static /lib/ld-linux-aarch64.so.1 --list"; fi; \
    mkdir -p /rootfs/usr/local/bin /rootfs/etc/ssl/certs /rootfs/tmp; \
    cp build/cmd/nodepack /rootfs/usr/local/bin/nodepack; \
    for lib in $($list build/cmd/nodepack | grep -o '/[^ ]*'); do \
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
