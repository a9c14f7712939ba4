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
if(BLT_SANITIZE)
  target_compile_options(blt_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
  target_link_options(blt_flags INTERFACE -fsanitize=address,undefined)
endif()
