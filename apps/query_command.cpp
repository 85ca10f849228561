// `rsplab query RESULTS.db "SQL"`: one SQL statement over a results database (its tables and
// views: results/README.md), printed as an aligned table, CSV or JSON. The file is opened
// read-only (Store::open_read_only): a query never creates, migrates or modifies it, and a
// statement that would write is refused by SQLite. SQLite's own message is the error.
//
//   parse ─► Store::open_read_only ─► Store::table(sql) ─► table | csv | json ─► stdout
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "apps/commands.hpp"
#include "results/report.hpp"
#include "results/store.hpp"

namespace rsplab {
namespace {

namespace r = results;

struct QueryOptions {
  std::string file, sql;
  bool csv = false, json = false;
};

// A value as text: NULL as `null_text`, reals in their shortest exact form.
std::string text_of(const r::Value& v, const char* null_text) {
  if (std::holds_alternative<std::nullptr_t>(v)) return null_text;
  if (const auto* n = std::get_if<std::int64_t>(&v)) return std::to_string(*n);
  if (const auto* d = std::get_if<double>(&v)) return r::exact_text(*d);
  return std::get<std::string>(v);
}

bool numeric(const r::Value& v) {
  return std::holds_alternative<std::int64_t>(v) || std::holds_alternative<double>(v);
}

// Columns padded to their widest cell, numbers right-aligned; a dashed line under the names.
std::string table_text(const r::Table& t) {
  std::vector<std::size_t> widths;
  for (const auto& c : t.columns) widths.push_back(r::text_width(c));
  for (const auto& row : t.rows)
    for (std::size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], r::text_width(text_of(row[c], "NULL")));
  const auto line = [&](const std::vector<std::string>& cells, const std::vector<bool>& right) {
    std::string l;
    for (std::size_t c = 0; c < cells.size(); ++c)
      l += (c == 0 ? "" : "  ") + r::pad(cells[c], widths[c], right[c]);
    l.erase(l.find_last_not_of(' ') + 1);
    return l + "\n";
  };
  const std::vector<bool> left(t.columns.size(), false);
  std::string text = line(t.columns, left);
  std::vector<std::string> dashes;
  for (const auto w : widths) dashes.emplace_back(w, '-');
  text += line(dashes, left);
  for (const auto& row : t.rows) {
    std::vector<std::string> cells;
    std::vector<bool> right;
    for (const auto& v : row) {
      cells.push_back(text_of(v, "NULL"));
      right.push_back(numeric(v));
    }
    text += line(cells, right);
  }
  return text + "(" + std::to_string(t.rows.size()) + (t.rows.size() == 1 ? " row)\n" : " rows)\n");
}

std::string csv_text(const r::Table& t) {
  std::string text;
  for (std::size_t c = 0; c < t.columns.size(); ++c)
    text += (c == 0 ? "" : ",") + r::csv_field(t.columns[c]);
  text += "\n";
  for (const auto& row : t.rows) {
    for (std::size_t c = 0; c < row.size(); ++c)
      text += (c == 0 ? "" : ",") + r::csv_field(text_of(row[c], ""));
    text += "\n";
  }
  return text;
}

std::string json_text(const r::Table& t) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& row : t.rows) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (std::size_t c = 0; c < row.size(); ++c)
      std::visit([&](const auto& v) { o[t.columns[c]] = v; }, row[c]);
    rows.push_back(std::move(o));
  }
  return rows.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

int run_query(const QueryOptions& o, Context& ctx) {
  try {
    const r::Store store = r::Store::open_read_only(o.file);
    const r::Table t = store.table(o.sql);
    ctx.out << (o.csv ? csv_text(t) : o.json ? json_text(t) : table_text(t));
    return kExitOk;
  } catch (const r::StoreError& e) {
    const std::string what = e.what();
    ctx.err << "rsplab query: " << what
            << (what.find("readonly") != std::string::npos
                    ? " (rsplab query opens the file read-only: use sqlite3 to change it)"
                    : "")
            << "\n";
    return kExitUsage;
  }
}

}  // namespace

void add_query_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<QueryOptions>();
  CLI::App* cmd = app.add_subcommand(
      "query", "Run one SQL statement over a results database, read-only");
  cmd->add_option("file", o->file, "Results database (SQLite) written by rsplab run")->required();
  cmd->add_option("sql", o->sql, "One SQL statement (results/README.md lists tables and views)")
      ->required();
  auto* csv = cmd->add_flag("--csv", o->csv, "CSV with a header line; NULL as an empty field");
  cmd->add_flag("--json", o->json, "JSON: an array of objects, one per row, NULL as null")
      ->excludes(csv);
  cmd->footer(
      "The file is opened read-only: a statement that writes (INSERT, UPDATE, DELETE, CREATE,\n"
      "PRAGMA x = y) fails. Example:\n"
      "  rsplab query results.db \"SELECT policy, avg(handling_speed) FROM run_metrics\n"
      "                           WHERE status = 'completed' GROUP BY policy\"\n\n"
      "Exit status: 0 success; 2 usage error (a file that is missing or not a results\n"
      "database, an SQL error with SQLite's message).");
  cmd->callback([o, &ctx] { ctx.exit_code = run_query(*o, ctx); });
}

}  // namespace rsplab
