# The image of docker-compose.yml's backend, api and agent services:
# the static ingo binary alone, FROM scratch, so nothing is pulled from a
# registry. containers/images/build-services.sh builds the binary
# (CGO_ENABLED=0 go build ./cmd/ingo) into the build context beside this
# file and tags the image ingo/ingo:dev.
#
# It runs as root (there is no other user in an empty image): the agent
# needs the mounted Docker socket, which only root and the docker group
# may use. The backend and the API need no privilege; run them with
# `user: "65534:65534"` if you like (docker-compose.yml does).
FROM scratch
# /tmp, mode 1777 as everywhere (the API unpacks task archives there): an
# empty image has none, and COPY can neither set that mode without BuildKit
# nor make an empty directory. ADD unpacks the script's rootfs.tar (tmp/,
# and var/lib/ingo/ of user 65534 for the installation's keys) with its
# modes and owners.
ADD rootfs.tar /
COPY ingo /ingo
ENTRYPOINT ["/ingo"]
CMD ["--help"]
