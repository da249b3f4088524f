# cmake -DBENCH=path/to/sloop-bench -DDIR=scratch-dir [-DSIDES=ours,rocksdb,ratios,...] -P check_bench.cmake
# Runs `sloop-bench --generate small --quick --floor --dir DIR` and checks its exit status and that
# the last line of its standard output is one JSON object with each side's figures (SIDES: the
# stores and ratio objects expected; the Badger side only when its program was built), the ratios
# and the floor's sizes.
if(NOT DEFINED SIDES)
  set(SIDES ours,rocksdb,ratios)
endif()
string(REPLACE "," ";" SIDES "${SIDES}")
execute_process(
  COMMAND ${BENCH} --generate small --quick --floor --dir ${DIR}
  RESULT_VARIABLE status
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "sloop-bench exited with ${status}\nstdout:\n${out}\nstderr:\n${err}")
endif()
string(STRIP "${out}" out)
string(FIND "${out}" "\n" nl REVERSE)
math(EXPR nl "${nl} + 1")
string(SUBSTRING "${out}" ${nl} -1 last)
message(STATUS "last line: ${last}")

string(JSON workload ERROR_VARIABLE e GET "${last}" workload)
if(e)
  message(FATAL_ERROR "the last line is not the JSON summary (${e}):\n${last}")
endif()
string(JSON records GET "${last}" records)
if(records LESS_EQUAL 0)
  message(FATAL_ERROR "no records replayed: ${last}")
endif()
set(figures
  ingest_s ingest_events_per_s ingest_mb_per_s disk_bytes disk_bytes_per_event compression_ratio
  peak_rss_mb rss_after_ingest_mb
  timeline_1h_median_ms timeline_1h_p99_ms timeline_24h_median_ms timeline_24h_p99_ms
  history_median_ms history_p99_ms search_median_ms search_p99_ms events_median_ms events_p99_ms
  timeline_1h_busy_median_ms timeline_1h_busy_p99_ms)
foreach(side ${SIDES})
  foreach(key ${figures})
    if(side MATCHES "^ratios" AND key STREQUAL "disk_bytes")
      continue()
    endif()
    string(JSON v ERROR_VARIABLE e GET "${last}" ${side} ${key})
    if(e)
      message(FATAL_ERROR "missing ${side}.${key} in the JSON summary:\n${last}")
    endif()
  endforeach()
endforeach()
foreach(side ${SIDES})
  if(NOT side MATCHES "^ratios")
    string(JSON stored GET "${last}" ${side} stored_records)
    if(stored LESS_EQUAL 0)
      message(FATAL_ERROR "${side} kept no records: ${last}")
    endif()
  endif()
endforeach()
foreach(key raw_bytes zstd19_long27_bytes zstd3_long27_bytes ours_over_zstd19 ours_over_zstd3)
  string(JSON v ERROR_VARIABLE e GET "${last}" floor ${key})
  if(e)
    message(FATAL_ERROR "missing floor.${key} in the JSON summary:\n${last}")
  endif()
endforeach()
string(JSON raw GET "${last}" floor raw_bytes)
string(JSON z19 GET "${last}" floor zstd19_long27_bytes)
if(raw LESS_EQUAL 0 OR z19 LESS_EQUAL 0 OR z19 GREATER_EQUAL raw)
  message(FATAL_ERROR "floor sizes out of order (raw ${raw}, zstd -19 ${z19}): ${last}")
endif()
