// A pool on real processes and sockets for the service integration tests (CalcApp, echo):
// `rsplab registrar`, `rsplab pe` and `rsplab pu` as child processes on loopback (TCP unless
// a test sets transport_), their events in JSON-lines files of a temporary directory (kept,
// and named on stderr, when a test failed), every wait bounded.
//
//   test ──ChildProcess──► rsplab registrar, rsplab pe ×n, rsplab pu
//   test ◄── events (path(NAME.jsonl)) and the PU's summary line
//
// One test thread (a helper thread may read event files and signal a process).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace rsplab::test {

// The JSON lines of `path` (those whose "event" is `name`, unless empty); a line that is no
// JSON is a test failure.
std::vector<nlohmann::json> read_events(const std::string& path, const std::string& name = "");

class PoolTest : public ::testing::Test {
 protected:
  // `binary`: rsplab; `label` names the temporary directory (/tmp/rsplab-LABEL-test.*).
  PoolTest(std::string binary, std::string label)
      : binary_(std::move(binary)), label_(std::move(label)) {}

  void SetUp() override;
  void TearDown() override;

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  ChildProcess& spawn(std::vector<std::string> args);

  // A registrar with 1 s keep-alives; its ASAP endpoint (also in registrar_).
  std::string start_registrar();

  struct Pe {
    ChildProcess* process;
    std::string id;
    std::string events;
  };
  // A PE of pool "calc" (round robin, 1 s re-registrations) with `extra` options; its id
  // (from the start line) and its events file path(name + ".jsonl").
  Pe start_pe(const std::string& name, std::vector<std::string> extra);
  // `rsplab pe ARGS --control stdin` with its standard input a FIFO (path("control")) that
  // the test writes commands to; *control is the writing end. PEs use the registrar and
  // write their events to path("pes.jsonl").
  ChildProcess& start_controlled_pes(const std::string& args, int* control);
  // Runs `rsplab pu` of pool "calc" (named "pu", events in path("pu.jsonl")) to its end
  // within `bound`; its summary line.
  nlohmann::json run_pu(std::vector<std::string> extra, std::chrono::seconds bound);
  // Waits until `events` holds an event satisfying `pred`.
  bool await_event(const std::string& events,
                   const std::function<bool(const nlohmann::json&)>& pred,
                   std::chrono::milliseconds timeout);

  std::string transport_ = "tcp";
  std::string dir_;
  std::string registrar_;
  std::vector<std::unique_ptr<ChildProcess>> procs_;

 private:
  std::string binary_, label_;
};

}  // namespace rsplab::test
