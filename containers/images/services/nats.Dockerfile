# The image of docker-compose.yml's nats service: the real nats-server,
# built by containers/images/build-services.sh from the Go module that
# go.mod pins (CGO_ENABLED=0 go build github.com/nats-io/nats-server/v2),
# alone in an empty image, tagged ingo/nats:dev. Its configuration is
# mounted at /etc/nats/nats.conf (configs/compose/nats.conf in the
# compose file); JetStream keeps its files under /data.
FROM scratch
COPY nats-server /nats-server
EXPOSE 4222
ENTRYPOINT ["/nats-server"]
CMD ["-c", "/etc/nats/nats.conf"]
