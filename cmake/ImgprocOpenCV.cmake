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
  # nvJPEG decodes and encodes JPEG on the GPU. The toolkit has it (libnvjpeg-dev-13-0, the CUDA devel
  # images); where it lacks it, scripts/fetch-cuda-libs.sh installs PyPI's nvidia-nvjpeg into a prefix
  # that IMGPROC_CUDA_LIBS names (scripts/build.sh --cuda-libs).
  set(IMGPROC_CUDA_LIBS "" CACHE PATH "Prefix with include/ and lib/ of CUDA libraries the toolkit lacks (nvJPEG, NPP)")
  find_path(IMGPROC_NVJPEG_INCLUDE_DIR nvjpeg.h HINTS "${IMGPROC_CUDA_LIBS}/include" ${CUDAToolkit_INCLUDE_DIRS})
  find_library(IMGPROC_NVJPEG_LIBRARY NAMES nvjpeg HINTS "${IMGPROC_CUDA_LIBS}/lib" ${CUDAToolkit_LIBRARY_DIR})
  if(NOT IMGPROC_NVJPEG_INCLUDE_DIR OR NOT IMGPROC_NVJPEG_LIBRARY)
    message(FATAL_ERROR "The CUDA backend needs nvJPEG, which the CUDA toolkit at ${CUDAToolkit_LIBRARY_DIR} lacks. "
                        "Install the toolkit's nvJPEG (e.g. libnvjpeg-dev-13-0), or run scripts/fetch-cuda-libs.sh "
                        "and pass the prefix it prints to scripts/build.sh --cuda-libs (-DIMGPROC_CUDA_LIBS=...).")
  endif()
  add_library(imgproc_nvjpeg UNKNOWN IMPORTED)
  set_target_properties(imgproc_nvjpeg PROPERTIES IMPORTED_LOCATION "${IMGPROC_NVJPEG_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${IMGPROC_NVJPEG_INCLUDE_DIR}")
  message(STATUS "CUDA backend: ON (OpenCV ${OpenCV_VERSION}, CUDA ${CUDAToolkit_VERSION}, nvJPEG ${IMGPROC_NVJPEG_LIBRARY})")
  set(IMGPROC_OPENCV_LIBS opencv_core opencv_imgproc opencv_imgcodecs)
  foreach(m IN LISTS _imgproc_cuda_modules)
    list(APPEND IMGPROC_OPENCV_LIBS opencv_${m})
  endforeach()
else()
  message(STATUS "CUDA backend: OFF (IMGPROC_CUDA=${IMGPROC_CUDA}; OpenCV without CUDA modules or disabled)")
  set(IMGPROC_OPENCV_LIBS opencv_core opencv_imgproc opencv_imgcodecs)
endif()
