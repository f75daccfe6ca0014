#!/usr/bin/python3
"""INGInious' client side of the backend protocol, as inginious/client and
inginious/common/messages.py speak it: a DEALER socket, one frame per
message, msgpack maps with "@type" (use_bin_type=True; loaded with
use_list=False, strict_map_key=False). Run by gateway/inginious/python_test.go with
the bridge's endpoint; prints "ok" when every step matched."""
import sys
import msgpack
import zmq

endpoint = sys.argv[1]
ctx = zmq.Context()
sock = ctx.socket(zmq.DEALER)
sock.setsockopt(zmq.LINGER, 0)
sock.connect(endpoint)
poller = zmq.Poller()
poller.register(sock, zmq.POLLIN)


def dump(type_, **fields):
    d = dict(fields)
    d["@type"] = type_
    return msgpack.dumps(d, use_bin_type=True)


def send(type_, **fields):
    sock.send_multipart([dump(type_, **fields)])


def recv(*skip):
    while True:
        if not poller.poll(30000):
            raise SystemExit("timeout waiting for a message")
        frames = sock.recv_multipart()
        assert len(frames) == 1, frames
        msg = msgpack.loads(frames[0], use_list=False, strict_map_key=False)
        if msg["@type"] not in skip:
            return msg


def new_job(job_id, fake, course="algo", course_key="course_id", **extra):
    fields = dict(job_id=job_id, priority=0, task_id="sort", task_problems={},
                  inputdata={"q1": "x", "@state": "", "@fake": fake},
                  environment_type="docker", environment="default",
                  environment_parameters={"limits": {"time": 10, "memory": 128}},
                  debug=False, launcher="Frontend - bob")
    fields[course_key] = course
    fields.update(extra)
    send("ClientNewJob", **fields)


send("ClientHello", name="me")
m = recv()
assert m["@type"] == "BackendUpdateEnvironments", m
assert m["available_environments"] == {"docker": ("cpp", "default")}, m

send("Ping")
assert recv("BackendUpdateEnvironments")["@type"] == "Pong"

new_job("aaaaaaaa-0000-0000-0000-000000000001",
        {"result": "failed", "text": "close", "grade": 12.5,
         "problems": {"q1": {"status": "failed", "text": "wrong"}}})
m = recv("BackendUpdateEnvironments")
assert m == {"job_id": "aaaaaaaa-0000-0000-0000-000000000001", "@type": "BackendJobStarted"}, m
m = recv("BackendUpdateEnvironments")
assert m["@type"] == "BackendJobDone", m
assert m["result"] == ("failed", "close"), m["result"]
assert m["grade"] == 12.5 and isinstance(m["grade"], float), m["grade"]
assert m["problems"] == {"q1": ("failed", "wrong")}, m["problems"]
assert m["state"] == "" and m["archive"] is None and m["stdout"] is None and m["stderr"] is None, m
assert list(m.keys()) == ["job_id", "result", "grade", "problems", "tests", "custom", "state",
                          "archive", "stdout", "stderr", "@type"], list(m.keys())

# INGInious 0.9 (2025) names the course taskset_id.
new_job("aaaaaaaa-0000-0000-0000-000000000002", {"text": "old"}, course_key="taskset_id")
m = recv("BackendUpdateEnvironments", "BackendJobStarted")
assert m["@type"] == "BackendJobDone" and m["result"][1] == "old", m

# A running job in the queue snapshot, then killed.
new_job("aaaaaaaa-0000-0000-0000-000000000003", {"hang": True})
recv("BackendUpdateEnvironments")
send("ClientGetQueue")
m = recv("BackendUpdateEnvironments")
assert m["@type"] == "BackendGetQueue", m
assert len(m["jobs_running"]) == 1 and m["jobs_waiting"] == (), m
job_id, mine, agent, info, launcher, started_at, max_time = m["jobs_running"][0]
assert (job_id, mine, agent, info, launcher, max_time) == \
    ("aaaaaaaa-0000-0000-0000-000000000003", True, "agent one", "algo/sort", "Frontend - bob", 10), m
assert isinstance(started_at, int) and started_at > 1.7e9, started_at
send("ClientKillJob", job_id="aaaaaaaa-0000-0000-0000-000000000003")
m = recv("BackendUpdateEnvironments")
assert m["@type"] == "BackendJobDone" and m["result"][0] == "killed", m

# A frame that is not a message is answered, and the bridge goes on.
sock.send_multipart([b"\xc1garbage"])
assert recv("BackendUpdateEnvironments")["@type"] == "Unknown"
send("Ping")
assert recv("BackendUpdateEnvironments")["@type"] == "Pong"
print("ok")
