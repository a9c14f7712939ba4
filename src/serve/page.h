// The page `GET /` serves: one self-contained HTML document (CSS and JavaScript inlined, no external
// assets), embedded at build time from src/serve/page/ (page/embed_page.cmake).
#pragma once

#include <string_view>

namespace blt::serve {

// The whole page, UTF-8; valid for the life of the program.
std::string_view page_html();

}  // namespace blt::serve
