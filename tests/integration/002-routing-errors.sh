#!/bin/bash
# Unknown routes, wrong methods and media types each get the right status
# and an OperationOutcome naming the problem.
. "$(dirname "$0")/lib.sh"

cfy_start

req GET /nowhere
expect_outcome 404 not-supported

req GET /fhir/Encounter/1
expect_outcome 404 not-supported

req DELETE /fhir/metadata
expect_outcome 405 not-supported
expect_header Allow 'GET, HEAD'

req POST /healthz -H 'Content-Type: application/fhir+json' --data '{}'
expect_outcome 405
expect_header Allow 'GET'

req GET /fhir/metadata -H 'Accept: application/fhir+xml'
expect_outcome 406 not-supported

req GET /fhir/metadata -H 'Accept: text/html, application/json;q=0'
expect_outcome 406

req GET '/fhir/metadata?_format=xml'
expect_outcome 406

# Accept lists with wildcards are fine.
req GET /fhir/metadata -H 'Accept: text/html, */*;q=0.1'
expect_status 200

# The stable error code rides in issue.details.coding.
req GET /nowhere
expect_jq '.issue[0].details.coding[0].system' 'urn:calcifyd:error'
expect_jq '.issue[0].details.coding[0].code' '1401'

# Still serving after all of that.
req GET /healthz
expect_status 200
cfy_stop
