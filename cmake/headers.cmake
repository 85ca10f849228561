# Layering, enforced by the build: a target's headers are reachable only by the targets that
# link it. No target puts the repository root on its include path; instead each one stages
# the headers it owns, as symbolic links under their repository paths, in an include tree of
# its own (build/include/<target>/stack/wire/messages.hpp -> stack/wire/messages.hpp), and
# exports that tree alone. `#include "stack/wire/messages.hpp"` keeps working for rserpool_wire
# and whatever links it; a target that does not link rsplab_results gets "fatal error:
# results/store.hpp: No such file or directory". tests/layering/ proves it.
#
#   rsplab_headers(<target> [PUBLIC header...] [PRIVATE header...])
#
# Headers are named relative to the calling CMakeLists.txt's directory. PUBLIC headers are
# exported (INTERFACE for an interface library); PRIVATE ones are seen by the target's own
# sources only (stack/transport/internal.hpp, a test's harness). The staged trees are rebuilt
# at every configure, so a header taken off a list is no longer reachable.

function(rsplab_stage_headers target tree)
  file(REMOVE_RECURSE "${tree}")
  file(MAKE_DIRECTORY "${tree}")
  foreach(header IN LISTS ARGN)
    set(source "${CMAKE_CURRENT_SOURCE_DIR}/${header}")
    if(NOT EXISTS "${source}")
      message(FATAL_ERROR "rsplab_headers(${target}): no header ${source}")
    endif()
    file(RELATIVE_PATH path "${PROJECT_SOURCE_DIR}" "${source}")
    get_filename_component(dir "${tree}/${path}" DIRECTORY)
    file(MAKE_DIRECTORY "${dir}")
    file(CREATE_LINK "${source}" "${tree}/${path}" SYMBOLIC)
  endforeach()
endfunction()

function(rsplab_headers target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "PUBLIC;PRIVATE")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "rsplab_headers(${target}): unexpected ${arg_UNPARSED_ARGUMENTS}")
  endif()
  get_target_property(type ${target} TYPE)
  if(arg_PUBLIC)
    set(tree "${PROJECT_BINARY_DIR}/include/${target}")
    rsplab_stage_headers(${target} "${tree}" ${arg_PUBLIC})
    if(type STREQUAL "INTERFACE_LIBRARY")
      target_include_directories(${target} INTERFACE "${tree}")
    else()
      target_include_directories(${target} PUBLIC "${tree}")
    endif()
  endif()
  if(arg_PRIVATE)
    set(tree "${PROJECT_BINARY_DIR}/include-private/${target}")
    rsplab_stage_headers(${target} "${tree}" ${arg_PRIVATE})
    target_include_directories(${target} PRIVATE "${tree}")
  endif()
endfunction()
