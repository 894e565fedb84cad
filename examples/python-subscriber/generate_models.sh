#!/bin/sh
# Regenerates checkout_events/ from the committed JSON Schemas with datamodel-code-generator
# (pinned in scripts/python/requirements.txt). test/integration/python-subscriber.test.ts checks
# that the committed models are what this generates.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
out=${1:-"$here/checkout_events"}
datamodel-codegen --input "$here/../../events/json-schema" --input-file-type jsonschema \
  --output "$out" --output-model-type pydantic_v2.BaseModel --target-python-version 3.11 \
  --disable-timestamp
