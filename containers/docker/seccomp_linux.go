package docker

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/moby/profiles/seccomp"
)

// ingoSeccompOpt is SeccompIngo as a HostConfig.SecurityOpt, the JSON
// profile itself: the daemon takes its content, not a file's name (the
// docker CLI reads the file).
var ingoSeccompOpt = sync.OnceValue(func() string {
	b, err := json.Marshal(seccomp.DefaultProfile())
	if err != nil {
		panic(fmt.Sprintf("docker: the default seccomp profile does not encode: %v", err))
	}
	return "seccomp=" + string(b)
})
