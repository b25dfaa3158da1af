// Command revokebot lets a team revoke people's SaaS access from Slack through AccessOwl.
//
// main only reads configuration and wires packages together; everything a test would want to
// reach lives in the packages beneath it.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `revokebot — revoke SaaS access from Slack through AccessOwl

Usage:
  revokebot version    print the version and exit
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code: 0 on success, 2 on a usage
// error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "version":
		fmt.Fprintf(stdout, "revokebot %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "revokebot: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
