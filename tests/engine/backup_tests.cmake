# Backup and restore (engine/backup.h); included by tests/engine/CMakeLists.txt.
sloop_add_test(backup_test SOURCES backup_test.cc LIBS sloop_engine)
target_include_directories(backup_test PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(backup_test PRIVATE PkgConfig::ZSTD PkgConfig::XXHASH)
