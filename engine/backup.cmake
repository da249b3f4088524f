# Backup archives of the store (engine/backup.h); included by engine/CMakeLists.txt.
target_sources(sloop_engine PRIVATE backup.cc)
target_link_libraries(sloop_engine PRIVATE PkgConfig::XXHASH PkgConfig::ZSTD simdjson::simdjson)
