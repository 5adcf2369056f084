# CTest fixture `s3server`: one local S3-compatible server (tools/s3-test-server, OpenStack
# Swift + s3api on 127.0.0.1) for the whole test run.
#
# A suite that needs it:
#   ferry_add_test(tst_x SOURCES ... LIBS ... LABELS s3 FIXTURES s3server ENV ${FERRY_S3_TEST_ENV})
# and in the test: ferry::test::S3TestServer::fromEnvironment() (tests/support), which reads
# $FERRY_S3_TEST_DIR/port. S3 credentials: access key `ferry-test`, secret `testing`, region
# us-east-1, endpoint http://127.0.0.1:PORT (path-style).
#
# The setup test starts a fresh server (data wiped) and returns once it answers HTTP; the
# cleanup test stops it with SIGTERM. Running tests by hand without ctest:
#   tests/s3server-fixture.sh start build-dir/s3server
#   FERRY_S3_TEST_DIR=build-dir/s3server build-dir/tests/s3/tst_s3server
#   tests/s3server-fixture.sh stop build-dir/s3server

set(FERRY_S3_TEST_SERVER "${PROJECT_SOURCE_DIR}/tools/s3-test-server")
set(FERRY_S3_TEST_DIR "${CMAKE_BINARY_DIR}/s3server")
set(FERRY_S3_MIN_SEGMENT_SIZE 5242880 CACHE STRING
    "Smallest multipart part (but the last) the S3 test server accepts, in bytes (AWS: 5 MiB)")

# The environment every suite using the fixture needs: pass as ENV ${FERRY_S3_TEST_ENV}.
set(FERRY_S3_TEST_ENV "FERRY_S3_TEST_DIR=${FERRY_S3_TEST_DIR}")

set(_ferry_s3_fixture_script "${CMAKE_CURRENT_LIST_DIR}/s3server-fixture.sh")
set(_ferry_s3_fixture_env
    "FERRY_S3_SERVER=${FERRY_S3_TEST_SERVER}"
    "FERRY_S3_MIN_SEGMENT_SIZE=${FERRY_S3_MIN_SEGMENT_SIZE}")

add_test(NAME s3server_start
    COMMAND /bin/sh "${_ferry_s3_fixture_script}" start "${FERRY_S3_TEST_DIR}")
add_test(NAME s3server_stop
    COMMAND /bin/sh "${_ferry_s3_fixture_script}" stop "${FERRY_S3_TEST_DIR}")
set_tests_properties(s3server_start PROPERTIES
    FIXTURES_SETUP s3server
    LABELS "s3;fixture"
    TIMEOUT 60
    ENVIRONMENT "${_ferry_s3_fixture_env}")
set_tests_properties(s3server_stop PROPERTIES
    FIXTURES_CLEANUP s3server
    LABELS "s3;fixture"
    TIMEOUT 60
    ENVIRONMENT "${_ferry_s3_fixture_env}")
