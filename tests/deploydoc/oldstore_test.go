package deploydoc

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestDeploymentDoc_DeleteTheOldBundleStore: docs/deployment.md tells
// operators to delete the object store of installations before protocol
// 4; the credentials and inbox prefix it gives the nats CLI may do it.
// Before, it said only `nats stream rm OBJ_ingo-tasks`: an admin's
// credentials may not delete a stream, and a backend's receive answers
// only under their own inbox prefix, so the command as written failed
// with a permissions violation.
func TestDeploymentDoc_DeleteTheOldBundleStore(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "deployment.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`ingo creds --role (\w+) --name (\S+)[^\n]*\n(?:[^\n]*\n)?[^\n]*--inbox-prefix (\S+) stream rm --force OBJ_ingo-tasks`).FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/deployment.md gives no 'ingo creds --role ROLE --name NAME' and 'nats ... --inbox-prefix PREFIX stream rm --force OBJ_ingo-tasks' to delete the old store")
	}
	role, name, prefix := natsauth.Role(m[1]), string(m[2]), string(m[3])

	n := testutil.StartNATS(t)
	js, err := jetstream.New(testutil.Connect(t, n.URL, "setup"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateObjectStore(t.Context(), jetstream.ObjectStoreConfig{Bucket: "ingo-tasks"}); err != nil {
		t.Fatal(err)
	}
	creds := testutil.Creds(t, role, name)
	nc, err := nats.Connect(n.URL, append(creds.NATSOptions(), nats.CustomInboxPrefix(prefix))...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ops, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := ops.DeleteStream(t.Context(), "OBJ_ingo-tasks"); err != nil {
		t.Fatalf("%s %s with inbox prefix %s: delete OBJ_ingo-tasks: %v", role, name, prefix, err)
	}
}
