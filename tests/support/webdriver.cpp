// The WebDriver client (see webdriver.h): process handling with posix_spawn and process groups,
// W3C WebDriver commands as JSON over HTTP.
#include "support/webdriver.h"

#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace blt::test {

namespace {

constexpr const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";  // W3C element reference

// A loopback port that was free a moment ago (bind to port 0, read it back, close).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("webdriver: socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("webdriver: no free loopback port");
  return ntohs(a.sin_port);
}

std::filesystem::path make_temp_dir() {
  std::random_device rd;
  for (int i = 0; i < 16; ++i) {
    auto p = std::filesystem::temp_directory_path() / ("blt-webdriver-" + std::to_string(rd()));
    if (std::filesystem::create_directory(p)) return p;
  }
  throw std::runtime_error("webdriver: cannot create a temporary directory");
}

// chromedriver in a new process group (its pid), stdout and stderr to `log`.
pid_t spawn_driver(const std::string& program, int port, const std::filesystem::path& log) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::string port_arg = "--port=" + std::to_string(port);
  std::vector<char*> argv = {const_cast<char*>(program.c_str()), port_arg.data(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, program.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("webdriver: cannot start " + program);
  return pid;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string base64_decode(const std::string& s) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else continue;  // padding, line breaks
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace

std::string browser_missing(const WebDriverOptions& opt) {
  for (const std::string& p : {opt.chromium, opt.chromedriver})
    if (::access(p.c_str(), X_OK) != 0) return p + " not found (scripts/setup.sh installs chromium and chromium-driver)";
  return "";
}

WebDriver::WebDriver(const WebDriverOptions& opt) {
  profile_ = make_temp_dir();
  try {
    const int port = free_port();
    driver_pid_ = spawn_driver(opt.chromedriver, port, profile_ / "chromedriver.log");
    http_ = std::make_unique<httplib::Client>("127.0.0.1", port);
    http_->set_connection_timeout(std::chrono::seconds(2));
    http_->set_read_timeout(std::chrono::seconds(60));
    const bool up = wait_until([&] {
      const auto r = http_->Get("/status");
      if (!r || r->status != 200) return false;
      const nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
      return j.is_object() && j.contains("value") && j["value"].is_object() && j["value"].value("ready", false);
    }, opt.start_timeout);
    if (!up) throw std::runtime_error("webdriver: chromedriver did not come up: " + read_text(profile_ / "chromedriver.log"));
    start_session(opt);
  } catch (...) {
    shut_down();
    throw;
  }
}

WebDriver::~WebDriver() { shut_down(); }

void WebDriver::start_session(const WebDriverOptions& opt) {
  const nlohmann::json args = {"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                               "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                               "--user-data-dir=" + (profile_ / "profile").string(),
                               "--window-size=" + std::to_string(opt.width) + "," + std::to_string(opt.height)};
  const nlohmann::json caps = {
      {"browserName", "chrome"},
      {"goog:chromeOptions", {{"binary", opt.chromium}, {"args", args}}},
      {"goog:loggingPrefs", {{"browser", "ALL"}}}};
  const nlohmann::json v = call("POST", "/session", {{"capabilities", {{"alwaysMatch", caps}}}});
  session_ = v.at("sessionId").get<std::string>();
}

void WebDriver::shut_down() {
  if (http_ && !session_.empty()) {
    http_->set_read_timeout(std::chrono::seconds(5));
    http_->Delete("/session/" + session_);  // closes Chromium; failures are covered by the kill below
    session_.clear();
  }
  http_.reset();
  if (driver_pid_ > 0) {
    ::kill(-driver_pid_, SIGTERM);
    int status = 0;
    bool reaped = false;
    for (int i = 0; i < 40 && !reaped; ++i) {
      reaped = ::waitpid(driver_pid_, &status, WNOHANG) == driver_pid_;
      if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(-driver_pid_, SIGKILL);  // whatever of the group is left, Chromium's children included
    if (!reaped) ::waitpid(driver_pid_, &status, 0);
    // The orphaned Chromium processes are reaped by init: wait (bounded) until the group is gone.
    for (int i = 0; i < 100 && ::kill(-driver_pid_, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    driver_pid_ = -1;
  }
  std::error_code ec;
  if (!profile_.empty()) std::filesystem::remove_all(profile_, ec);
}

nlohmann::json WebDriver::call(const std::string& method, const std::string& path, const nlohmann::json& body) {
  const std::string text = body.is_null() ? "{}" : body.dump();
  httplib::Result r = method == "GET"      ? http_->Get(path)
                      : method == "DELETE" ? http_->Delete(path)
                                           : http_->Post(path, text, "application/json");
  if (!r) throw std::runtime_error("webdriver " + method + " " + path + ": " + httplib::to_string(r.error()));
  const nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains("value"))
    throw std::runtime_error("webdriver " + method + " " + path + ": HTTP " + std::to_string(r->status) + " " + r->body);
  if (r->status != 200) {
    const auto& v = j["value"];
    throw std::runtime_error("webdriver " + method + " " + path + ": " + v.value("error", "error") + ": " +
                             v.value("message", ""));
  }
  return j["value"];
}

std::string WebDriver::session_path(const std::string& tail) const { return "/session/" + session_ + tail; }

void WebDriver::navigate(const std::string& url) { call("POST", session_path("/url"), {{"url", url}}); }

std::string WebDriver::find(const std::string& css) {
  return call("POST", session_path("/element"), {{"using", "css selector"}, {"value", css}})
      .at(kElementKey)
      .get<std::string>();
}

std::vector<std::string> WebDriver::find_all(const std::string& css) {
  std::vector<std::string> out;
  for (const auto& e : call("POST", session_path("/elements"), {{"using", "css selector"}, {"value", css}}))
    out.push_back(e.at(kElementKey).get<std::string>());
  return out;
}

void WebDriver::clear(const std::string& element) { call("POST", session_path("/element/" + element + "/clear")); }

void WebDriver::send_keys(const std::string& element, const std::string& text) {
  call("POST", session_path("/element/" + element + "/value"), {{"text", text}});
}

void WebDriver::click(const std::string& element) { call("POST", session_path("/element/" + element + "/click")); }

nlohmann::json WebDriver::execute(const std::string& script, const nlohmann::json& args) {
  return call("POST", session_path("/execute/sync"), {{"script", script}, {"args", args}});
}

bool WebDriver::wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void WebDriver::screenshot(const std::filesystem::path& path) {
  const std::string png = base64_decode(call("GET", session_path("/screenshot")).get<std::string>());
  std::ofstream out(path, std::ios::binary);
  out.write(png.data(), static_cast<std::streamsize>(png.size()));
  if (!out) throw std::runtime_error("webdriver: cannot write " + path.string());
}

nlohmann::json WebDriver::browser_log() { return call("POST", session_path("/se/log"), {{"type", "browser"}}); }

}  // namespace blt::test
