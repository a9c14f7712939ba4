// Replays fuzz inputs without libFuzzer (the normal gcc build, ctest FuzzReplay.<target>):
// every regular file of every directory argument, in sorted order, goes once through the
// target's LLVMFuzzerTestOneInput. A missing directory is skipped; a finding aborts (a crash,
// a sanitizer report, or an exception other than blt's errors escaping the target).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  size_t n = 0;
  for (int a = 1; a < argc; ++a) {
    if (!fs::is_directory(argv[a])) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(argv[a]))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& p : files) {
      std::ifstream f(p, std::ios::binary);
      std::ostringstream s;
      s << f.rdbuf();
      const std::string bytes = s.str();
      std::printf("replay %s (%zu bytes)\n", p.string().c_str(), bytes.size());
      std::fflush(stdout);
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++n;
    }
  }
  std::printf("%zu inputs replayed\n", n);
  return n > 0 ? 0 : 1;  // no input at all: the directories are wrong
}
