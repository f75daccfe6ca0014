#!/usr/bin/python3
"""An INGInious webapp's side of the backend protocol, for a batch of jobs:

    client.py ENDPOINT TASKS_DIR < jobs.json > results.json

jobs.json is a list of {"job_id", "course", "task", "inputdata"}. Each
job's environment and its parameters come from the task's task.yaml, read
and migrated from the older format as the webapp does (inginious/common/
tasks.py: "environment" and top-level "limits" become environment_id and
environment_parameters, the type mcq for the environment mcq), and are sent
unchanged, strings and all, with the task's problems as task_problems. Every
job is sent at once; prints {job_id: BackendJobDone} as JSON once all are
done (bytes as None, tuples as lists). It pings every second while it
waits, as INGInious' client does: the bridge hands results only to a
webapp that is alive."""
import json
import os
import sys
import time

import msgpack
import yaml
import zmq

endpoint, tasks_dir = sys.argv[1], sys.argv[2]
jobs = json.load(sys.stdin)

sock = zmq.Context().socket(zmq.DEALER)
sock.setsockopt(zmq.LINGER, 0)
sock.connect(endpoint)
poller = zmq.Poller()
poller.register(sock, zmq.POLLIN)


def send(type_, **fields):
    fields["@type"] = type_
    sock.send(msgpack.dumps(fields, use_bin_type=True))


def task_environment(course, task):
    with open(os.path.join(tasks_dir, course, task, "task.yaml")) as f:
        desc = yaml.safe_load(f)
    if "environment" in desc:  # the format before INGInious 0.7
        desc.setdefault("environment_id", desc["environment"])
        desc.setdefault("environment_type", "mcq" if desc["environment"] == "mcq" else "docker")
    if "limits" in desc:
        desc.setdefault("environment_parameters", {
            "limits": desc["limits"],
            "run_cmd": desc.get("run_cmd", ""),
            "network_grading": desc.get("network_grading", False),
            "response_is_html": desc.get("response_is_html", False),
        })
    return (desc.get("environment_type", "docker"), desc["environment_id"], desc.get("environment_parameters", {}),
            desc.get("problems", {}))


send("ClientHello", name="compat-webapp")
for job in jobs:
    env_type, env, params, problems = task_environment(job["course"], job["task"])
    send("ClientNewJob", job_id=job["job_id"], priority=0, course_id=job["course"],
         task_id=job["task"], task_problems=problems, inputdata=job["inputdata"],
         environment_type=env_type, environment=env, environment_parameters=params,
         debug=False, launcher="Frontend - compat")

results = {}
deadline = last_ping = time.monotonic()
deadline += 180
while len(results) < len(jobs):
    now = time.monotonic()
    if now > deadline:
        raise SystemExit("not done within 180 s; done: %s" % sorted(results))
    if now - last_ping >= 1:
        send("Ping")  # as INGInious' client, which pings every second
        last_ping = now
    if not poller.poll(1000):
        continue
    m = msgpack.loads(sock.recv(), strict_map_key=False)
    if m.get("@type") == "BackendJobDone":
        if isinstance(m.get("archive"), bytes):
            m["archive"] = None
        results[m["job_id"]] = m
json.dump(results, sys.stdout)
