// Command ingo-helper is the entrypoint of ingo's grading images and the
// task-author commands inside them (getinput, feedback-result...), one
// static binary called by many names. See package
// github.com/ingo-grader/ingo/containers/helper for the contract.
package main

import (
	"os"

	"github.com/ingo-grader/ingo/containers/helper"
)

func main() { os.Exit(helper.Main(os.Args)) }
