// Command probe is the only program in the test image of package docker's tests: each argument
// list exercises one thing `docker run` must pass through (arguments, env, stdin, mounts, exit
// codes, user).
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("probe: echo|env|cat|write|exit|sleep|id")
		return
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "echo":
		fmt.Println(strings.Join(args, " "))
	case "env":
		fmt.Println(os.Getenv(args[0]))
	case "cat":
		io.Copy(os.Stdout, os.Stdin)
	case "write":
		if err := os.WriteFile(args[0], []byte(args[1]), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "exit":
		n, _ := strconv.Atoi(args[0])
		fmt.Fprintln(os.Stderr, "exiting with", n)
		os.Exit(n)
	case "sleep":
		n, _ := strconv.Atoi(args[0])
		time.Sleep(time.Duration(n) * time.Second)
	case "id":
		fmt.Println(os.Getuid())
	}
}
