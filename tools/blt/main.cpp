// blt: the command line of blt.cpp. Parses arguments, runs one subcommand,
// and turns any error into a one-line message and a non-zero exit code (the
// only place in the project that exits).
#include <omp.h>

#include <csignal>
#include <iostream>
#include <vector>

#include "blas/gemm.h"
#include "blas/gemm_bf16.h"
#include "blas/openblas_kernels.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "tools/blt/commands.h"
#include "tools/blt/validators.h"

int main(int argc, char** argv) {
  blt::blas::ensure_openblas_kernels(argv);  // may re-execute this program once (OpenBLAS on a CPU it does not know)
  CLI::App app{"blt.cpp: train, evaluate and run Byte Latent Transformers on the CPU"};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--threads) also after the subcommand: blt train ... --threads 2
  const std::string blas_notice = blt::blas::openblas_environment_notice();
  app.set_version_flag("--version", "blt.cpp " BLT_VERSION "\nOpenBLAS kernels: " + blt::blas::openblas_core() +
                                        "; bf16 matrix engine: " + blt::blas::bf16_isa() +
                                        (blas_notice.empty() ? "" : "\n" + blas_notice));
  int threads = 0;
  app.add_option("--threads", threads, "Threads for OpenMP and BLAS (default: all cores)")
      ->check(blt::cli::non_negative());

  std::vector<blt::cli::Command> commands = {
      blt::cli::add_train_entropy(app),
      blt::cli::add_entropy(app),
      blt::cli::add_generate(app),
      blt::cli::add_patch(app),
      blt::cli::add_train(app),
      blt::cli::add_eval(app),
      blt::cli::add_inspect(app),
      blt::cli::add_preprocess(app),
      blt::cli::add_serve(app),
      blt::cli::add_convert(app),
      blt::cli::add_init(app),
      blt::cli::add_experiment(app),
  };
#ifdef BLT_WITH_BENCH
  commands.push_back(blt::cli::add_bench(app));
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {  // a usage error: one line naming it, exit 2
    std::cerr << "error: " << e.what() << "\nRun with --help for more information.\n";
    return 2;
  }
  // Under mpirun this joins the job (MPI_Init); an error on one rank ends every rank, as the others may be
  // waiting for it.
  blt::dist::Communicator& world = blt::dist::Communicator::world();
  try {
    blt::blas::set_num_threads(threads);
    for (const auto& c : commands)
      if (c.app->parsed()) c.run();
  } catch (const blt::cli::Interrupted&) {
    world.finalize();
    return 130;
  } catch (const blt::dist::JobError& e) {  // raised by every rank alike
    if (world.rank() == 0) std::cerr << "error: " << e.what() << "\n";
    world.finalize();
    return 1;
  } catch (const std::exception& e) {
    if (!world.distributed()) {
      std::cerr << "error: " << e.what() << "\n";
      return 1;
    }
    std::cerr << "error: rank " << world.rank() << ": " << e.what() << "\n";
    world.abort(1);
  }
  world.finalize();
  return 0;
}
