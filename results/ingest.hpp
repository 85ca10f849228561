// Event lines into rows, private to rsplab_results (ingest.cpp): what Store::add_event
// writes for one event of a registrar, PE or PU (docs/events.md; the tables in
// results/README.md), with its absolute times made relative to the run's start. Parsing
// happens before anything is written, so an event that is not what its kind promises (not
// an object, a field missing or of the wrong type) leaves no partial rows: it becomes one
// malformed_events row, counted as "malformed". Pure: no database, no state.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "results/store.hpp"

namespace rsplab::results {

// One row to write: the statement, its values for ?1…?n, and what a database error names.
struct Row {
  const char* sql;
  Values values;
  const char* what = "add_event";
};

// The rows of one event line, in the order to write them: the event tables' rows (or the
// malformed_events row), then the event_counts increment. `event_rows`: whether one of
// them is an event table's row (add_event's result).
struct EventRows {
  std::vector<Row> rows;
  bool event_rows = false;
};

// The rows of `event`, a line of component `component_id` (whose role is `role`) of run
// `run_id`, whose clock's zero is `start_unix_us`. Never throws for the event's contents.
EventRows event_rows(const std::string& role, const nlohmann::json& event, std::int64_t run_id,
                     std::int64_t component_id, std::int64_t start_unix_us);

}  // namespace rsplab::results
