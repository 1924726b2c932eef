#!/bin/sh
# Runs staticcheck, installing the pinned version from the Go module proxy
# when it is not there yet.
set -e
SC=$(go env GOPATH)/bin/staticcheck
if [ ! -x "$SC" ]; then
	go install honnef.co/go/tools/cmd/staticcheck@v0.7.0 >/dev/null 2>&1 || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
"$SC" ./...
