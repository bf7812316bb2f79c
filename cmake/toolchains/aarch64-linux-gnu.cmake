# Cross-compiles nodepack for linux/arm64 on a Debian x86-64 host with Debian's aarch64-linux-gnu
# toolchain and :arm64 multiarch libraries (scripts/install-deps-arm64 installs both).
#
#   cmake -S . -B build-arm64 -G Ninja --toolchain cmake/toolchains/aarch64-linux-gnu.cmake \
#     -DNODEPACK_ARM64_OVERLAY=<dir>
#
# NODEPACK_ARM64_OVERLAY: where scripts/install-deps-arm64 unpacked the :arm64 -dev packages that
# cannot be installed beside the host's (prometheus-cpp-dev, libyaml-cpp-dev).
# Tests run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR), so ctest works as on the host.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
# Multiarch: find_package and find_library look in lib/aarch64-linux-gnu of every prefix.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Forwarded to try_compile projects, which re-read this file.
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES NODEPACK_ARM64_OVERLAY)
if(NODEPACK_ARM64_OVERLAY)
  list(APPEND CMAKE_PREFIX_PATH ${NODEPACK_ARM64_OVERLAY}/usr)
endif()

# The host's /usr is shared by both architectures (multiarch), so there is no separate sysroot.
# Programs (clang, bpftool) are the host's; libraries and CMake packages are searched only in
# aarch64 locations, never in the host's lib/x86_64-linux-gnu.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
if(NODEPACK_ARM64_OVERLAY)
  list(APPEND CMAKE_FIND_ROOT_PATH ${NODEPACK_ARM64_OVERLAY})
endif()
list(APPEND CMAKE_FIND_ROOT_PATH /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (hwloc, libbpf) reads the arm64 .pc files only; bookworm ships no
# aarch64-linux-gnu-pkg-config wrapper, so the host's pkg-config is pointed at them.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)

# Test binaries run under user-mode emulation, called explicitly (binfmt_misc is not always
# there, in containers least of all). The arm64 loader and the :arm64 libraries live in the
# host's multiarch directories, where the emulated loader looks by default.
find_program(NODEPACK_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(NODEPACK_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${NODEPACK_QEMU_AARCH64})
endif()
