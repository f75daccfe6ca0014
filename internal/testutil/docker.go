package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// RequireImage skips the test when no Docker daemon answers or the image is
// missing, unless INGO_REQUIRE_DOCKER=1 (CI), where that is a failure.
func RequireImage(t testing.TB, image string) {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", image).CombinedOutput()
	if err == nil {
		return
	}
	if os.Getenv("INGO_REQUIRE_DOCKER") == "1" {
		t.Fatalf("Docker image %s is not available (make images): %v: %s", image, err, out)
	}
	t.Skipf("no Docker daemon or no image %s (make images; INGO_REQUIRE_DOCKER=1 makes this a failure): %v", image, err)
}
