# pth reader sources, added to blt_io (included from src/io/CMakeLists.txt).
target_sources(blt_io PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/zip_reader.cpp ${CMAKE_CURRENT_SOURCE_DIR}/pickle_machine.cpp
                              ${CMAKE_CURRENT_SOURCE_DIR}/pickle_allowlist.cpp ${CMAKE_CURRENT_SOURCE_DIR}/pth_tensors.cpp
                              ${CMAKE_CURRENT_SOURCE_DIR}/pth.cpp)
