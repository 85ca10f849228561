// The results database's schema, private to rsplab_results (schema.cpp, schema_omnetpp.cpp):
// the migration step of each version, the statements end_run runs to link a run's failovers,
// and the tables count() knows. Store::migrate() runs migration_step(v) for every v from the
// file's user_version up to kSchemaVersion (results/store.hpp), each in one BEGIN IMMEDIATE
// transaction with its user_version update. Constant data; safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "results/store.hpp"

namespace rsplab::results {

// "RSPL" in PRAGMA application_id: tells our files from other SQLite databases.
inline constexpr std::int64_t kApplicationId = 0x5253504c;

// The SQL that takes user_version `version` to `version` + 1 (several statements).
// REQUIRES: 0 <= version < kSchemaVersion.
const char* migration_step(std::int64_t version);

// The OMNeT++ 6 result views: step 4 (schema version 5), in schema_omnetpp.cpp.
extern const char* const kSchemaV5;

// end_run's links from a run's failovers (?1 = run id) to the PE's progress at its kill or
// stop (lost_exact), to the fault that hit the PE (fault_id) and to its delay
// (fault_to_detection_us), in this order (results/README.md, "failovers").
extern const char* const kLinkLostExact;
extern const char* const kLinkFault;
extern const char* const kLinkFaultDelay;

// A table of the schema and the column that names its run (nullptr: it has none).
struct SchemaTable {
  std::string_view name;
  const char* run_column;
};
// The table `name` as count() knows it, or nullptr.
const SchemaTable* find_table(std::string_view name);

}  // namespace rsplab::results
