// Layering.BenchReachesNoTestSupport (tests/layering/CMakeLists.txt): the libraries
// bench/registrar_load links, without rsplab_test_support. Its own libraries' headers are
// found; tests/support's must not be (bench/ links rsplab_test_support explicitly).
#include "stack/transport/transport.hpp"
#include "stack/wire/messages.hpp"
#include "tests/support/process.hpp"

int layering_bench() { return 0; }
