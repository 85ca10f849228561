// Layering.UnlinkedHeaderFails (tests/layering/CMakeLists.txt): this target links
// rserpool_wire only. Its header is found; rsplab_results' header must not be.
#include "stack/wire/messages.hpp"
#include "results/store.hpp"

int layering_unlinked() { return 0; }
