package browser

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
)

// killSteps kills the waiting job patient, then the running job stuck,
// whose job view is open. Kill asks "Kill? Yes / No" first: No sends
// nothing, Yes sends one DELETE.
func killSteps(t *testing.T, p *page, deletes *atomic.Int64) {
	t.Helper()
	row := `#waiting tr[data-job="patient"]`
	p.do("ask to kill patient", chromedp.Click(chromedp.CSS(row+` button[data-action="kill"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+` .confirm button[data-action="kill-yes"]`)))
	p.contains(row+` .confirm`, "Kill?")
	if a := p.str(`(document.activeElement && document.activeElement.dataset.action) || ""`); a != "kill-no" {
		t.Errorf("the focus is on %q, want No (kill-no)", a)
	}
	p.shot("05-kill-confirm")
	p.do("answer no", chromedp.Click(chromedp.CSS(row+` button[data-action="kill-no"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+` button[data-action="kill"]`)))
	if n := deletes.Load(); n != 0 {
		t.Errorf("%d kills sent before any Yes", n)
	}
	p.do("kill patient", chromedp.Click(chromedp.CSS(row+` button[data-action="kill"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+` button[data-action="kill-yes"]`)),
		chromedp.Click(chromedp.CSS(row+` button[data-action="kill-yes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#recent tr[data-job="patient"][data-status="killed"]`)),
		// The history may know the end before the next queue snapshot.
		chromedp.WaitNotPresent(chromedp.CSS(row)))

	// The open job view asks as well, for the same job.
	row = `#running tr[data-job="stuck"]`
	p.do("kill stuck", chromedp.Click(chromedp.CSS(row+` button[data-action="kill"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail .detail-actions button[data-action="kill-yes"]`)),
		chromedp.Click(chromedp.CSS(row+` button[data-action="kill-yes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#recent tr[data-job="stuck"][data-status="killed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail[data-job="stuck"] dd [data-field="result-status"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(row)))
	if n := deletes.Load(); n != 2 {
		t.Errorf("%d kills sent, want 2", n)
	}
}

func trim(s string) string { return strings.TrimSpace(s) }
