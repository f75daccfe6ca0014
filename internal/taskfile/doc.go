// Package taskfile is ingo's one reader of INGInious' task settings: a task
// folder's task.yaml (`ingo submit`, a task archive sent to the HTTP API)
// and the environment_parameters an INGInious webapp sends in ClientNewJob
// (the bridge). All three read the same file the same way.
//
// task.yaml comes in two formats, read as INGInious' webapp reads them
// (inginious/frontend/tasks.py, _migrate_from_v_0_6): the older one names
// `environment` with `limits`, `network_grading` and `run_cmd` at the top;
// when `environment` is there it wins, and the environment type is
// "docker" ("mcq" for the mcq environment). The current one names
// `environment_type`, `environment_id` and `environment_parameters`
// ({limits: {time, hard_time, memory, disk}, run_cmd, network_grading,
// ssh_allowed}); a true ssh_allowed adds "-ssh" to the environment type,
// and top-level limits, network_grading and run_cmd are left-overs, ignored.
// A file with neither `environment` nor `environment_parameters` has its
// top-level keys read (INGInious would use its defaults instead).
//
// Values come as course teams' editors wrote them (see params_test.go for
// the forms found in public courses):
//
//   - limits are numbers or strings of numbers ('30'); an empty string or
//     null means the default, as INGInious' agent reads hard_time
//     (`int(limits.get("hard_time") or time * 3)`); 0 means the default too.
//     memory under 20 MiB is raised to 20, as INGInious' agent does.
//   - limits.output, which INGInious' task editor wrote until 2019 ("Output
//     limit (in megabytes)", default 2) but no INGInious agent ever read, is
//     ignored: the agent's own output bound applies. So are limit keys
//     INGInious does not know.
//   - network_grading and ssh_allowed are booleans or the strings
//     on/off, true/false, yes/no, 1/0 (the editor's checkbox writes 'on').
//     INGInious takes any non-empty string as true; ingo reads 'off',
//     'false', 'no' and '0' as their authors meant them (false), and refuses
//     other strings.
//
// A value ingo refuses gives an error that names the key and says what
// INGInious would have done with it.
package taskfile
