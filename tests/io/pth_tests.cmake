# pth reader tests, added to test_io (included from tests/io/CMakeLists.txt).
target_sources(test_io PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/test_pth.cpp)
