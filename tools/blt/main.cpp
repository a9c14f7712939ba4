// blt: the command line of blt.cpp. Parses arguments, runs one subcommand,
// and turns any error into a one-line message and a non-zero exit code (the
// only place in the project that exits).
#include <omp.h>

#include <csignal>
#include <iostream>
#include <vector>

#include "blas/gemm.h"
#include "core/error.h"
#include "tools/blt/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"blt.cpp: train, evaluate and run Byte Latent Transformers on the CPU"};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "Threads for OpenMP and BLAS (default: all cores)")->check(CLI::NonNegativeNumber);

  std::vector<blt::cli::Command> commands = {
      blt::cli::add_train_entropy(app),
      blt::cli::add_entropy(app),
      blt::cli::add_generate(app),
      blt::cli::add_patch(app),
      blt::cli::add_train(app),
      blt::cli::add_eval(app),
      blt::cli::add_inspect(app),
      blt::cli::add_preprocess(app),
  };
#ifdef BLT_WITH_BENCH
  commands.push_back(blt::cli::add_bench(app));
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    blt::blas::set_num_threads(threads);
    for (const auto& c : commands)
      if (c.app->parsed()) c.run();
  } catch (const blt::cli::Interrupted&) {
    return 130;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
