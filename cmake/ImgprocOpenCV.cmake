# Finds OpenCV for the service and decides whether the CUDA backend is built.
#
# OpenCV's own package config comes with from-source builds (scripts/build-opencv-cuda.sh) and with
# Debian's libopencv-dev. Debian's per-module packages (libopencv-core-dev, -imgproc-dev, -imgcodecs-dev),
# which are all the CPU build needs, ship headers and libraries but no config: FindOpenCVModules covers them.
set(_imgproc_cuda_modules cudev cudaarithm cudaimgproc cudawarping cudafilters)

find_package(OpenCV 4 CONFIG QUIET COMPONENTS core imgproc imgcodecs)
if(OpenCV_FOUND)
  message(STATUS "OpenCV ${OpenCV_VERSION} from ${OpenCV_DIR}")
else()
  find_package(OpenCVModules REQUIRED)
endif()

set(IMGPROC_WITH_CUDA OFF)
if(NOT IMGPROC_CUDA STREQUAL "OFF")
  set(_missing "")
  foreach(m IN LISTS _imgproc_cuda_modules)
    if(NOT TARGET opencv_${m})
      list(APPEND _missing ${m})
    endif()
  endforeach()
  if(_missing STREQUAL "")
    set(IMGPROC_WITH_CUDA ON)
  elseif(IMGPROC_CUDA STREQUAL "ON")
    message(FATAL_ERROR "IMGPROC_CUDA=ON but OpenCV at '${OpenCV_DIR}' lacks CUDA modules: ${_missing}. "
                        "Build them with scripts/build-opencv-cuda.sh and pass -DCMAKE_PREFIX_PATH=<its prefix>.")
  endif()
endif()

if(IMGPROC_WITH_CUDA)
  find_package(CUDAToolkit REQUIRED)
  message(STATUS "CUDA backend: ON (OpenCV ${OpenCV_VERSION}, CUDA ${CUDAToolkit_VERSION})")
  set(IMGPROC_OPENCV_LIBS opencv_core opencv_imgproc opencv_imgcodecs)
  foreach(m IN LISTS _imgproc_cuda_modules)
    list(APPEND IMGPROC_OPENCV_LIBS opencv_${m})
  endforeach()
else()
  message(STATUS "CUDA backend: OFF (IMGPROC_CUDA=${IMGPROC_CUDA}; OpenCV without CUDA modules or disabled)")
  set(IMGPROC_OPENCV_LIBS opencv_core opencv_imgproc opencv_imgcodecs)
endif()
