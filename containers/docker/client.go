package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// containerAPI lists the container calls the runtime makes.
type containerAPI interface {
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, containerID string, options container.StartOptions) error
	ContainerKill(ctx context.Context, containerID, signal string) error
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
	ContainerInspect(ctx context.Context, containerID string) (container.InspectResponse, error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerWait(ctx context.Context, containerID string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerStats(ctx context.Context, containerID string, stream bool) (container.StatsResponseReader, error)
	ContainerStatsOneShot(ctx context.Context, containerID string) (container.StatsResponseReader, error)
	ContainerAttach(ctx context.Context, containerID string, options container.AttachOptions) (types.HijackedResponse, error)
	ContainerUpdate(ctx context.Context, containerID string, updateConfig container.UpdateConfig) (container.UpdateResponse, error)
}

// volumeAPI lists the volume calls the runtime makes (the /task/student
// volume a job shares with its student containers).
type volumeAPI interface {
	VolumeRemove(ctx context.Context, volumeID string, force bool) error
	VolumeList(ctx context.Context, options volume.ListOptions) (volume.ListResponse, error)
}

// imageAPI lists the image calls the runtime makes.
type imageAPI interface {
	ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error)
}

// eventsAPI is the event stream.
type eventsAPI interface {
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
}

// dockerAPI is everything the runtime needs of the SDK client.
type dockerAPI interface {
	containerAPI
	volumeAPI
	networkAPI
	imageAPI
	eventsAPI
	Ping(ctx context.Context) (types.Ping, error)
	Close() error
}

// Options configure the runtime.
type Options struct {
	// AgentID labels every container (io.ingo.agent); Cleanup removes only
	// containers with this label value. Required.
	AgentID string `key:"-"`
	// Host is the daemon address ("unix:///var/run/docker.sock"); empty:
	// DOCKER_HOST or the default socket.
	Host string `key:"host" help:"Docker daemon address; empty: DOCKER_HOST, else the local socket"`
	// APITimeout bounds each API call (create, start, inspect, remove,
	// list, attach). Waits and streams (the attach stream once open) are
	// bounded by the job's own limits instead.
	// Default 30 s.
	APITimeout time.Duration `key:"api-timeout" check:"positive" help:"bound of each Docker API call (create, start, inspect, remove); waits are bounded by the job's limits"`
	// CPUs is the number of CPUs one job may use (NanoCPUs). Default 1.
	CPUs float64 `key:"cpus" check:"positive" help:"CPUs one job may use at once (Docker NanoCPUs), so one job cannot take every core"`
	// NoFile bounds open files per process in a container. Default 1024.
	NoFile int64 `key:"-"`
	// Network is the network a job with network_grading joins. Default
	// "bridge".
	Network string `key:"network" check:"nonempty" help:"Docker network of jobs whose task allows network (network_grading); the others get none"`
	// Seccomp is the seccomp profile of every container: SeccompIngo
	// (the default) or SeccompDaemon.
	Seccomp string `key:"seccomp" check:"oneof=ingo|daemon" help:"seccomp profile of grading and student containers: ingo (Docker's current default, which refuses io_uring, given to the daemon whatever its release) or daemon (the daemon's own)"`
	// CPUPoll is how often CPU time is measured. Default 100 ms.
	CPUPoll time.Duration `key:"-"`
	// SSH configures SSH debug and ssh_student; off without ports.
	SSH SSHOptions `key:"-"`
	// Aliases offer an image's environment under more names: INGInious
	// environment names (cpp, python3, java...) -> the name of an image
	// (org.inginious.grading.name). An alias whose image is missing, or
	// that is an image's own name, is not offered.
	Aliases map[string]string `key:"environment-aliases" help:"INGInious environment names offered as another image's, as name=environment (the name of org.inginious.grading.name); an alias whose image is missing is not offered"`
	// Pool keeps started containers waiting for jobs (see "Warm pool");
	// the zero value has none, DefaultOptions one for "default".
	Pool PoolOptions `key:"pool"`
	// Logger; default slog.Default().
	Logger *slog.Logger `key:"-"`

	// cgroupRoot is where cgroup filesystems are mounted (tests change it
	// to force the stats stream).
	cgroupRoot string
	// cgroupV1 is set by New when the daemon runs its containers in
	// cgroup v1, whose memory limit does not count TCP buffers (see
	// setMemory).
	cgroupV1 bool
	// tcpBoundLate delays boundTCP (tests: a loaded host's slow start
	// answer).
	tcpBoundLate time.Duration
}

func (o *Options) defaults() {
	if o.APITimeout <= 0 {
		o.APITimeout = DefaultAPITimeout
	}
	if o.CPUs <= 0 {
		o.CPUs = DefaultCPUs
	}
	if o.NoFile <= 0 {
		o.NoFile = 1024
	}
	if o.Network == "" {
		o.Network = DefaultNetwork
	}
	if o.Seccomp == "" {
		o.Seccomp = DefaultSeccomp
	}
	if o.CPUPoll <= 0 {
		o.CPUPoll = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.SSH.defaults()
	if o.cgroupRoot == "" {
		o.cgroupRoot = defaultCgroupRoot
	}
}

// Runtime is the Docker runtime. It implements containers.Runtime.
type Runtime struct {
	api  dockerAPI
	opts Options
	log  *slog.Logger

	changes chan struct{}
	ports   *portPool
	// imageGen counts image events; envCache is the last listing and the
	// generation it was made at (Run reuses it while no event came).
	envMu    sync.Mutex
	imageGen uint64
	envCache map[string]map[string]messages.EnvironmentInfo
	envGen   uint64

	stop context.CancelFunc
	done chan struct{}

	// pool is the warm pool (nil: none); launching counts the cold
	// starts under way, which its refill waits for.
	pool      *pool
	launching atomic.Int64
	// reaping counts the removals of stopped containers whose result Run
	// already returned; Close waits for them.
	reaping     sync.WaitGroup
	reapingRefs sync.Map // messages.JobAttempt -> true while being removed

	closeOnce sync.Once
	// tcpWarned: boundTCP said once that it cannot write the bound.
	tcpWarned atomic.Bool
	// oldLogged: Cleanup said once that it leaves unlabelled leftovers.
	oldLogged atomic.Bool
}

var _ containers.Runtime = (*Runtime)(nil)

// New connects to the Docker daemon (negotiating the API version), checks
// that it answers, and starts watching image events.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	opts.defaults()
	if opts.AgentID == "" {
		return nil, errors.New("docker runtime: an agent id is required")
	}
	copts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.Host != "" {
		copts = append(copts, client.WithHost(opts.Host))
	}
	cli, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, opts.APITimeout)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("cannot reach the Docker daemon at %s: %w (is it running? may this user use it? DOCKER_HOST chooses another)", cli.DaemonHost(), err)
	}
	// Ping negotiated the version; make sure even if it did not.
	cli.NegotiateAPIVersion(pctx)
	// Daemons before 20.10 do not say, and know only cgroup v1; one that
	// does not answer (a socket proxy that allows no /info) is taken for
	// v1 too. On a v2 daemon that costs what v1 needs: a warning that the
	// socket bound cannot be written, admission counting a quarter more
	// memory per job (JobMemory), and student containers that wait for a
	// tar (student.go).
	opts.cgroupV1 = true
	if info, err := cli.Info(pctx); err != nil {
		opts.Logger.Warn("docker runtime: the daemon's info is not readable; taking its cgroups for v1", "err", err)
	} else {
		opts.cgroupV1 = info.CgroupVersion != "2"
	}
	r := newRuntime(cli, opts)
	r.checkNetwork(ctx)
	return r, nil
}

func newRuntime(api dockerAPI, opts Options) *Runtime {
	opts.defaults()
	wctx, stop := context.WithCancel(context.Background())
	r := &Runtime{
		api:     api,
		opts:    opts,
		log:     opts.Logger.With("runtime", "docker"),
		changes: make(chan struct{}, 1),
		ports:   newPortPool(opts.SSH),
		stop:    stop,
		done:    make(chan struct{}),
	}
	r.pool = newPool(r, opts.Pool)
	go r.watchImages(wctx)
	return r
}

// Name is "docker".
func (r *Runtime) Name() string { return "docker" }

// Changes fires when grading images may have been added or removed.
func (r *Runtime) Changes() <-chan struct{} { return r.changes }

// Close removes the warm pool's idle containers, waits for the removals
// of finished jobs' containers, stops the image watcher and closes the
// client. Idempotent.
func (r *Runtime) Close() error {
	var err error
	r.closeOnce.Do(func() {
		r.shutdown()
		err = r.api.Close()
	})
	return err
}

// shutdown is Close but for the API client, which a test's runtimes may
// share: the pool's containers removed, the stopped ones' removals done,
// the background loop ended.
func (r *Runtime) shutdown() {
	r.pool.close()
	r.reaping.Wait()
	r.stop()
	<-r.done
}

// apiCtx bounds one API call.
func (r *Runtime) apiCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.opts.APITimeout)
}

// Labels of ingo's containers and volumes (see labels).
const (
	LabelAgent   = "io.ingo.agent"
	LabelJob     = "io.ingo.job"
	LabelAttempt = "io.ingo.attempt"
	// LabelInstallation and LabelSession are the job's Installation and
	// Session (containers.Job); resources of ingo before them have none.
	LabelInstallation = "io.ingo.installation"
	LabelSession      = "io.ingo.session"
	// LabelRole is "student" on student containers (absent on grading
	// containers) and "student-dir" on the /task/student volume.
	LabelRole = "io.ingo.role"
)

// INGInious' image labels.
const (
	labelName      = "org.inginious.grading.name"
	labelAdvertise = "org.inginious.grading.advertise"
	labelPorts     = "org.inginious.grading.ports"
	labelTitle     = "org.inginious.grading.title"
)

// Environment types: every image is of type "docker", and also of type
// "docker-ssh" when SSH is on (jobs of that type may call ssh_student).
const (
	EnvType    = "docker"
	EnvTypeSSH = "docker-ssh"
)

// failure wraps err with a public text.
func failure(public string, err error) error {
	return &containers.Failure{Public: public, Err: err}
}
