// golden_corpus DIR: writes every golden vector into DIR as raw message bytes, one file
// per vector (<name>.bin), plus <name>.enc.bin for encode(expected) where that differs
// from the golden bytes. These seed the libFuzzer target of tests/fuzz, whose inputs are
// plain message bytes. Exit 0 on success, 1 on an I/O or encode failure, 2 on usage.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>

#include "tests/wire/golden.hpp"

namespace {

namespace fs = std::filesystem;
using namespace rserpool::wire;

bool write_file(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "golden_corpus: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: golden_corpus DIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "golden_corpus: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  int files = 0;
  for (const auto& v : testing::golden_vectors()) {
    const Bytes golden = testing::from_hex(v.hex);
    if (!write_file(dir / (std::string(v.name) + ".bin"), golden)) return 1;
    ++files;
    const Bytes encoded = std::visit([](const auto& m) { return encode(m); }, v.expected);
    if (encoded.empty()) {
      std::fprintf(stderr, "golden_corpus: %.*s: encode(expected) failed\n",
                   static_cast<int>(v.name.size()), v.name.data());
      return 1;
    }
    if (encoded != golden) {
      if (!write_file(dir / (std::string(v.name) + ".enc.bin"), encoded)) return 1;
      ++files;
    }
  }
  std::printf("golden_corpus: %d files in %s\n", files, dir.c_str());
  return 0;
}
