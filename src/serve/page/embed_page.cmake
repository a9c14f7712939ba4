# Embeds the page into the binary: index.html with style.css and app.js inlined at its
# `<!-- blt:style -->` and `<!-- blt:script -->` markers, written as one C++ raw string literal to
# <binary dir>/generated/serve/page_html.inc, which src/serve/page.cpp includes. The configure fails
# when the literal's delimiter occurs in the page, and re-runs when a page file changes.
#   in a CMakeLists:  include(page/embed_page.cmake)  then  blt_embed_page(<target>)
#   as a script:      cmake -DPAGE_DIR=<dir> -DOUTPUT=<file> -P embed_page.cmake   (tests/serve)
if(CMAKE_SCRIPT_MODE_FILE)
  cmake_minimum_required(VERSION 3.25)
endif()

function(blt_write_page page_dir output)
  file(READ ${page_dir}/index.html html)
  file(READ ${page_dir}/style.css css)
  file(READ ${page_dir}/app.js js)
  foreach(marker "<!-- blt:style -->" "<!-- blt:script -->")
    string(FIND "${html}" "${marker}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${page_dir}/index.html: the marker ${marker} is missing")
    endif()
  endforeach()
  string(REPLACE "<!-- blt:style -->" "<style>\n${css}</style>" html "${html}")
  string(REPLACE "<!-- blt:script -->" "<script>\n${js}</script>" html "${html}")
  string(FIND "${html}" ")blt_page\"" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "${page_dir}: the page contains the raw string delimiter )blt_page\" (at byte ${at} "
                        "of the inlined page); change the page or the delimiter in embed_page.cmake")
  endif()
  # file(CONFIGURE) writes only when the content changed, so an unchanged page rebuilds nothing.
  file(CONFIGURE OUTPUT ${output} CONTENT "R\"blt_page(@html@)blt_page\"\n" @ONLY)
endfunction()

function(blt_embed_page target)
  set(dir ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  blt_write_page(${dir} ${CMAKE_CURRENT_BINARY_DIR}/generated/serve/page_html.inc)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${dir}/index.html ${dir}/style.css ${dir}/app.js)
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE)
  blt_write_page(${PAGE_DIR} ${OUTPUT})
endif()
