// Command fakeharbor serves and writes the fake Harbor releases for the demo, the benchmarks and
// anyone checking bundle's claims by hand.
//
//	fakeharbor serve [--size tiny|medium|large|BYTES] [--versions v1.9.4,v1.10.0] [--cache DIR] [--content synthetic|debian]
//	fakeharbor images --version v1.10.0 -o FILE.tar      (one docker save of the release)
//	fakeharbor installer --version v1.10.0 [--offline] -o FILE.tgz
//	fakeharbor list --version v1.10.0                    (references, digests, sizes)
//	fakeharbor install --version v1.9.4 --dir DIR [--components clair,chartmuseum] [--offline]
//	fakeharbor seed --dir DIR | check --dir DIR [--version V] | remove --dir DIR
//
// serve prints as its first line `registry=127.0.0.1:PORT installers=http://127.0.0.1:PORT` and
// runs until interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/harborbundle/bundle/internal/fakeharbor"
)

const usage = `usage:
  fakeharbor serve [--size tiny|medium|large|BYTES] [--versions v1.9.4,v1.10.0] [--cache DIR] [--content synthetic|debian]
  fakeharbor images --version VERSION -o FILE.tar [--size ...]
  fakeharbor installer --version VERSION [--offline] -o FILE.tgz [--size ...]
  fakeharbor list --version VERSION [--size ...]
  fakeharbor packages [--content debian]   (name=version of the Debian packages the content is made of)
  fakeharbor install --version VERSION --dir DIR [--components clair,chartmuseum,notary,trivy] [--offline]
  fakeharbor seed --dir DIR          (a project and a blob, recorded in DIR/seeded.json)
  fakeharbor check --dir DIR [--version VERSION] [--timeout 2m]
  fakeharbor remove --dir DIR        (containers, network, images, DIR)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fakeharbor:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("bad usage")

// common are the flags every subcommand shares.
type common struct {
	size, versions, cache, version, out string
	content                             string
	dir, components                     string
	offline                             bool
	timeout                             time.Duration
}

func parse(args []string) (string, common, error) {
	var c common
	if len(args) == 0 {
		return "", c, errUsage
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.size, "size", "tiny", "tiny, medium, large or a byte count (250MB, 3GB)")
	fs.StringVar(&c.versions, "versions", "", "comma-separated releases to serve (default: all)")
	fs.StringVar(&c.content, "content", fakeharbor.ContentSynthetic, "the images' files: synthetic (generated) or debian (real Debian packages, fetched with apt-get)")
	fs.StringVar(&c.cache, "cache", "", "cache directory (default: "+fakeharbor.DefaultCacheDir()+")")
	fs.StringVar(&c.version, "version", "", "the release")
	fs.StringVar(&c.out, "o", "", "output file")
	fs.BoolVar(&c.offline, "offline", false, "the offline installer (with harbor.vX.tar.gz)")
	fs.StringVar(&c.dir, "dir", "", "the workspace of an installed fake harbor")
	fs.StringVar(&c.components, "components", "", "optional components (install.sh --with-...): clair,chartmuseum,notary (1.x, 2.0-2.8 as each accepts), trivy (2.x)")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Minute, "how long to wait for health")
	if err := fs.Parse(args[1:]); err != nil {
		return "", c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return "", c, fmt.Errorf("%w: unexpected %q", errUsage, fs.Args())
	}
	return args[0], c, nil
}

func (c common) options() (fakeharbor.Options, error) {
	size, err := fakeharbor.ParseSize(c.size)
	if err != nil {
		return fakeharbor.Options{}, err
	}
	opts := fakeharbor.Options{Size: size, Dir: c.cache, Content: c.content}
	if c.versions != "" {
		opts.Versions = strings.Split(c.versions, ",")
	}
	if c.version != "" {
		opts.Versions = []string{c.version}
	}
	return opts, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	verb, c, err := parse(args)
	if err != nil {
		return err
	}
	opts, err := c.options()
	if err != nil {
		return err
	}
	switch verb {
	case "serve":
		return serve(ctx, opts, stdout)
	case "install", "seed", "check", "remove":
		if c.dir == "" {
			return fmt.Errorf("%w: %s needs --dir DIR", errUsage, verb)
		}
		return harborVerb(ctx, verb, c, opts, stdout)
	case "packages":
		b, err := fakeharbor.NewBuilder(ctx, opts)
		if err != nil {
			return err
		}
		for _, p := range b.Packages() {
			fmt.Fprintln(stdout, p)
		}
		return nil
	case "images", "installer", "list":
		if c.version == "" {
			return fmt.Errorf("%w: %s needs --version", errUsage, verb)
		}
		b, err := fakeharbor.NewBuilder(ctx, opts)
		if err != nil {
			return err
		}
		if verb == "list" {
			return list(b, c.version, stdout)
		}
		if c.out == "" {
			return fmt.Errorf("%w: %s needs -o FILE", errUsage, verb)
		}
		return writeFile(c.out, func(w io.Writer) error {
			switch {
			case verb == "images":
				return b.DockerArchive(c.version, w)
			case c.offline:
				return b.OfflineInstaller(c.version, w)
			default:
				return b.OnlineInstaller(c.version, w)
			}
		})
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, verb)
}

func serve(ctx context.Context, opts fakeharbor.Options, stdout io.Writer) error {
	s, err := fakeharbor.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(stdout, "registry=%s installers=%s\n", s.RegistryAddr, s.InstallersURL)
	o := s.Options()
	fmt.Fprintf(stdout, "size=%s versions=%s cache=%s\n", o.Size, strings.Join(o.Versions, ","), o.Dir)
	<-ctx.Done()
	return nil
}

func list(b *fakeharbor.Builder, version string, stdout io.Writer) error {
	refs, err := b.Release(version)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		d, err := ref.Image.Digest()
		if err != nil {
			return err
		}
		size, err := fakeharbor.ImageSize(ref.Image)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %s %d\n", ref.Ref, d, size)
	}
	return nil
}

// writeFile writes to a temporary name and renames, so a failed run leaves no half file.
func writeFile(name string, write func(io.Writer) error) error {
	tmp := name + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
