// The SQLite plumbing of rsplab_results (sqlite.hpp): error texts, one-use statements and
// single-value queries, binding Values, stepping, and reading a row back as Values.
#include "results/sqlite.hpp"

#include <cmath>
#include <string_view>
#include <variant>

namespace rsplab::results {

[[noreturn]] void fail(sqlite3* db, int rc, const std::string& what) {
  std::string text = what + ": " + sqlite3_errstr(rc);
  if (db != nullptr) {
    const char* detail = sqlite3_errmsg(db);
    if (detail != nullptr && std::string_view(detail) != sqlite3_errstr(rc))
      text += std::string(" (") + detail + ")";
  }
  throw StoreError(text);
}

void exec_sql(sqlite3* db, const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return;
  std::string text = std::string("SQL failed: ") + sqlite3_errstr(rc);
  if (message != nullptr) {
    text += std::string(" (") + message + ")";
    sqlite3_free(message);
  }
  const std::string_view shown(sql);
  text += " in: " + std::string(shown.substr(0, 120));
  throw StoreError(text);
}

StatementPtr prepare_once(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, std::string("cannot prepare '") + sql + "'");
  return StatementPtr(s);
}

std::int64_t query_int(sqlite3* db, const char* sql) {
  const auto s = prepare_once(db, sql);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(s.get(), 0);
  if (rc != SQLITE_DONE) fail(db, rc, std::string("'") + sql + "' failed");
  return 0;
}

std::string query_text(sqlite3* db, const char* sql) {
  const auto s = prepare_once(db, sql);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(s.get(), 0);
    return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text));
  }
  if (rc != SQLITE_DONE) fail(db, rc, std::string("'") + sql + "' failed");
  return {};
}

void bind_and_check(sqlite3* db, sqlite3_stmt* s, const Values& values, const char* what) {
  int rc = SQLITE_OK;
  int i = 1;
  for (const auto& v : values) {
    if (std::holds_alternative<std::nullptr_t>(v))
      rc = sqlite3_bind_null(s, i);
    else if (const auto* n = std::get_if<std::int64_t>(&v))
      rc = sqlite3_bind_int64(s, i, *n);
    else if (const auto* d = std::get_if<double>(&v))
      rc = std::isfinite(*d) ? sqlite3_bind_double(s, i, *d) : sqlite3_bind_null(s, i);
    else {
      const auto& t = std::get<std::string>(v);
      rc = sqlite3_bind_text64(s, i, t.data(), t.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    if (rc != SQLITE_OK) {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      fail(db, rc, std::string(what) + ": cannot bind value " + std::to_string(i));
    }
    ++i;
  }
}

bool step(sqlite3* db, sqlite3_stmt* s, const Values& values, const char* what) {
  bind_and_check(db, s, values, what);
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    std::string text = std::string(what) + ": " + sqlite3_errstr(rc);
    if (const char* detail = sqlite3_errmsg(db); detail != nullptr)
      text += std::string(" (") + detail + ")";
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    throw StoreError(text);
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc == SQLITE_ROW;
}

Values row_values(sqlite3_stmt* s) {
  Values row;
  for (int c = 0; c < sqlite3_column_count(s); ++c) {
    switch (sqlite3_column_type(s, c)) {
      case SQLITE_INTEGER: row.emplace_back(integer(sqlite3_column_int64(s, c))); break;
      case SQLITE_FLOAT: row.emplace_back(sqlite3_column_double(s, c)); break;
      case SQLITE_NULL: row.emplace_back(nullptr); break;
      default: {
        const auto* t = static_cast<const char*>(sqlite3_column_blob(s, c));
        row.emplace_back(t == nullptr ? std::string()
                                      : std::string(t, static_cast<std::size_t>(sqlite3_column_bytes(s, c))));
      }
    }
  }
  return row;
}

}  // namespace rsplab::results
