// The SQLite plumbing of rsplab_results, private to the library (sqlite.cpp): errors as
// StoreError with sqlite3_errstr and the connection's message, statements prepared once
// (StatementPtr) or kept by the Store, Values bound to ?1…?n and read back from a row, and
// a Transaction that rolls back unless committed. No state of its own; a connection is used
// by one thread at a time (the Store's contract).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>

#include "results/store.hpp"

namespace rsplab::results {

// Throws StoreError "what: <sqlite3_errstr(rc)> (<sqlite3_errmsg(db)>)".
[[noreturn]] void fail(sqlite3* db, int rc, const std::string& what);

// Runs `sql` (one or several statements); StoreError with the start of the text on failure.
void exec_sql(sqlite3* db, const char* sql);

struct FinalizeStatement {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, FinalizeStatement>;

// A statement for one use (Store::prepared keeps the ones used per event).
StatementPtr prepare_once(sqlite3* db, const char* sql);

// The first column of the first row of `sql`, as an integer (0 when there is no row) or as
// text ("" when there is no row).
std::int64_t query_int(sqlite3* db, const char* sql);
std::string query_text(sqlite3* db, const char* sql);

// Values for columns: integers, 0/1 booleans, text with "" as NULL, an optional's value or
// NULL.
inline Value integer(std::int64_t v) { return v; }
inline Value boolean(bool v) { return std::int64_t{v ? 1 : 0}; }
inline Value text_or_null(const std::string& v) {
  return v.empty() ? Value(nullptr) : Value(v);
}
template <class T>
Value optional_value(const std::optional<T>& v) {
  if (!v) return nullptr;
  if constexpr (std::is_same_v<T, bool>)
    return boolean(*v);
  else if constexpr (std::is_integral_v<T>)
    return static_cast<std::int64_t>(*v);
  else
    return *v;
}

// Binds `values` to ?1…?n (a non-finite real as NULL); on an error resets the statement and
// throws.
void bind_and_check(sqlite3* db, sqlite3_stmt* s, const Values& values, const char* what);

// Binds `values` to ?1…?n, steps once and resets. Returns whether a row came back.
bool step(sqlite3* db, sqlite3_stmt* s, const Values& values, const char* what);

// The current row of `s` as Values (a BLOB as its bytes, as text).
Values row_values(sqlite3_stmt* s);

// Rolls back unless committed (SQLiteCpp's Transaction).
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { exec_sql(db_, "BEGIN IMMEDIATE"); }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (!committed_ && sqlite3_get_autocommit(db_) == 0)
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec_sql(db_, "COMMIT");
    committed_ = true;
  }

 private:
  sqlite3* db_;
  bool committed_ = false;
};

// JSON as stored in TEXT columns: compact, invalid UTF-8 replaced.
inline std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace rsplab::results
