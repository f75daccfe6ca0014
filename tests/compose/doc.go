// Package compose tests docker-compose.yml, the four-container deployment
// of ingo on one Docker host (docs/deployment.md, "Docker Compose"): it
// builds the service images with containers/images/build-services.sh,
// brings the stack up under a project name of its own and free host ports,
// grades examples/hello through the HTTP API and, through the published
// NATS port, with the ingo command, then takes the stack down with its
// volume.
//
// It needs a Docker daemon, the grading image ingo/env-default (make
// images) and docker-compose (or Compose v2, `docker compose`); without
// them it is skipped, unless INGO_REQUIRE_DOCKER=1 (.ci/run), where that
// is a failure.
package compose
