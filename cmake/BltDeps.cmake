# Third-party dependencies, all Debian packages (scripts/setup.sh installs them).
# BLAS: prefer OpenBLAS built for OpenMP, so a BLAS call made inside one of our
# parallel regions runs single-threaded instead of oversubscribing the cores.

find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
# cpp-httplib (libcpp-httplib-dev, the compiled Debian build): Debian ships a pkg-config file, no CMake config.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

set(BLT_OPENBLAS_OPENMP_DIR "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp")
find_package(OpenBLAS CONFIG QUIET PATHS "${BLT_OPENBLAS_OPENMP_DIR}/cmake/openblas" NO_DEFAULT_PATH)
if(OpenBLAS_FOUND)
  add_library(blt_blas_dep INTERFACE)
  target_include_directories(blt_blas_dep INTERFACE ${OpenBLAS_INCLUDE_DIRS})
  target_link_libraries(blt_blas_dep INTERFACE ${OpenBLAS_LIBRARIES})
  # The Debian alternatives symlink may point at the pthread build; pin ours.
  target_link_options(blt_blas_dep INTERFACE "-Wl,-rpath,${BLT_OPENBLAS_OPENMP_DIR}")
  message(STATUS "BLAS: OpenBLAS (OpenMP) ${OpenBLAS_LIBRARIES}")
else()
  set(BLA_VENDOR OpenBLAS)
  find_package(BLAS REQUIRED)
  find_path(BLT_CBLAS_INCLUDE cblas.h PATH_SUFFIXES openblas REQUIRED)
  add_library(blt_blas_dep INTERFACE)
  target_include_directories(blt_blas_dep INTERFACE ${BLT_CBLAS_INCLUDE})
  target_link_libraries(blt_blas_dep INTERFACE ${BLAS_LIBRARIES})
  message(STATUS "BLAS: ${BLAS_LIBRARIES}")
endif()

# oneDNN (libdnnl-dev, OpenMP runtime): bf16 matmuls on AMX / AVX512-BF16 (blas/gemm_bf16.h).
# Its CMake config looks for OpenCL (the Debian build has a GPU runtime), hence ocl-icd-opencl-dev.
find_package(dnnl CONFIG REQUIRED)
message(STATUS "oneDNN: ${dnnl_VERSION}")

# Open MPI (libopenmpi-dev): data-parallel training under mpirun; a single process needs no launcher.
set(BLT_WITH_MPI OFF)
if(BLT_MPI)
  find_package(MPI REQUIRED COMPONENTS CXX)
  set(BLT_WITH_MPI ON)
endif()

if(BLT_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
