package reports

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ChromiumEnv names the Chromium binary for TestHTMLReportInChromium (default: chromium on PATH,
// Debian's package).
const ChromiumEnv = "NETCERT_CHROMIUM"

// TestHTMLReportInChromium renders the HTML report of a flannel and a calico run in headless
// Chromium, checks that the matrix, its cells' times and the key figures are visible (laid out,
// inside the window and not covered) and that the screenshot shows the passed and failed cells and
// the chart's bars, and keeps the screenshot in reports/out/browser/.
func TestHTMLReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("renders in headless Chromium: make browser")
	}
	chromium := os.Getenv(ChromiumEnv)
	if chromium == "" {
		var err error
		chromium, err = exec.LookPath("chromium")
		require.NoError(t, err, "install Debian's chromium (apt-get install chromium; make setup does) or set %s", ChromiumEnv)
	}
	dir := t.TempDir()
	calico := NewRecorder("calico", "calico")
	calico.Infrastructure(2*time.Minute, nil)
	calico.StartCase(Case{ID: "ip-forward-off", Name: "ip-forward-off", Fault: "ip-forward-off"})
	calico.Step("ip-forward-off", Step{Name: "detection", Outcome: Passed, DurationMS: 21000})
	calico.Update("ip-forward-off", func(c *Case) { c.TimeToDetectMS, c.TimeToRepairMS = i64(21200), i64(1900) })
	rep := flannelRun().Report()
	rep.Runs = append(rep.Runs, calico.Run())
	_, err := WriteFiles(dir, "report", rep)
	require.NoError(t, err)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 2000), chromedp.Flag("headless", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, time.Minute)
	defer cancel()

	// What a person must see: each selector's element laid out inside the window, not covered.
	visible := map[string]string{
		"matrix":            "#matrix",
		"passed figure":     "#fig-passed",
		"failed figure":     "#fig-failed",
		"a time to detect":  "#matrix td.passed .times b",
		"a failed cell":     "#matrix td.failed .outcome",
		"the chart":         "#chart rect",
		"the calico column": "#matrix thead th:nth-child(2)",
	}
	page := "file://" + filepath.Join(dir, "report.html")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible("#matrix")), "render %s in %s", page, chromium)
	seen, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]bool](visibilityScript(visible)))
	require.NoError(t, err)
	texts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`({passed: document.querySelector("#fig-passed").innerText,
		failed: document.querySelector("#fig-failed").innerText, matrix: document.querySelector("#matrix").innerText})`))
	require.NoError(t, err)
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	for what, sel := range visible {
		assert.True(t, seen[what], "%s (%s) is not visible", what, sel)
	}
	assert.Equal(t, "3", texts["passed"])
	assert.Equal(t, "1", texts["failed"])
	for _, figure := range []string{"8.7 s", "1.3 s", "21.2 s", "1.9 s"} {
		assert.Contains(t, texts["matrix"], figure)
	}

	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err, "the screenshot is a PNG")
	for what, c := range map[string]color.RGBA{
		"a passed cell's green": {0xda, 0xfb, 0xe1, 0xff}, "a failed cell's red": {0xff, 0xeb, 0xe9, 0xff},
		"the detect bars' blue": {0x09, 0x69, 0xda, 0xff}, "the repair bars' amber": {0xbf, 0x87, 0x00, 0xff},
	} {
		assert.Greater(t, pixelsOf(img, c), 200, "the screenshot shows %s", what)
	}
	// The visibility check can fail: a figure under another element is not visible.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const cover = document.createElement("div");
		cover.style.cssText = "position:fixed;inset:0;background:#fff";
		document.body.appendChild(cover);
		return true; })()`))
	require.NoError(t, err)
	covered, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]bool](visibilityScript(map[string]string{"figure": "#fig-passed"})))
	require.NoError(t, err)
	assert.False(t, covered["figure"], "a figure under another element counts as not visible")

	out := filepath.Join("out", "browser")
	if err := os.MkdirAll(out, 0o755); err == nil {
		if err := os.WriteFile(filepath.Join(out, "report.png"), shot, 0o644); err == nil {
			t.Logf("screenshot: reports/%s", filepath.Join(out, "report.png"))
		}
	}
}

// visibilityScript returns, per name, whether the selector's first element is laid out, inside
// the window and the topmost element at its centre (or inside it).
func visibilityScript(selectors map[string]string) string {
	js := "(() => { const out = {}; const vis = (sel) => { const el = document.querySelector(sel); if (!el) return false;" +
		" const r = el.getBoundingClientRect(); if (r.width < 1 || r.height < 1) return false;" +
		" if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) return false;" +
		" const s = getComputedStyle(el); if (s.visibility === 'hidden' || s.display === 'none' || s.opacity === '0') return false;" +
		" const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);" +
		" return top !== null && (el === top || el.contains(top) || top.contains(el)); };"
	for name, sel := range selectors {
		js += fmt.Sprintf(" out[%q] = vis(%q);", name, sel)
	}
	return js + " return out; })()"
}

// pixelsOf counts the pixels of exactly colour c.
func pixelsOf(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == c.R && uint8(g>>8) == c.G && uint8(bl>>8) == c.B {
				n++
			}
		}
	}
	return n
}
