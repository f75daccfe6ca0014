package browser

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// page drives the tab; every call is bounded by step.
type page struct {
	t     *testing.T
	ctx   context.Context
	shots string
	n     int
}

func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *page) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); return e ? e.textContent : "<missing>"; })()`, sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (p *page) str(expr string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return s
}

func (p *page) eval(expr string) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return n
}

func (p *page) equal(sel, want string) {
	p.t.Helper()
	if got := strings.TrimSpace(p.text(sel)); got != want {
		p.t.Errorf("%s shows %q, want %q", sel, got, want)
	}
}

func (p *page) contains(sel, want string) {
	p.t.Helper()
	if got := p.text(sel); !strings.Contains(got, want) {
		p.t.Errorf("%s shows %q, want it to contain %q", sel, got, want)
	}
}

// shot saves a full-page PNG and checks it is a real picture.
func (p *page) shot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p.n++
	path := filepath.Join(p.shots, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
	checkPNG(p.t, path)
	p.t.Logf("screenshot %s", path)
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Errorf("%s: not a PNG: %v", path, err)
		return
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		t.Errorf("%s: empty image %v", path, b)
		return
	}
	if singleColour(img) {
		t.Errorf("%s: the image is a single colour", path)
	}
}

func singleColour(img image.Image) bool {
	b := img.Bounds()
	r0, g0, b0, a0 := img.At(b.Min.X, b.Min.Y).RGBA()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, a := img.At(x, y).RGBA(); r != r0 || g != g0 || bl != b0 || a != a0 {
				return false
			}
		}
	}
	return true
}

// watchPage collects uncaught exceptions and console or browser errors
// (CSP violations among them) of the tab. Failed requests are left out:
// the event streams of the page end with the test.
func watchPage(t *testing.T, ctx context.Context) func() []string {
	var mu sync.Mutex
	var out []string
	add := func(s string) {
		mu.Lock()
		out = append(out, s)
		mu.Unlock()
	}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	entries := chromedp.Events(ctx, cdplog.EntryAdded)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			if d := ev.ExceptionDetails; d != nil {
				desc := d.Text
				if d.Exception != nil && d.Exception.Description != "" {
					desc += " " + d.Exception.Description
				}
				add(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, desc))
			}
		}
	}()
	go func() {
		for ev, err := range entries {
			if err != nil {
				return
			}
			e := ev.Entry
			if e == nil || e.Level != cdplog.EntryLevelError || e.Source == cdplog.EntrySourceNetwork {
				continue
			}
			add(fmt.Sprintf("%s %s: %s (%s)", e.Source, e.Level, e.Text, e.URL))
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), out...)
	}
}

// findChromium finds the browser, or skips (fails when
// INGO_REQUIRE_DOCKER is set, as in CI).
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("INGO_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("INGO_REQUIRE_DOCKER") != "" {
		t.Fatal("no Chromium found (chromium, chromium-browser, google-chrome or $INGO_CHROMIUM) and INGO_REQUIRE_DOCKER is set: install Debian's chromium package")
	}
	t.Skip("no Chromium found (install Debian's chromium package, or set INGO_CHROMIUM); INGO_REQUIRE_DOCKER=1 makes this a failure")
	return ""
}

// shotsDir is $INGO_BROWSER_SHOTS (created) or a temporary folder.
func shotsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("INGO_BROWSER_SHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
