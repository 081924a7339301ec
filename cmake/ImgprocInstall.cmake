# The client library as a CMake package, for other projects: `find_package(imgproc CONFIG)` gives imgproc::client
# (include/imgproc/client.h) and imgproc::proto (the generated messages and stub that client.h includes). Nothing of
# the server is installed but its program. examples/cpp/ is such a project; integration.cpp_example builds it against
# an installed prefix.
include(CMakePackageConfigHelpers)

# imgproc_proto (proto/CMakeLists.txt) names its generated headers' directory in the build tree; installed, they are
# under include/. Set here rather than in proto/ so that the install rules stay in one place.
get_target_property(build_includes imgproc_proto INTERFACE_INCLUDE_DIRECTORIES)
set(proto_includes "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
foreach(dir IN LISTS build_includes)
  list(APPEND proto_includes "$<BUILD_INTERFACE:${dir}>")
endforeach()
set_target_properties(imgproc_proto PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${proto_includes}" EXPORT_NAME proto)

# Every header protoc generated for imgproc_proto, at its path under the output directory (imgproc/v1/imgproc.pb.h);
# not the whole directory, which also holds grpc_health_proto's, the server's.
get_target_property(proto_sources imgproc_proto SOURCES)
get_target_property(proto_out imgproc_proto BINARY_DIR)
foreach(source IN LISTS proto_sources)
  if(source MATCHES "\\.pb\\.h$")
    file(RELATIVE_PATH header "${proto_out}" "${source}")
    get_filename_component(subdir "${header}" DIRECTORY)
    install(FILES "${source}" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/${subdir}" COMPONENT development)
  endif()
endforeach()

set(config_dir "${CMAKE_INSTALL_LIBDIR}/cmake/imgproc")
install(TARGETS imgproc_client imgproc_proto EXPORT imgprocTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT development)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/imgproc" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT development FILES_MATCHING PATTERN "*.h")
install(EXPORT imgprocTargets NAMESPACE imgproc:: DESTINATION "${config_dir}" COMPONENT development)
configure_package_config_file(cmake/imgprocConfig.cmake.in "${PROJECT_BINARY_DIR}/imgprocConfig.cmake"
                              INSTALL_DESTINATION "${config_dir}" NO_SET_AND_CHECK_MACRO)
# 0.x: a minor version may change the API.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/imgprocConfigVersion.cmake" COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/imgprocConfig.cmake" "${PROJECT_BINARY_DIR}/imgprocConfigVersion.cmake"
        DESTINATION "${config_dir}" COMPONENT development)
