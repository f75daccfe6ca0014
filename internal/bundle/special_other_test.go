//go:build !unix

package bundle

var specialFileCases []refusal
