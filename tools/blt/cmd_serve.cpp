// `blt serve`: an HTTP server over a BLT or a byte LM (src/serve): OpenAI-
// style completions (streamed as server-sent events), patching, evaluation,
// metrics and the page. Options are checked before the model loads and the
// port is bound; Ctrl-C / SIGTERM stops accepting, ends in-flight streams
// (finish_reason "cancelled") and exits 0.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "modeldir/entropy_model.h"
#include "serve/server.h"
#include "tools/blt/commands.h"
#include "tools/blt/precision_option.h"
#include "tools/blt/interrupt.h"

namespace blt::cli {

namespace {
struct ServeCli {
  std::string model, precision = kDefaultPrecision;
  serve::ServerOptions opt;
};

void run_serve(ServeCli& o) {
  o.opt.validate();
  const std::filesystem::path dir = std::filesystem::absolute(o.model).lexically_normal();
  if (o.opt.model_name.empty()) o.opt.model_name = (dir.has_filename() ? dir : dir.parent_path()).filename().string();
  const InferencePrecision precision = resolve_inference_precision(o.precision);
  std::optional<modeldir::BltModel> blt;
  std::optional<modeldir::EntropyModel> lm;
  if (std::filesystem::exists(dir / "config.json"))
    blt.emplace(load_blt(o.model, precision));
  else
    lm.emplace(load_entropy_model(o.model, precision));
  serve::Server server(blt ? &*blt : nullptr, lm ? lm->model.get() : nullptr, o.opt);
  const int port = server.bind();
  std::cerr << "blt serve: " << o.opt.model_name << " on http://" << o.opt.host << ":" << port << "/ (" << o.opt.parallel
            << " rows, queue " << o.opt.queue_limit << (o.opt.api_key.empty() ? "" : ", API key required") << ")"
            << std::endl;
  const auto& interrupted = install_interrupt_handler("\nblt serve: stopping (in-flight streams end; press again to abort)\n");
  std::atomic<bool> over{false};
  std::thread watch([&] {
    while (!over && !interrupted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (interrupted) server.stop();
  });
  server.listen();
  over = true;
  watch.join();
  std::cerr << "blt serve: stopped" << std::endl;
}
}  // namespace

Command add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve a BLT or byte LM over HTTP (completions, patches, eval, a page)");
  cmd->footer(
      "Endpoints: POST /v1/completions (OpenAI-style; max_tokens counts bytes; \"stream\": true sends server-sent\n"
      "events; \"blt\": {\"ids\": true, \"patches\": true} adds ids, patch starts and entropies), POST /v1/patch and\n"
      "/v1/eval ({\"text\": ...}), GET /v1/models, /health, /metrics (Prometheus) and / (the page). Up to --parallel\n"
      "rows generate together (a new request joins at the next step); beyond --queue waiting requests the\n"
      "server answers 503 with Retry-After. With --api-key every endpoint but /health needs\n"
      "'Authorization: Bearer KEY'. Ctrl-C or SIGTERM ends in-flight streams and exits 0.");
  auto o = std::make_shared<ServeCli>();
  cmd->add_option("--model", o->model, "A BLT directory (config.json) or a byte LM / entropy model (params.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--host", o->opt.host, "Address to listen on (loopback by default)")->capture_default_str();
  cmd->add_option("--port", o->opt.port, "Port (0: any free port, printed at start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--parallel", o->opt.parallel, "Rows generating together")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--queue", o->opt.queue_limit, "Requests that may wait for a row (more get 503)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65536));
  cmd->add_option("--api-key", o->opt.api_key, "Require 'Authorization: Bearer KEY' (all but /health)");
  cmd->add_option("--max-tokens", o->opt.max_tokens_limit, "Largest max_tokens (bytes) a request may ask")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  cmd->add_option("--model-name", o->opt.model_name, "The model id in responses (default: the directory's name)");
  add_precision_option(*cmd, o->precision);
  return {cmd, [o] { run_serve(*o); }};
}

}  // namespace blt::cli
