// Package security attacks a real `ingo up` the way somebody on the campus
// network would (issue 13, docs/security.md), and checks that every attack
// fails.
//
// TestSecurity starts the shipped binary (testutil.IngoBinary) as `ingo up`
// with the Docker runtime, its own data directory and ports, the INGInious
// bridge and SSH debug on loopback, and the log at debug level. Attackers
// get what they could get: no credentials at all, or credentials of their
// own role minted with the installation's keys (what `ingo creds` does), or
// an HTTP API token of `ingo token`. In order:
//
//  1. connecting to NATS anonymously, with a password, a token, or
//     credentials of another installation's keys;
//  2. a frontend subscribing to everything, to another frontend's subject
//     and to other users' reply inboxes, then listening while that
//     frontend's job runs;
//  3. reading back a task bundle with its hidden test, through
//     bundle.Store and raw JetStream requests, as a frontend and an admin
//     (an agent, which may, is the control);
//  4. forging a running job's result, as a frontend on the agent's subject
//     and as a registered agent of another name;
//  5. a frontend posing as an agent;
//  6. a frontend killing a job the admin CLI submitted;
//  7. writing the leader lease or deleting the backend's streams, as a
//     frontend and as an agent, then checking the backend still leads;
//  8. ZeroMQ frame headers announcing 2^62 bytes and 64 GiB to the bridge,
//     then a job of examples/inginious-client.py through it;
//  9. graders holding 160 MiB under memory: 100, in memory or in files;
//  10. the HTTP API without a token, from another origin, with a frontend
//     token asking for too much or naming a task bundle another stored,
//     and six concurrent 60 MB uploads while
//     the process's resident memory is watched;
//  11. idle SSH connections from one address while a user logs in from
//     another, and wrong passwords;
//  12. a second `ingo up` on the same Docker host, grading at once with
//     both agents (named after the host) cleaning up every second;
//  13. every byte both `ingo up` wrote, searched for the installations'
//     seeds, JWTs and tokens and for the SSH password.
//
// Each attack is a subtest, which fails when the attack succeeds, and
// prints one line: what was tried and what happened. The lines are also
// appended to the file named by $INGO_SECURITY_REPORT when it is set;
// .ci/run prints that file after the tests, as it does the chaos suite's
// counts. The suite needs Docker and the grading images (make images): it
// skips without them, and fails instead with INGO_REQUIRE_DOCKER=1.
//
// Run it alone with
//
//	INGO_REQUIRE_DOCKER=1 go test -race -v -run TestSecurity ./tests/security
package security
