// Empty: the source rsplab_test_pch compiles to produce the tests' precompiled header
// (cmake/pch.cmake).
