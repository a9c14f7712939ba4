// A small W3C WebDriver client for browser tests: it starts /usr/bin/chromedriver on a free loopback
// port in its own process group, opens a headless Chromium session (a temporary profile, the browser
// console log kept), and drives it over HTTP (cpp-httplib). The destructor ends the session, kills the
// whole process group (chromedriver and every Chromium process it started) and removes the profile, so
// every way out of a test cleans up. Calls throw std::runtime_error naming the command and WebDriver's
// message.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/types.h>
#include <vector>

namespace httplib {
class Client;
}

namespace blt::test {

struct WebDriverOptions {
  std::string chromium = "/usr/bin/chromium";
  std::string chromedriver = "/usr/bin/chromedriver";
  int width = 1200, height = 900;                        // the window (and screenshot) size
  std::chrono::milliseconds start_timeout{20000};       // chromedriver up and the session open
};

// Empty when both programs of `opt` exist, else why not (for GTEST_SKIP).
std::string browser_missing(const WebDriverOptions& opt = {});

class WebDriver {
 public:
  explicit WebDriver(const WebDriverOptions& opt = {});
  ~WebDriver();
  WebDriver(const WebDriver&) = delete;
  WebDriver& operator=(const WebDriver&) = delete;

  void navigate(const std::string& url);
  // The element reference of the first match of a CSS selector (throws when none).
  std::string find(const std::string& css);
  std::vector<std::string> find_all(const std::string& css);
  void clear(const std::string& element);
  void send_keys(const std::string& element, const std::string& text);
  void click(const std::string& element);
  // Runs `script` as a function body in the page (arguments[0..]) and returns its value.
  nlohmann::json execute(const std::string& script, const nlohmann::json& args = nlohmann::json::array());
  // Polls pred every 50 ms until it holds (true) or `timeout` has passed (false).
  bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
  // The page as PNG at `path`.
  void screenshot(const std::filesystem::path& path);
  // Browser console entries ({level, message, ...}) since the previous call.
  nlohmann::json browser_log();

 private:
  nlohmann::json call(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr);
  std::string session_path(const std::string& tail) const;
  void start_session(const WebDriverOptions& opt);
  void shut_down();

  std::filesystem::path profile_;    // temporary: the Chromium profile and chromedriver's log
  pid_t driver_pid_ = -1;            // also the process group id
  std::unique_ptr<httplib::Client> http_;
  std::string session_;
};

}  // namespace blt::test
