// The embedded page: serve/page_html.inc is generated at configure time from src/serve/page/
// (index.html with style.css and app.js inlined) as one raw string literal.
#include "serve/page.h"

namespace blt::serve {

std::string_view page_html() {
  static constexpr std::string_view kPage =
#include "serve/page_html.inc"
      ;
  return kPage;
}

}  // namespace blt::serve
