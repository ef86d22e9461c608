package roles

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// runCurl is the part of curl the real images' own commands use, so that `docker exec CONTAINER
// curl ...` works in a fake container as in a real one: trivy-adapter-photon's HEALTHCHECK runs
// `curl --fail -s http://127.0.0.1:8080/probe/healthy` (goharbor/harbor
// make/photon/trivy-adapter/Dockerfile), and bundle reads the adapter's /api/v1/metadata the
// same way. Options: -s/--silent, -f/--fail, -k/--insecure, -S, combined short flags (-sf,
// -fsSk), one URL, GET only. Exit codes are curl's: 7 cannot connect, 22 HTTP error with
// --fail, 2 usage.
func runCurl(env *Env, args []string) int {
	var fail, insecure, silent bool
	var url string
	for _, a := range args {
		switch {
		case a == "--fail":
			fail = true
		case a == "--insecure":
			insecure = true
		case a == "--silent":
			silent = true
		case strings.HasPrefix(a, "--"):
			fmt.Fprintf(env.Stderr, "curl: option %s: is unknown\n", a)
			return exitUsage
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for _, c := range a[1:] {
				switch c {
				case 'f':
					fail = true
				case 'k':
					insecure = true
				case 's':
					silent = true
				case 'S':
				default:
					fmt.Fprintf(env.Stderr, "curl: option -%c: is unknown\n", c)
					return exitUsage
				}
			}
		case url == "":
			url = a
		default:
			fmt.Fprintln(env.Stderr, "curl: (2) the fake curl takes one URL")
			return exitUsage
		}
	}
	if url == "" {
		fmt.Fprintln(env.Stderr, "curl: no URL specified!")
		return exitUsage
	}
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },           // no -L
		Transport:     &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{InsecureSkipVerify: insecure}}} //nolint:gosec // curl -k
	resp, err := client.Get(url)
	if err != nil {
		if !silent {
			fmt.Fprintf(env.Stderr, "curl: (7) Failed to connect: %v\n", err)
		}
		return 7
	}
	defer resp.Body.Close()
	if fail && resp.StatusCode >= 400 {
		if !silent {
			fmt.Fprintf(env.Stderr, "curl: (22) The requested URL returned error: %d\n", resp.StatusCode)
		}
		return 22
	}
	if _, err := io.Copy(env.Stdout, resp.Body); err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintf(env.Stderr, "curl: (56) Failure when receiving data: %v\n", err)
		return 56
	}
	return exitOK
}
