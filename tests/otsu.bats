#!/usr/bin/env bats
load helper

@test "otsu: --help and --version" {
	run otsu --help
	assert_success
	assert_output --partial "Usage: otsu"
	run otsu --version
	assert_success
	assert_output --regexp "^otsu \(segpipe\) [0-9.]+$"
}
