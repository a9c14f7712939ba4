// Formatting of BLT_ASSERT failures.
#include "core/error.h"

namespace blt {

void assert_fail(const char* expr, const char* file, int line, const std::string& msg) {
  std::string text = std::string("internal error: ") + expr + " failed at " + file + ":" + std::to_string(line);
  if (!msg.empty()) text += " (" + msg + ")";
  throw InternalError(text);
}

}  // namespace blt
