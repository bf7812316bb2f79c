# Rules that turn a CO-RE program into an embedded skeleton.
#
#   nodepack_bpf_skeleton(<name> <path/to/name.bpf.c>)
#
# compiles the program against the pinned vmlinux.h of the target architecture, links/strips it
# with `bpftool gen object`, and generates `<name>.skel.h` with `bpftool gen skeleton`. The result
# is an INTERFACE target `nodepack_bpf_skel_<name>` whose include directory holds the skeleton;
# the object bytes live inside the header, so nothing is read from disk at run time.

find_program(NODEPACK_BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(NODEPACK_BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(NODEPACK_BPF_ARCH x86)
  set(NODEPACK_BPF_VMLINUX_ARCH x86_64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(NODEPACK_BPF_ARCH arm64)
  set(NODEPACK_BPF_VMLINUX_ARCH aarch64)
else()
  message(FATAL_ERROR "nodepack BPF: unsupported architecture ${CMAKE_SYSTEM_PROCESSOR}")
endif()

set(NODEPACK_BPF_INCLUDE_DIR ${CMAKE_CURRENT_LIST_DIR}/../include)
set(NODEPACK_BPF_VMLINUX_DIR ${NODEPACK_BPF_INCLUDE_DIR}/vmlinux/${NODEPACK_BPF_VMLINUX_ARCH})
if(NOT EXISTS ${NODEPACK_BPF_VMLINUX_DIR}/vmlinux.h)
  message(FATAL_ERROR "nodepack BPF: no pinned vmlinux.h for ${NODEPACK_BPF_VMLINUX_ARCH} in "
                      "${NODEPACK_BPF_VMLINUX_DIR}; see bpf/README.md for how to add one")
endif()

function(nodepack_bpf_skeleton NAME SRC)
  get_filename_component(src_abs ${SRC} ABSOLUTE)
  get_filename_component(src_dir ${src_abs} DIRECTORY)
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/skel/${NAME})
  set(raw_obj ${out_dir}/${NAME}.tmp.bpf.o)
  set(obj ${out_dir}/${NAME}.bpf.o)
  set(skel ${out_dir}/${NAME}.skel.h)

  add_custom_command(
    OUTPUT ${raw_obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${NODEPACK_BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${NODEPACK_BPF_ARCH}
            -Wall -Wno-unused-function
            -I${NODEPACK_BPF_VMLINUX_DIR} -I${NODEPACK_BPF_INCLUDE_DIR} -I${src_dir}
            -MD -MF ${raw_obj}.d -c ${src_abs} -o ${raw_obj}
    DEPFILE ${raw_obj}.d
    DEPENDS ${src_abs}
    COMMENT "BPF ${NAME}: compiling ${NAME}.bpf.c"
    VERBATIM)

  # `gen object` links the single object and drops DWARF, which keeps the embedded bytes small.
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${NODEPACK_BPFTOOL} gen object ${obj} ${raw_obj}
    DEPENDS ${raw_obj}
    VERBATIM)

  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${NODEPACK_BPFTOOL} gen skeleton ${obj} name ${NAME}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "BPF ${NAME}: generating ${NAME}.skel.h"
    VERBATIM)

  set(gen_target nodepack_bpf_skel_${NAME}_gen)
  add_custom_target(${gen_target} DEPENDS ${skel})
  add_library(nodepack_bpf_skel_${NAME} INTERFACE)
  target_include_directories(nodepack_bpf_skel_${NAME} INTERFACE ${out_dir})
  add_dependencies(nodepack_bpf_skel_${NAME} ${gen_target})
endfunction()
