# blt_library(NAME SOURCES... [DEPS targets...]): one static library per src/ folder.
function(blt_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC blt_flags ${ARG_DEPS})
endfunction()

# blt_test(NAME SOURCES... DEPS targets...): one GoogleTest binary per tests/ folder; its tests
# carry the binary's name as a ctest label (ctest -L test_io runs one binary's tests). Every
# property is one value: gtest_discover_tests splits a list value (A;B) into separate arguments.
# ctest runs tests in parallel, so each runs single-threaded (OMP_NUM_THREADS=1); the tests
# of multi-threaded code paths set their thread count themselves.
function(blt_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE blt_test_support ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                       PROPERTIES ENVIRONMENT "BLT_SHARED_DIR=${PROJECT_SOURCE_DIR}/../shared"
                                  ENVIRONMENT_MODIFICATION "OMP_NUM_THREADS=set:1"
                                  LABELS ${name}
                       DISCOVERY_TIMEOUT 60)
endfunction()
