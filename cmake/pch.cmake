# One precompiled header for every test executable: GoogleTest, nlohmann/json, Boost.Asio
# and the standard headers most tests include, parsed once per build tree instead of once
# per test source (a test source spends 3-5 s of its 10-30 s in them under the sanitizers).
# rsplab_test_pch owns the header; rsplab_use_test_pch(DIR) gives it to each executable
# under DIR that links GoogleTest, with REUSE_FROM, so all of them share the one .gch.
# REUSE_FROM needs the same compile flags: the directory-wide options are the same for all,
# and every consumer gets the PCH target's definitions (GCC's -Winvalid-pch, which CMake
# adds, turns any mismatch into a warning and -Werror into an error, so it cannot go
# unnoticed in the dev build).
add_library(rsplab_test_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch.cpp)
target_link_libraries(rsplab_test_pch PRIVATE GTest::gtest nlohmann_json::nlohmann_json
                                              Boost::headers)
target_compile_definitions(rsplab_test_pch PRIVATE BOOST_ALL_NO_LIB)
# <utility> first: Boost 1.74's Asio coroutines need it before any Asio header (GCC 12).
target_precompile_headers(rsplab_test_pch PRIVATE
  <utility> <algorithm> <array> <chrono> <cstdint> <filesystem> <fstream> <functional>
  <map> <memory> <optional> <random> <regex> <set> <sstream> <string> <string_view>
  <thread> <variant> <vector>
  <boost/asio.hpp> <gtest/gtest.h> <nlohmann/json.hpp>)

function(rsplab_use_test_pch dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    get_target_property(libs ${t} LINK_LIBRARIES)
    if(type STREQUAL "EXECUTABLE" AND libs MATCHES "GTest::")
      target_precompile_headers(${t} REUSE_FROM rsplab_test_pch)
      target_compile_definitions(${t} PRIVATE BOOST_ALL_NO_LIB)
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(d IN LISTS subdirs)
    rsplab_use_test_pch(${d})
  endforeach()
endfunction()
