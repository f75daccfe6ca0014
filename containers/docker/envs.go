package docker

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/ingo-grader/ingo/messages"
)

// Environments lists the grading images: every image with the label
// org.inginious.grading.name, the newest (Created) per name, as type
// "docker", and also as "docker-ssh" when SSH is on.
// org.inginious.grading.agent_version is not required.
func (r *Runtime) Environments(ctx context.Context) (map[string]map[string]messages.EnvironmentInfo, error) {
	r.envMu.Lock()
	gen := r.imageGen
	r.envMu.Unlock()
	actx, cancel := r.apiCtx(ctx)
	defer cancel()
	imgs, err := r.api.ImageList(actx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", labelName))})
	if err != nil {
		return nil, fmt.Errorf("list grading images: %w", err)
	}
	envs := environmentsOf(imgs)
	for alias, target := range r.opts.Aliases {
		info, ok := envs[EnvType][target]
		if _, taken := envs[EnvType][alias]; ok && !taken {
			envs[EnvType][alias] = info
		}
	}
	if r.opts.SSH.Enabled() {
		// The same images serve tasks whose students get SSH access.
		ssh := make(map[string]messages.EnvironmentInfo, len(envs[EnvType]))
		for name, info := range envs[EnvType] {
			ssh[name] = info
		}
		envs[EnvTypeSSH] = ssh
	}
	r.envMu.Lock()
	r.envCache, r.envGen = envs, gen
	r.envMu.Unlock()
	return envs, nil
}

// cachedEnvironments is the last listing while no image event came since,
// else a new one.
func (r *Runtime) cachedEnvironments(ctx context.Context) (map[string]map[string]messages.EnvironmentInfo, error) {
	r.envMu.Lock()
	envs, fresh := r.envCache, r.envCache != nil && r.envGen == r.imageGen
	r.envMu.Unlock()
	if fresh {
		return envs, nil
	}
	return r.Environments(ctx)
}

// environmentsOf picks the newest image per name.
func environmentsOf(imgs []image.Summary) map[string]map[string]messages.EnvironmentInfo {
	envs := map[string]messages.EnvironmentInfo{}
	for _, im := range imgs {
		name := strings.TrimSpace(im.Labels[labelName])
		if name == "" {
			continue
		}
		if old, ok := envs[name]; ok && (old.Created > im.Created || (old.Created == im.Created && old.ID < im.ID)) {
			continue
		}
		info := messages.EnvironmentInfo{
			ID:         im.ID,
			Created:    im.Created,
			Title:      im.Labels[labelTitle],
			Advertised: !strings.EqualFold(strings.TrimSpace(im.Labels[labelAdvertise]), "false"),
		}
		for _, p := range strings.Split(im.Labels[labelPorts], ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil && n > 0 && n < 65536 {
				info.Ports = append(info.Ports, n)
			}
		}
		sort.Ints(info.Ports)
		envs[name] = info
	}
	return map[string]map[string]messages.EnvironmentInfo{EnvType: envs}
}

// invalidate makes the next Run list the images again.
func (r *Runtime) invalidate() {
	r.envMu.Lock()
	r.imageGen++
	r.envMu.Unlock()
}

// signal invalidates the cached listing and fires Changes without blocking
// (coalescing, buffer 1).
func (r *Runtime) signal() {
	r.invalidate()
	// Idle warm containers of an image no longer their environment's go.
	r.pool.kick()
	select {
	case r.changes <- struct{}{}:
	default:
	}
}

// watchImages follows image events until ctx ends, reconnecting with a
// backoff when the stream breaks; after a reconnect it signals a change,
// since events may have been missed meanwhile.
func (r *Runtime) watchImages(ctx context.Context) {
	defer close(r.done)
	f := filters.NewArgs(filters.Arg("type", string(events.ImageEventType)))
	for _, a := range []events.Action{events.ActionTag, events.ActionUnTag, events.ActionDelete, events.ActionImport, events.ActionLoad} {
		f.Add("event", string(a))
	}
	backoff := 500 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		sctx, cancel := context.WithCancel(ctx)
		msgs, errs := r.api.Events(sctx, events.ListOptions{Filters: f})
		if !first {
			r.signal()
		}
		first = false
		start := time.Now()
		err := func() error {
			for {
				select {
				case <-sctx.Done():
					return nil
				case m := <-msgs:
					r.log.Debug("image event", "action", m.Action, "image", m.Actor.ID)
					r.signal()
				case err := <-errs:
					return err
				}
			}
		}()
		cancel()
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 30*time.Second {
			backoff = 500 * time.Millisecond
		}
		r.log.Warn("docker image event stream broke; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}
