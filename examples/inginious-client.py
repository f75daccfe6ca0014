#!/usr/bin/python3
"""Submit one job as an INGInious webapp does, and print its result.

    python3 examples/inginious-client.py tcp://127.0.0.1:2001 COURSE TASK [KEY=VALUE...] [--env NAME]

Speaks INGInious' client protocol (ZeroMQ DEALER, msgpack maps with "@type")
to `ingo inginious-bridge` (or to INGInious' own backend), for checking a
bridge by hand. Needs python3-zmq and python3-msgpack. Exits 0 when the
job's status is success."""
import json
import sys
import time
import uuid

import msgpack
import zmq


def main(argv):
    args, env = [], "default"
    rest = iter(argv)
    for a in rest:
        if a == "--env":  # --env NAME, as the usage says
            env = next(rest, env)
        elif a.startswith("--env="):
            env = a.split("=", 1)[1]
        else:
            args.append(a)
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    endpoint, course, task = args[:3]
    inputs = dict(kv.split("=", 1) for kv in args[3:])
    inputs.setdefault("@username", "inginious-client")
    inputs.setdefault("@lang", "en")
    inputs.setdefault("@state", "")
    sock = zmq.Context().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)

    def send(type_, **fields):
        fields["@type"] = type_
        sock.send(msgpack.dumps(fields, use_bin_type=True))

    def recv():
        # Ping every second while waiting, as INGInious' webapp does: a
        # webapp silent for 5 s is gone to the bridge, which then keeps
        # its results for another (a job waiting behind a deadline's
        # queue never came back). Give up after 120 s without a word.
        silent_since = time.monotonic()
        while not poller.poll(1000):
            if time.monotonic() - silent_since > 120:
                raise SystemExit("no answer from " + endpoint)
            send("Ping")
        return msgpack.loads(sock.recv(), strict_map_key=False)

    send("ClientHello", name="inginious-client")
    job_id = str(uuid.uuid4())
    send("ClientNewJob", job_id=job_id, priority=0, course_id=course, task_id=task,
         task_problems={}, inputdata=inputs, environment_type="docker", environment=env,
         environment_parameters={"limits": {"time": 30, "memory": 256}}, debug=False,
         launcher="inginious-client.py")
    while True:
        m = recv()
        if m.get("@type") == "BackendJobDone" and m.get("job_id") == job_id:
            m["archive"] = None if m.get("archive") is None else "%d bytes" % len(m["archive"])
            print(json.dumps(m, indent=2, default=str))
            return 0 if m["result"][0] == "success" else 1
        if m.get("@type") == "Unknown":
            send("ClientHello", name="inginious-client")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
