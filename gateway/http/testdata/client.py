#!/usr/bin/env python3
"""Drive one ingo job through the HTTP API with the standard library only.

Usage: client.py BASE_URL TOKEN

TOKEN is an API token (`ingo token --role frontend --name NAME`); it goes
in the Authorization header of every request. Stores a task folder once
(POST /api/v1/tasks), submits a job for it (the API refuses a job
without a task), follows its server-sent events until "done", then reads the
job with GET and prints one JSON object on stdout:
{"job_id", "events": [names], "status", "result"}. The Go test
TestPythonClient runs it; it is also an example for frontend developers.
"""
import base64
import io
import json
import sys
import tarfile
import urllib.error
import urllib.request


TOKEN = ""


def request(method, url, body=None, content_type="application/json"):
    data = body
    if body is not None and content_type == "application/json":
        data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": "Bearer " + TOKEN})
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as e:
        # Errors are JSON too: {"error": {"code", "message"}}.
        sys.exit(f"{method} {url}: {e.code} {json.load(e)['error']}")


def events(url):
    """Yield (name, data) for each server-sent event until the stream ends."""
    req = urllib.request.Request(url, headers={"Accept": "text/event-stream",
                                              "Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=30) as resp:
        name, data = None, []
        for raw in resp:
            line = raw.decode().rstrip("\r\n")
            if line == "":
                if name is not None:
                    yield name, json.loads("\n".join(data))
                name, data = None, []
            elif line.startswith(":"):
                continue  # keep-alive comment
            elif line.startswith("event:"):
                name = line[len("event:"):].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:"):].strip())


def task_archive(files):
    """A task folder as .tar.gz bytes: files maps a name to (mode, text)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, (mode, text) in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def main():
    global TOKEN
    base, TOKEN = sys.argv[1].rstrip("/"), sys.argv[2]
    # Once per version of the task; the digest is then reused by every job.
    run = "#!/bin/sh\nfeedback-msg -m \"Hello, $(getinput name)!\"\nfeedback-grade 75\nfeedback-result success\n"
    status, stored = request("POST", base + "/api/v1/tasks",
                             task_archive({"run": (0o755, run)}), "application/gzip")
    assert status == 201, status
    job = {
        "course_id": "python",
        "task_id": "hello",
        "task_bundle": stored["task_bundle"],
        "inputs": {
            "name": "Ada",
            "code": {"filename": "hello.py",
                     "content": base64.b64encode(b"print('hi')\n").decode()},
            # Only the fake runtime of the tests reads this.
            "@fake": {"text": "Hello, Ada!", "grade": 75},
        },
    }
    status, accepted = request("POST", base + "/api/v1/jobs", job)
    assert status == 202, status
    job_id = accepted["job_id"]

    names = []
    for name, data in events(f"{base}/api/v1/jobs/{job_id}/events"):
        names.append(name)
        if name == "done":
            break

    _, final = request("GET", f"{base}/api/v1/jobs/{job_id}")
    json.dump({"job_id": job_id, "events": names, "status": final["status"],
               "result": final["result"]}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
