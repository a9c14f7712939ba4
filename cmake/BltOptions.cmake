# Compiler flags shared by every target: warnings, CPU tuning, sanitizers.
find_package(OpenMP REQUIRED)
# No -ffast-math anywhere: NaN/Inf semantics matter for thresholds and masks.
add_library(blt_flags INTERFACE)
target_compile_options(blt_flags INTERFACE -Wall -Wextra)
# GCC 12 reports false -Wrestrict positives inside std::string at -O3 (GCC bug 105329).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(blt_flags INTERFACE -Wno-restrict)
endif()
if(BLT_WERROR)
  target_compile_options(blt_flags INTERFACE -Werror)
endif()
target_link_libraries(blt_flags INTERFACE OpenMP::OpenMP_CXX)
if(BLT_NATIVE)
  target_compile_options(blt_flags INTERFACE -march=native)
endif()
# float-cast-overflow is not part of GCC's `undefined` group: a double -> float or float -> int
# cast out of range is undefined behaviour, so it is asked for by name.
set(BLT_SANITIZERS address,undefined,float-cast-overflow)
if(BLT_SANITIZE)
  target_compile_options(blt_flags INTERFACE -fsanitize=${BLT_SANITIZERS} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
  target_link_options(blt_flags INTERFACE -fsanitize=${BLT_SANITIZERS})
endif()
# The fuzz build: every library gets libFuzzer's coverage instrumentation plus the sanitizers;
# tests/fuzz links the fuzzer's main into each target.
if(BLT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "BLT_FUZZ needs clang (libFuzzer), e.g. -DCMAKE_CXX_COMPILER=clang++")
  endif()
  target_compile_options(blt_flags INTERFACE -fsanitize=fuzzer-no-link,${BLT_SANITIZERS} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
  target_link_options(blt_flags INTERFACE -fsanitize=${BLT_SANITIZERS})
endif()
