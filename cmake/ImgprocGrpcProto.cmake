# gRPC's own service definitions (health, reflection) as Debian ships them in grpc-proto, compiled to C++.
#
#   imgproc_grpc_proto(TARGET target PROTO grpc/health/v1/health.proto)
#
# Adds the message and service code of PROTO (relative to IMGPROC_GRPC_PROTO_DIR) to TARGET, generated under
# the current binary directory with the proto's own path, so that `#include "grpc/health/v1/health.pb.h"` works.
# Not protobuf_generate: CMake 3.25's derives the output path from the proto's place under the source tree.
set(IMGPROC_GRPC_PROTO_DIR "/usr/share/grpc-proto" CACHE PATH "gRPC's .proto files (Debian/Ubuntu package grpc-proto)")

function(imgproc_grpc_proto)
  cmake_parse_arguments(arg "" "TARGET;PROTO" "" ${ARGN})
  set(source "${IMGPROC_GRPC_PROTO_DIR}/${arg_PROTO}")
  if(NOT EXISTS "${source}")
    message(FATAL_ERROR "${source} not found: install the grpc-proto package (scripts/install-deps.sh does), "
                        "or point IMGPROC_GRPC_PROTO_DIR at a directory holding ${arg_PROTO}")
  endif()
  string(REGEX REPLACE "\\.proto$" "" stem "${arg_PROTO}")
  set(out "${CMAKE_CURRENT_BINARY_DIR}")
  set(generated "${out}/${stem}.pb.cc" "${out}/${stem}.pb.h" "${out}/${stem}.grpc.pb.cc" "${out}/${stem}.grpc.pb.h")
  add_custom_command(
    OUTPUT ${generated}
    COMMAND protobuf::protoc -I "${IMGPROC_GRPC_PROTO_DIR}" --cpp_out "${out}" --grpc_out "${out}"
            "--plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>" "${source}"
    DEPENDS "${source}" protobuf::protoc gRPC::grpc_cpp_plugin
    COMMENT "C++ for ${arg_PROTO}")
  target_sources(${arg_TARGET} PRIVATE ${generated})
  target_include_directories(${arg_TARGET} PUBLIC "${out}")
  target_link_libraries(${arg_TARGET} PUBLIC protobuf::libprotobuf gRPC::grpc++)
endfunction()
