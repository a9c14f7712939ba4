// The `blt` subcommands. Each registers itself on the CLI11 app and returns
// the function main() runs when it is chosen; main() owns error reporting and
// exit codes, so commands simply throw.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace blt::cli {

// A registered subcommand and what to run when it was chosen.
struct Command {
  CLI::App* app;
  std::function<void()> run;
};

// Thrown by a command that stopped early on Ctrl-C after saving its state: exit code 130.
struct Interrupted {};

Command add_bench(CLI::App& app);
Command add_train_entropy(CLI::App& app);
Command add_entropy(CLI::App& app);
Command add_generate(CLI::App& app);
Command add_patch(CLI::App& app);
Command add_train(CLI::App& app);
Command add_eval(CLI::App& app);
Command add_inspect(CLI::App& app);
Command add_preprocess(CLI::App& app);
Command add_serve(CLI::App& app);
Command add_convert(CLI::App& app);
Command add_init(CLI::App& app);
Command add_experiment(CLI::App& app);

}  // namespace blt::cli
