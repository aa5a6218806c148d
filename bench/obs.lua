-- obs.lua - wrk script: one distinct FHIR Observation (serum calcium) per
-- request, spread over 10,000 patients, values 8.5-11.4 mg/dL.  Each wrk
-- thread numbers its requests from its own offset so ids never repeat
-- (offset must be a global: thread:set() writes the thread's globals).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/fhir+json"
wrk.headers["Prefer"] = "return=minimal"

local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("offset", counter * 100000000)
end

init = function(args)
  n = 0
end

request = function()
  n = n + 1
  local k = offset + n
  local body = string.format('{"resourceType":"Observation","id":"obs-%d","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"17861-6","display":"Calcium [Mass/volume] in Serum or Plasma"}]},"subject":{"reference":"Patient/p%d"},"effectiveDateTime":"2026-11-20T08:00:00Z","valueQuantity":{"value":%0.1f,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}}', k, k % 10000, 8.5 + (k % 30) / 10)
  return wrk.format(nil, wrk.path, nil, body)
end
